// Dequantization of the ggml block formats. Each function mirrors the element order of the
// reference dequantizers in the `gguf` Python package; arithmetic is done in the same order,
// unfused (see -ffp-contract=off in Package.swift), so results match bit for bit.
#include "CJarvisKernels.h"
#include "MatmulKernels.h"
#include <string.h>

#define QK 32
#define QK_K 256

static inline float h2f(const uint8_t *p) { uint16_t h; memcpy(&h, p, 2); return jk_fp16_to_fp32(h); }

static void dq_q4_0(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 18, y += QK) {
        float d = h2f(b);
        const uint8_t *qs = b + 2;
        for (int j = 0; j < 16; j++) {
            y[j]      = d * (float)((int)(qs[j] & 0x0F) - 8);
            y[j + 16] = d * (float)((int)(qs[j] >> 4) - 8);
        }
    }
}

static void dq_q4_1(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 20, y += QK) {
        float d = h2f(b), m = h2f(b + 2);
        const uint8_t *qs = b + 4;
        for (int j = 0; j < 16; j++) {
            y[j]      = d * (float)(qs[j] & 0x0F) + m;
            y[j + 16] = d * (float)(qs[j] >> 4) + m;
        }
    }
}

static void dq_q5_0(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 22, y += QK) {
        float d = h2f(b);
        uint32_t qh; memcpy(&qh, b + 2, 4);
        const uint8_t *qs = b + 6;
        for (int j = 0; j < 16; j++) {
            int lo = (qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
            int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            y[j]      = d * (float)(lo - 16);
            y[j + 16] = d * (float)(hi - 16);
        }
    }
}

static void dq_q5_1(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 24, y += QK) {
        float d = h2f(b), m = h2f(b + 2);
        uint32_t qh; memcpy(&qh, b + 4, 4);
        const uint8_t *qs = b + 8;
        for (int j = 0; j < 16; j++) {
            int lo = (qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
            int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            y[j]      = d * (float)lo + m;
            y[j + 16] = d * (float)hi + m;
        }
    }
}

static void dq_q8_0(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 34, y += QK) {
        float d = h2f(b);
        const int8_t *qs = (const int8_t *)(b + 2);
        for (int j = 0; j < QK; j++) y[j] = (float)qs[j] * d;
    }
}

// block_q2_K: scales[16], qs[64], d, dmin
static void dq_q2_k(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 84, y += QK_K) {
        const uint8_t *sc = b, *qs = b + 16;
        float d = h2f(b + 80), dmin = h2f(b + 82);
        for (int e = 0; e < QK_K; e++) {
            int j = e / 128, s = (e % 128) / 32, l = e % 32;
            int q = (qs[j * 32 + l] >> (2 * s)) & 3;
            int g = e / 16;
            float dl = d * (float)(sc[g] & 0xF);
            float ml = dmin * (float)(sc[g] >> 4);
            y[e] = dl * (float)q - ml;
        }
    }
}

// block_q3_K: hmask[32], qs[64], scales[12], d
static void dq_q3_k(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 110, y += QK_K) {
        const uint8_t *hm = b, *qs = b + 32, *sc = b + 96;
        float d = h2f(b + 108);
        int8_t scales[16];
        for (int g = 0; g < 16; g++) {
            int lo = (sc[g % 8] >> (4 * (g / 8))) & 0x0F;
            int hi = (sc[8 + g % 4] >> (2 * (g / 4))) & 0x03;
            scales[g] = (int8_t)((lo | (hi << 4)) - 32);
        }
        for (int e = 0; e < QK_K; e++) {
            int j = e / 128, s = (e % 128) / 32, l = e % 32;
            int ql = (qs[j * 32 + l] >> (2 * s)) & 3;
            int h = ((hm[l] >> (e / 32)) & 1) ^ 1;
            float dl = d * (float)scales[e / 16];
            y[e] = dl * (float)(ql - (h << 2));
        }
    }
}

static void k_scale_min(const uint8_t *s, uint8_t sc[8], uint8_t mn[8]) {
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 0x3F;
        mn[j] = s[j + 4] & 0x3F;
        sc[j + 4] = (s[j + 8] & 0x0F) | ((s[j] >> 2) & 0x30);
        mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 2) & 0x30);
    }
}

// block_q4_K: d, dmin, scales[12], qs[128]
static void dq_q4_k(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 144, y += QK_K) {
        float d = h2f(b), dmin = h2f(b + 2);
        uint8_t sc[8], mn[8];
        k_scale_min(b + 4, sc, mn);
        const uint8_t *qs = b + 16;
        for (int e = 0; e < QK_K; e++) {
            int j = e / 64, s = (e % 64) / 32, l = e % 32;
            int q = (qs[j * 32 + l] >> (4 * s)) & 0x0F;
            int sb = e / 32;
            float dd = d * (float)sc[sb], dm = dmin * (float)mn[sb];
            y[e] = dd * (float)q - dm;
        }
    }
}

// block_q5_K: d, dmin, scales[12], qh[32], qs[128]
static void dq_q5_k(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 176, y += QK_K) {
        float d = h2f(b), dmin = h2f(b + 2);
        uint8_t sc[8], mn[8];
        k_scale_min(b + 4, sc, mn);
        const uint8_t *qh = b + 16, *qs = b + 48;
        for (int e = 0; e < QK_K; e++) {
            int j = e / 64, s = (e % 64) / 32, l = e % 32;
            int q = ((qs[j * 32 + l] >> (4 * s)) & 0x0F) | (((qh[l] >> (e / 32)) & 1) << 4);
            int sb = e / 32;
            float dd = d * (float)sc[sb], dm = dmin * (float)mn[sb];
            y[e] = dd * (float)q - dm;
        }
    }
}

// block_q6_K: ql[128], qh[64], scales[16] (int8), d
static void dq_q6_k(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 210, y += QK_K) {
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        float d = h2f(b + 208);
        for (int e = 0; e < QK_K; e++) {
            int j = e / 128, r = e % 128;
            int lo = (ql[j * 64 + r % 64] >> (4 * (r / 64))) & 0x0F;
            int hi = (qh[j * 32 + r % 32] >> (2 * (r / 32))) & 0x03;
            int q = (lo | (hi << 4)) - 32;
            float dl = d * (float)sc[e / 16];
            y[e] = dl * (float)q;
        }
    }
}

const int8_t jk_iq4nl_values[16] = { -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113 };

// block_iq4_nl: d, qs[16]: 4-bit indices into a fixed non-linear table.
static void dq_iq4_nl(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 18, y += QK) {
        float d = h2f(b);
        const uint8_t *qs = b + 2;
        for (int j = 0; j < 16; j++) {
            y[j]      = d * (float)jk_iq4nl_values[qs[j] & 0x0F];
            y[j + 16] = d * (float)jk_iq4nl_values[qs[j] >> 4];
        }
    }
}

// block_iq4_xs: d, scales_h (2 high bits per sub-block), scales_l[4] (4 low bits), qs[128].
static void dq_iq4_xs(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 136, y += QK_K) {
        float d = h2f(b);
        const int scales_h = b[2] | b[3] << 8;
        for (int ib = 0; ib < 8; ib++) {
            const int ls = ((b[4 + ib / 2] >> (4 * (ib % 2))) & 0x0F) | (((scales_h >> (2 * ib)) & 3) << 4);
            const float dl = d * (float)(ls - 32);
            const uint8_t *qs = b + 8 + 16 * ib;
            for (int j = 0; j < 16; j++) {
                y[32 * ib + j]      = dl * (float)jk_iq4nl_values[qs[j] & 0x0F];
                y[32 * ib + j + 16] = dl * (float)jk_iq4nl_values[qs[j] >> 4];
            }
        }
    }
}

int jk_dequantize(int type, const void *src, float *dst, int64_t n) {
    const uint8_t *b = (const uint8_t *)src;
    switch (type) {
    case JK_TYPE_F32: memcpy(dst, src, (size_t)n * 4); return 0;
    case JK_TYPE_F16: jk_fp16_to_fp32_row((const uint16_t *)src, dst, n); return 0;
    case JK_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h; memcpy(&h, b + 2 * i, 2);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(dst + i, &bits, 4);
        }
        return 0;
    case JK_TYPE_Q4_0: dq_q4_0(b, dst, n / QK); return 0;
    case JK_TYPE_Q4_1: dq_q4_1(b, dst, n / QK); return 0;
    case JK_TYPE_Q5_0: dq_q5_0(b, dst, n / QK); return 0;
    case JK_TYPE_Q5_1: dq_q5_1(b, dst, n / QK); return 0;
    case JK_TYPE_Q8_0: dq_q8_0(b, dst, n / QK); return 0;
    case JK_TYPE_Q2_K: dq_q2_k(b, dst, n / QK_K); return 0;
    case JK_TYPE_Q3_K: dq_q3_k(b, dst, n / QK_K); return 0;
    case JK_TYPE_Q4_K: dq_q4_k(b, dst, n / QK_K); return 0;
    case JK_TYPE_Q5_K: dq_q5_k(b, dst, n / QK_K); return 0;
    case JK_TYPE_Q6_K: dq_q6_k(b, dst, n / QK_K); return 0;
    case JK_TYPE_IQ4_NL: dq_iq4_nl(b, dst, n / QK); return 0;
    case JK_TYPE_IQ4_XS: dq_iq4_xs(b, dst, n / QK_K); return 0;
    default: return -1;
    }
}

void jk_block_minima(int type, const void *src, float *mins, int64_t n) {
    const uint8_t *b = (const uint8_t *)src;
    const int stride = type == JK_TYPE_Q4_1 ? 20 : 24;   // Q5_1 otherwise; both keep m at byte 2
    for (int64_t i = 0; i < n / QK; i++) mins[i] = h2f(b + i * stride + 2);
}
