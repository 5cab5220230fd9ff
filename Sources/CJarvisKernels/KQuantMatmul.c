// Matrix products on the super-blocks of 256 (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS), read in
// place from the model file.
//
// A K-quant super-block holds 256 weights in sub-blocks with small integer scales under one
// fp16 scale. Activations are quantized per 256 values to 8 bits (Q8_K: a float scale, 256
// int8, and the sums of each 16) so the whole super-block reduces to integers: Σ scale_j ·
// (q_j · y_j) exactly in int32, then one float multiply-add per super-block. Because the
// integer part is exact in any order and the float part is the same scalar code on every
// path, the portable and AVX2 kernels give identical bits. (They are not llama.cpp's bits: its
// K-quant kernels order the float work differently. The exact-parity path of the engine is
// for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0; see QuantizedMatmul.c.) Q4_K and Q6_K have kernels of their
// own; the other types share one shape: unpack each 32 values to bytes, multiply by 16-value
// scales, and subtract the minima's share from the Q8_K sums of 16.
#include "CJarvisKernels.h"
#include "MatmulKernels.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } blk_q4_K;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } blk_q6_K;

_Static_assert(sizeof(blk_q4_K) == 144, "q4_K block");
_Static_assert(sizeof(blk_q6_K) == 210, "q6_K block");
_Static_assert(sizeof(jk_block_q8k) == 292, "q8_K activation block");

// ---- activation quantization ------------------------------------------------------------------

static void quantize_q8k_portable(const float *x, jk_block_q8k *y, int64_t n) {
    for (int64_t b = 0; b < n / 256; b++, x += 256) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 256; j++) { float a = fabsf(x[j]); if (a > amax) { amax = a; max = x[j]; } }
        if (amax == 0.0f) { memset(&y[b], 0, sizeof y[b]); continue; }
        // The value of largest magnitude maps to -127 exactly (ggml's choice: the sign is free).
        const float iscale = -127.0f / max;
        for (int j = 0; j < 256; j++) {
            int q = (int)nearbyintf(iscale * x[j]);
            y[b].qs[j] = (int8_t)(q > 127 ? 127 : q);
        }
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int e = 0; e < 16; e++) s += y[b].qs[16 * j + e];
            y[b].bsums[j] = (int16_t)s;
        }
        y[b].d = 1.0f / iscale;
    }
}

#if defined(__x86_64__)
// The same blocks eight values at a time: the largest magnitude is exact in any order and its
// value is that of the first element that has it (the portable loop keeps the first), each
// iscale · x is the same product, rounding to nearest even is nearbyintf's, and the sums of
// sixteen are exact. In a decode these quantizations run on one thread while the others wait.
__attribute__((target("avx2,fma,f16c"))) static void quantize_q8k_avx2(const float *x, jk_block_q8k *y, int64_t n) {
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t b = 0; b < n / 256; b++, x += 256) {
        __m256 m = _mm256_setzero_ps();
        for (int i = 0; i < 32; i++) m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + 8 * i), magnitude), m);
        __m128 h = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        const float amax = _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
        if (amax == 0.0f) { memset(&y[b], 0, sizeof y[b]); continue; }
        int first = 0;
        for (int i = 0; i < 32; i++) {
            const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(x + 8 * i), magnitude),
                                                             _mm256_set1_ps(amax), _CMP_EQ_OQ));
            if (hit) { first = 8 * i + __builtin_ctz((unsigned)hit); break; }
        }
        const float iscale = -127.0f / x[first];
        const __m256 is = _mm256_set1_ps(iscale);
        for (int g = 0; g < 8; g++) {
            __m256i q[4];
            for (int i = 0; i < 4; i++)
                q[i] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(is, _mm256_loadu_ps(x + 32 * g + 8 * i)),
                                                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)),
                                        _mm256_set1_epi32(127));
            // Packing works within 128-bit halves; the permutation puts the bytes back in order.
            const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
            _mm256_storeu_si256((__m256i *)(y[b].qs + 32 * g), _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
            // Sums of elements 0–15 and 16–31 of the group.
            __m256i t = _mm256_hadd_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
            t = _mm256_hadd_epi32(t, t);
            const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
            y[b].bsums[2 * g] = (int16_t)_mm_cvtsi128_si32(s);
            y[b].bsums[2 * g + 1] = (int16_t)_mm_extract_epi32(s, 1);
        }
        y[b].d = 1.0f / iscale;
    }
}
#endif

// Set with the matrix kernels (jk_select_matmul_kernels), on first use if nothing chose before.
static void (*quantize_q8k_current)(const float *, jk_block_q8k *, int64_t);

void jk_kquant_select_quantizer(int level) {
#if defined(__x86_64__)
    quantize_q8k_current = level >= 1 ? quantize_q8k_avx2 : quantize_q8k_portable;
#else
    (void)level;
    quantize_q8k_current = quantize_q8k_portable;
#endif
}

void jk_quantize_q8k(const float *x, jk_block_q8k *y, int64_t n) {
    if (!quantize_q8k_current) jk_select_matmul_kernels(2);
    quantize_q8k_current(x, y, n);
}

// ---- shared pieces --------------------------------------------------------------------------------

// The eight 6-bit scales (bytes 0–7) and minima (bytes 8–15) of a Q4_K or Q5_K super-block,
// unpacked four at a time from 32-bit words: shifting a word moves the neighbouring byte's bits
// in too, and the masks drop them.
static inline void q4k_scale_bytes(const uint8_t *s, uint8_t out[16]) {
    const uint32_t m6 = 0x3f3f3f3f, m4 = 0x0f0f0f0f, m2 = 0x03030303;
    uint32_t u[3], v[4];
    memcpy(u, s, 12);
    v[0] = u[0] & m6;                                   // sc[0..3]
    v[1] = (u[2] & m4) | (((u[0] >> 6) & m2) << 4);     // sc[4..7]
    v[2] = u[1] & m6;                                   // mn[0..3]
    v[3] = ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4);   // mn[4..7]
    memcpy(out, v, 16);
}

// Σ_j mn[j] · (sum of the 32 activations of sub-block j), the minima being bytes 8–15 of
// q4k_scale_bytes: the minima's share of a Q4_K product.
static inline int q4k_minima_term(const uint8_t sc[16], const jk_block_q8k *y) {
    int s = 0;
    for (int j = 0; j < 8; j++) s += sc[8 + j] * (y->bsums[2 * j] + y->bsums[2 * j + 1]);
    return s;
}

// Σ_j sc[j] · 32 · (sum of the 16 activations of sub-block j): Q6_K stores q + 32.
static inline int q6k_offset_term(const int8_t sc[16], const jk_block_q8k *y) {
    int s = 0;
    for (int j = 0; j < 16; j++) s += sc[j] * y->bsums[j];
    return 32 * s;
}

// ---- portable ---------------------------------------------------------------------------------------

static int q4k_integer_dot(const blk_q4_K *x, const uint8_t sc[16], const jk_block_q8k *y) {
    int sumi = 0;
    for (int j = 0; j < 8; j++) {
        const uint8_t *q = x->qs + 32 * (j / 2);
        const int shift = 4 * (j % 2);
        int s = 0;
        for (int l = 0; l < 32; l++) s += ((q[l] >> shift) & 0x0F) * y->qs[32 * j + l];
        sumi += sc[j] * s;
    }
    return sumi;
}

static int q6k_integer_dot(const blk_q6_K *x, const jk_block_q8k *y) {
    int sumi = 0;
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = x->ql + 64 * h, *qh = x->qh + 32 * h;
        const int8_t *sc = x->scales + 8 * h;
        const int8_t *yq = y->qs + 128 * h;
        for (int l = 0; l < 32; l++) {
            const int q1 = (ql[l] & 0x0F) | ((qh[l] & 0x03) << 4);
            const int q2 = (ql[l + 32] & 0x0F) | ((qh[l] & 0x0C) << 2);
            const int q3 = (ql[l] >> 4) | (qh[l] & 0x30);
            const int q4 = (ql[l + 32] >> 4) | ((qh[l] & 0xC0) >> 2);
            const int is = l / 16;
            sumi += sc[is] * q1 * yq[l] + sc[is + 2] * q2 * yq[l + 32]
                  + sc[is + 4] * q3 * yq[l + 64] + sc[is + 6] * q4 * yq[l + 96];
        }
    }
    return sumi;
}

static void mm_q4_K_portable(const uint8_t *w, int64_t row_bytes, int nb, const void *xv,
                             int n, float *y, int64_t ldy, int r0, int r1) {
    const jk_block_q8k *x = (const jk_block_q8k *)xv;
    for (int t = 0; t < n; t++) {
        for (int r = r0; r < r1; r++) {
            const blk_q4_K *row = (const blk_q4_K *)(w + (int64_t)r * row_bytes);
            const jk_block_q8k *yb = x + (int64_t)t * nb;
            float sum = 0.0f;
            for (int b = 0; b < nb; b++) {
                uint8_t sc[16];
                q4k_scale_bytes(row[b].scales, sc);
                const float d = jk_fp16_to_fp32(row[b].d) * yb[b].d;
                const float dmin = jk_fp16_to_fp32(row[b].dmin) * yb[b].d;
                sum = fmaf(d, (float)q4k_integer_dot(&row[b], sc, &yb[b]), sum);
                sum = fmaf(-dmin, (float)q4k_minima_term(sc, &yb[b]), sum);
            }
            y[(int64_t)t * ldy + r] = sum;
        }
    }
}

static void mm_q6_K_portable(const uint8_t *w, int64_t row_bytes, int nb, const void *xv,
                             int n, float *y, int64_t ldy, int r0, int r1) {
    const jk_block_q8k *x = (const jk_block_q8k *)xv;
    for (int t = 0; t < n; t++) {
        for (int r = r0; r < r1; r++) {
            const blk_q6_K *row = (const blk_q6_K *)(w + (int64_t)r * row_bytes);
            const jk_block_q8k *yb = x + (int64_t)t * nb;
            float sum = 0.0f;
            for (int b = 0; b < nb; b++) {
                const int sumi = q6k_integer_dot(&row[b], &yb[b]) - q6k_offset_term(row[b].scales, &yb[b]);
                sum = fmaf(jk_fp16_to_fp32(row[b].d) * yb[b].d, (float)sumi, sum);
            }
            y[(int64_t)t * ldy + r] = sum;
        }
    }
}


// ---- the other K-types: one integer form --------------------------------------------------------

// A super-block as integers: value e is d · sc[e/16] · q[e] − dmin · mn[e/16].
typedef struct { int8_t q[256]; int sc[16], mn[16]; float d, dmin; } k_ints;

static inline float half_at(const uint8_t *p) { uint16_t h; memcpy(&h, p, 2); return jk_fp16_to_fp32(h); }

// The sixteen 6-bit scales of Q3_K, centred on 32.
static inline void q3k_scales(const uint8_t *sc, int out[16]) {
    for (int g = 0; g < 16; g++)
        out[g] = (((sc[g % 8] >> (4 * (g / 8))) & 0x0F) | (((sc[8 + g % 4] >> (2 * (g / 4))) & 3) << 4)) - 32;
}
// The eight 6-bit scales of IQ4_XS, centred on 32.
static inline int iq4xs_scale(const uint8_t *b, int j) {
    const int high = (b[2] | b[3] << 8) >> (2 * j) & 3;
    return (((b[4 + j / 2] >> (4 * (j % 2))) & 0x0F) | high << 4) - 32;
}

// Scales, minima and the super-block scales (the values are filled in separately).
static inline void scales_q2_K(const uint8_t *b, k_ints *k) {
    for (int g = 0; g < 16; g++) { k->sc[g] = b[g] & 0x0F; k->mn[g] = b[g] >> 4; }
    k->d = half_at(b + 80); k->dmin = half_at(b + 82);
}
static inline void scales_q3_K(const uint8_t *b, k_ints *k) { q3k_scales(b + 96, k->sc); k->d = half_at(b + 108); k->dmin = 0.0f; }
static inline void scales_q5_K(const uint8_t *b, k_ints *k) {
    uint8_t sc[16];
    q4k_scale_bytes(b + 4, sc);
    for (int g = 0; g < 16; g++) { k->sc[g] = sc[g / 2]; k->mn[g] = sc[8 + g / 2]; }
    k->d = half_at(b); k->dmin = half_at(b + 2);
}
static inline void scales_iq4_xs(const uint8_t *b, k_ints *k) {
    for (int g = 0; g < 16; g++) k->sc[g] = iq4xs_scale(b, g / 2);
    k->d = half_at(b); k->dmin = 0.0f;
}
// Q2_K: scales[16] (scale | min << 4), qs[64] (2 bits), d, dmin.
static void ints_q2_K(const uint8_t *b, k_ints *k) {
    scales_q2_K(b, k);
    for (int e = 0; e < 256; e++) k->q[e] = (int8_t)((b[16 + 32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32))) & 3);
}
// Q3_K: hmask[32], qs[64] (2 bits), scales[12], d; a clear high bit subtracts 4.
static void ints_q3_K(const uint8_t *b, k_ints *k) {
    scales_q3_K(b, k);
    for (int e = 0; e < 256; e++) {
        const int low = (b[32 + 32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32))) & 3;
        k->q[e] = (int8_t)(low - (((b[e % 32] >> (e / 32)) & 1) ? 0 : 4));
    }
}
// Q5_K: d, dmin, scales[12] (as Q4_K), qh[32], qs[128].
static void ints_q5_K(const uint8_t *b, k_ints *k) {
    scales_q5_K(b, k);
    for (int e = 0; e < 256; e++)
        k->q[e] = (int8_t)(((b[48 + 32 * (e / 64) + e % 32] >> (4 * (e % 64 / 32))) & 0x0F) | (((b[16 + e % 32] >> (e / 32)) & 1) << 4));
}
// IQ4_XS: d, scales_h (16 bits), scales_l[4], qs[128]: 4-bit indices into the IQ4_NL values.
static void ints_iq4_xs(const uint8_t *b, k_ints *k) {
    scales_iq4_xs(b, k);
    for (int e = 0; e < 256; e++) {
        const uint8_t byte = b[8 + 16 * (e / 32) + e % 16];
        k->q[e] = jk_iq4nl_values[(e % 32 < 16 ? byte : byte >> 4) & 0x0F];
    }
}

// Σ_g mn[g] · (sum of the activations of group g).
static inline int k_minima_term(const int mn[16], const jk_block_q8k *y) {
    int s = 0;
    for (int g = 0; g < 16; g++) s += mn[g] * y->bsums[g];
    return s;
}

// The float part every path shares: one multiply-add for the scaled integers, one for the minima.
static inline float k_accumulate(float sum, float d, float dmin, int sumi, int summ, const jk_block_q8k *y, int has_min) {
    sum = fmaf(d * y->d, (float)sumi, sum);
    return has_min ? fmaf(-(dmin * y->d), (float)summ, sum) : sum;
}

#define DEFINE_K_PORTABLE(T, BYTES, HAS_MIN)                                                        \
static void mm_##T##_portable(const uint8_t *w, int64_t row_bytes, int nb, const void *xv,       \
                              int n, float *y, int64_t ldy, int r0, int r1) {                    \
    const jk_block_q8k *x = (const jk_block_q8k *)xv;                                            \
    k_ints k;                                                                                    \
    for (int t = 0; t < n; t++) {                                                                \
        for (int r = r0; r < r1; r++) {                                                          \
            const uint8_t *row = w + (int64_t)r * row_bytes;                                     \
            const jk_block_q8k *yb = x + (int64_t)t * nb;                                        \
            float sum = 0.0f;                                                                    \
            for (int b = 0; b < nb; b++) {                                                       \
                ints_##T(row + (int64_t)b * BYTES, &k);                                          \
                int sumi = 0;                                                                    \
                for (int g = 0; g < 16; g++) {                                                   \
                    int s = 0;                                                                   \
                    for (int e = 16 * g; e < 16 * g + 16; e++) s += k.q[e] * yb[b].qs[e];        \
                    sumi += k.sc[g] * s;                                                         \
                }                                                                                \
                sum = k_accumulate(sum, k.d, k.dmin, sumi, HAS_MIN ? k_minima_term(k.mn, &yb[b]) : 0, &yb[b], HAS_MIN); \
            }                                                                                    \
            y[(int64_t)t * ldy + r] = sum;                                                       \
        }                                                                                        \
    }                                                                                            \
}
DEFINE_K_PORTABLE(q2_K, 84, 1)
DEFINE_K_PORTABLE(q3_K, 110, 0)
DEFINE_K_PORTABLE(q5_K, 176, 1)
DEFINE_K_PORTABLE(iq4_xs, 136, 0)

// ---- AVX2 ---------------------------------------------------------------------------------------------

#if defined(__x86_64__)
#define TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))

// Sum of eight int32 lanes (exact).
TARGET_AVX2 static inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// The sums of the eight int32 lanes of a and of b, reduced together.
TARGET_AVX2 static inline void hsum2_i32(__m256i a, __m256i b, int out[2]) {
    const __m256i h = _mm256_hadd_epi32(a, b);   // a01 a23 b01 b23 | a45 a67 b45 b67
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    s = _mm_hadd_epi32(s, s);                     // a b a b
    out[0] = _mm_cvtsi128_si32(s);
    out[1] = _mm_extract_epi32(s, 1);
}

// Σ scale · (u8 q · i8 y) over 32 bytes into eight int32 lanes; `scales` holds the int16 scale of
// each 16-bit product pair (the products of bytes 2i and 2i+1 land in lane i of maddubs).
TARGET_AVX2 static inline __m256i scaled_dot(__m256i q, __m256i y, __m256i scales) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, y), scales);
}

// q4k_minima_term as eight int32 lanes to be summed: lane j is mn[j] · (bsums[2j] + bsums[2j+1]),
// with `mins` holding each minimum twice (int16).
TARGET_AVX2 static inline __m256i q4k_minima_lanes(__m256i mins, const jk_block_q8k *y) {
    return _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y->bsums), mins);
}
// q4k_scale_bytes in one register, from the twelve packed bytes `s` (the four after them, which
// are read, do not matter): the same shifts and masks on the three 32-bit words, lane by lane,
// so no byte goes through memory (unpacking through memory was about a sixth of a decode's time
// in a timing program).
TARGET_AVX2 static inline __m128i q4k_scales_avx2(const uint8_t *s) {
    const __m128i u = _mm_loadu_si128((const __m128i *)s);   // u0 u1 u2 -
    // sc[0..3] = u0 & m6, sc[4..7] = u2 & m4, mn[0..3] = u1 & m6, mn[4..7] = (u2 >> 4) & m4 ...
    const __m128i low = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(u, _MM_SHUFFLE(2, 1, 2, 0)), _mm_setr_epi32(0, 0, 0, 4)),
                                      _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
    // ... with the top two bits of u0 (for sc[4..7]) and u1 (for mn[4..7]) above the nibbles.
    const __m128i high = _mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi32(u, _MM_SHUFFLE(1, 1, 0, 0)), 2),
                                       _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
    return _mm_or_si128(low, high);
}

// Each of the eight minima (bytes 8–15 of q4k_scale_bytes) twice, as int16.
TARGET_AVX2 static inline __m256i q4k_minima_pairs(__m128i sc) {
    return _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sc, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)));
}

// Q6_K's sixteen int8 scales `sc16`: scale j for the low eight int16 lanes and j + 1 for the
// high eight, the layout of one 32-value quarter's products.
TARGET_AVX2 static inline __m256i q6k_scale_pair(__m128i sc16, int j) {
    const __m128i pick = _mm_add_epi8(_mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), _mm_set1_epi8((char)j));
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc16, pick));
}
// q6k_offset_term / 32 as eight int32 lanes to be summed: Σ sc[j] · bsums[j], `scales` the
// sixteen scales as int16.
TARGET_AVX2 static inline __m256i q6k_offset_lanes(__m256i scales, const jk_block_q8k *y) {
    return _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y->bsums), scales);
}

// Decode (one token) reads each weight row once from memory: while a super-block is computed,
// the same super-block `ahead` bytes on (two rows, or the next group of rows) is fetched. With
// several tokens a row is reused from cache.
TARGET_AVX2 static inline void prefetch_rows_on(const void *block, int64_t ahead, int bytes) {
    const char *p = (const char *)block + ahead;
    for (int o = 0; o < bytes; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
}

// The four 32-value quarters of half h of a Q6_K super-block (each spanning two 16-value
// sub-blocks), as unsigned 6-bit bytes.
TARGET_AVX2 static inline void q6k_quarters(const blk_q6_K *b, int h, __m256i q[4]) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    const __m256i l0 = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h));
    const __m256i l1 = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h + 32));
    const __m256i hb = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
    q[0] = _mm256_or_si256(_mm256_and_si256(l0, low), _mm256_slli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8(0x03)), 4));
    q[1] = _mm256_or_si256(_mm256_and_si256(l1, low), _mm256_slli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8(0x0C)), 2));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low), _mm256_and_si256(hb, _mm256_set1_epi8(0x30)));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low), _mm256_srli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8((char)0xC0)), 2));
}

// Lane u of the result is the sum of the eight lanes of v[u] (integers: exact in any order).
TARGET_AVX2 static inline __m256i hsum8x8_i32(const __m256i v[8]) {
    const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    // a: tokens 0–3 over elements 0–3 (low half) and 4–7 (high half); b likewise for 4–7.
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

// Prefill takes a few rows × sixteen tokens (two vectors of eight; a last tile may have one),
// each product a row's quad (four values, as bytes) broadcast against eight tokens' quads side by
// side, so lane u of every vector is one token's from the start: no sums across lanes. A tile's
// activations are laid out that way once (q8k_tile); a row's super-block is unpacked to bytes
// once per tile. The products of one sub-block's quads are summed in int16 before its scale is
// applied (one madd per sub-block and row, not one per quad): with any int8 activations a Q4_K
// pair of products is at most 2 · 15 · 128 in magnitude, so eight fit in int16, and a Q6_K pair
// at most 2 · 63 · 128, so two do. Integer sums are exact in any order and the float part is
// lane by lane the operations of the four-token loops below, so the bits are the same. (Before,
// one row × eight tokens reduced each token's eight lanes per super-block. A timing program
// over an 8192 × 2048 matrix and 64 tokens, one thread, ns per 32 weights and token: Q4_K 0.52
// → 0.36, Q6_K 0.63 → 0.48 with eight tokens and 0.43 with sixteen, which gained Q4_K little.)
// Each kernel returns how many tokens it did (whole tiles of eight) and its four-token loop does
// the rest.
#define TILE_TOKENS 8
#define WIDE 2          // vectors of eight tokens in a wide tile
#define WIDE_ROWS 3     // rows per step of a wide tile
#define NARROW_ROWS 6   // rows per step of a tile of one vector
#define MAX_ROWS 6

// One super-block of a tile's activations, token 8v + u in vector v, lane u: quads[q] holds
// bytes 4q…4q+3 of the token at 32v + 4u; sums32[k][v] holds its sums of the 32-value
// sub-blocks 2k and 2k + 1 (Q4_K's minima) at 2u and 2u + 1, and bsums[k][v] its Q8_K sums of 16
// number 2k and 2k + 1 (Q6_K's offset) likewise; d[v][u] is its scale.
typedef struct {
    uint8_t quads[64][32 * WIDE];
    int16_t sums32[4][WIDE][2 * TILE_TOKENS];
    int16_t bsums[8][WIDE][2 * TILE_TOKENS];
    float d[WIDE][TILE_TOKENS];
} q8k_tile;

// Eight vectors of eight int32 transposed: lane j of out[i] is lane i of v[j].
TARGET_AVX2 static inline void transpose8x8_i32(const __m256i v[8], __m256i out[8]) {
    __m256i t[8], s[8];
    for (int j = 0; j < 4; j++) {
        t[2 * j] = _mm256_unpacklo_epi32(v[2 * j], v[2 * j + 1]);       // lanes 0, 1 | 4, 5 of v[2j], v[2j+1]
        t[2 * j + 1] = _mm256_unpackhi_epi32(v[2 * j], v[2 * j + 1]);   // lanes 2, 3 | 6, 7
    }
    for (int h = 0; h < 2; h++)
        for (int e = 0; e < 2; e++) {
            s[4 * h + 2 * e] = _mm256_unpacklo_epi64(t[4 * h + e], t[4 * h + 2 + e]);      // lane 2e | 2e + 4 of four v
            s[4 * h + 2 * e + 1] = _mm256_unpackhi_epi64(t[4 * h + e], t[4 * h + 2 + e]);  // lane 2e + 1 | 2e + 5
        }
    for (int i = 0; i < 4; i++) {
        out[i] = _mm256_permute2x128_si256(s[i], s[4 + i], 0x20);
        out[i + 4] = _mm256_permute2x128_si256(s[i], s[4 + i], 0x31);
    }
}

// The nb super-blocks of the 8 · V tokens at xt (token u's at xt + u · nb) laid out as q8k_tile:
// the quads and the sums of 16 are 8 × 8 transposes of 32-bit words.
TARGET_AVX2 static void pack_q8k_tile(const jk_block_q8k *xt, int nb, int V, q8k_tile *t) {
    for (int b = 0; b < nb; b++) {
        for (int v = 0; v < V; v++) {
            const jk_block_q8k *xv = xt + (int64_t)TILE_TOKENS * v * nb + b;
            __m256i in[8], out[8];
            for (int g = 0; g < 8; g++) {
                for (int u = 0; u < TILE_TOKENS; u++) in[u] = _mm256_loadu_si256((const __m256i *)(xv[(int64_t)u * nb].qs + 32 * g));
                transpose8x8_i32(in, out);
                for (int i = 0; i < 8; i++) _mm256_store_si256((__m256i *)(t[b].quads[8 * g + i] + 32 * v), out[i]);
            }
            for (int u = 0; u < TILE_TOKENS; u++) {
                const jk_block_q8k *xb = xv + (int64_t)u * nb;
                in[u] = _mm256_loadu_si256((const __m256i *)xb->bsums);
                for (int k = 0; k < 8; k++) t[b].sums32[k / 2][v][2 * u + k % 2] = (int16_t)(xb->bsums[2 * k] + xb->bsums[2 * k + 1]);
                t[b].d[v][u] = xb->d;
            }
            transpose8x8_i32(in, out);
            for (int k = 0; k < 8; k++) _mm256_store_si256((__m256i *)t[b].bsums[k][v], out[k]);
        }
    }
}

// An int32 from four bytes, to broadcast from memory.
static inline int32_t four_bytes(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// The unpacked super-blocks of R rows (values as bytes, in order) and their sub-block scales as
// int16 pairs (each scale twice, for madd).
typedef struct { _Alignas(32) uint8_t q[MAX_ROWS][256]; int32_t scale[MAX_ROWS][16]; } tile_rows;

// acc[i][v] = Σ over the `subs` sub-blocks s of rows->scale[i][s] · Σ over its quads of row i's
// quad · vector v of the tile's quad. A sub-block has `quads` quads; `fit` of them are summed in
// int16 at a time.
TARGET_AVX2 static inline __attribute__((always_inline)) void tile_dots(
        int R, int V, int subs, int quads, int fit, const tile_rows *rows, const q8k_tile *t, __m256i acc[MAX_ROWS][WIDE]) {
    // The rows were just stored; they are read back by broadcasts from memory (load ports), not
    // rebuilt from registers by shuffles (vector ALU work).
    __asm__ volatile("" ::: "memory");
    for (int i = 0; i < R; i++) for (int v = 0; v < V; v++) acc[i][v] = _mm256_setzero_si256();
    for (int s = 0; s < subs; s++) {
        for (int g = 0; g < quads; g += fit) {
            __m256i part[MAX_ROWS][WIDE];
            for (int q = quads * s + g; q < quads * s + g + fit; q++) {
                __m256i a[WIDE];
                for (int v = 0; v < V; v++) a[v] = _mm256_load_si256((const __m256i *)(t->quads[q] + 32 * v));
                for (int i = 0; i < R; i++) {
                    const __m256i wq = _mm256_set1_epi32(four_bytes(rows->q[i] + 4 * q));
                    for (int v = 0; v < V; v++) {
                        const __m256i p = _mm256_maddubs_epi16(wq, a[v]);
                        part[i][v] = q == quads * s + g ? p : _mm256_add_epi16(part[i][v], p);
                    }
                }
            }
            for (int i = 0; i < R; i++) {
                const __m256i scale = _mm256_set1_epi32(rows->scale[i][s]);
                for (int v = 0; v < V; v++) acc[i][v] = _mm256_add_epi32(acc[i][v], _mm256_madd_epi16(part[i][v], scale));
            }
        }
    }
}

// Σ_k pairs[k][v] · (the two int16 in weights[k]) over `n` pairs, lane u for token 8v + u.
TARGET_AVX2 static inline __m256i tile_pair_dots(const int16_t (*pairs)[WIDE][2 * TILE_TOKENS], int v, const int32_t *weights, int n) {
    __m256i s = _mm256_madd_epi16(_mm256_load_si256((const __m256i *)pairs[0][v]), _mm256_set1_epi32(weights[0]));
    for (int k = 1; k < n; k++)
        s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_load_si256((const __m256i *)pairs[k][v]), _mm256_set1_epi32(weights[k])));
    return s;
}

// The eight tokens' results of row r: y[(t0 + u) · ldy + r] = lane u.
TARGET_AVX2 static inline void store_tile(float *y, int64_t ldy, int t0, int r, __m256 v) {
    float o[TILE_TOKENS];
    _mm256_storeu_ps(o, v);
    for (int u = 0; u < TILE_TOKENS; u++) y[(int64_t)(t0 + u) * ldy + r] = o[u];
}

// Rows r … r + R − 1 × tokens t0 … t0 + 8V − 1 of a Q4_K tile.
TARGET_AVX2 static inline __attribute__((always_inline)) void q4_K_tile_rows(
        int R, int V, const uint8_t *w, int64_t row_bytes, int nb, const q8k_tile *t, float *y, int64_t ldy, int t0, int r) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    tile_rows rows;
    int32_t minima[MAX_ROWS][4];
    __m256 sum[MAX_ROWS][WIDE];
    for (int i = 0; i < R; i++) for (int v = 0; v < V; v++) sum[i][v] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const blk_q4_K *blk[MAX_ROWS];
        for (int i = 0; i < R; i++) {
            blk[i] = (const blk_q4_K *)(w + (int64_t)(r + i) * row_bytes) + b;
            const __m128i sc = q4k_scales_avx2(blk[i]->scales);
            const __m256i s32 = _mm256_cvtepu8_epi32(sc);
            _mm256_storeu_si256((__m256i *)rows.scale[i], _mm256_or_si256(s32, _mm256_slli_epi32(s32, 16)));
            _mm_storeu_si128((__m128i *)minima[i], _mm_cvtepu8_epi16(_mm_srli_si128(sc, 8)));   // (mn[2k], mn[2k+1])
            for (int p = 0; p < 4; p++) {
                const __m256i bytes = _mm256_loadu_si256((const __m256i *)(blk[i]->qs + 32 * p));
                _mm256_store_si256((__m256i *)(rows.q[i] + 64 * p), _mm256_and_si256(bytes, low));
                _mm256_store_si256((__m256i *)(rows.q[i] + 64 * p + 32), _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low));
            }
        }
        __m256i acc[MAX_ROWS][WIDE];
        tile_dots(R, V, 8, 8, 8, &rows, &t[b], acc);
        for (int v = 0; v < V; v++) {
            const __m256 yd = _mm256_load_ps(t[b].d[v]);
            for (int i = 0; i < R; i++) {
                const __m256 d = _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(blk[i]->d)), yd);
                const __m256 dmin = _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(blk[i]->dmin)), yd);
                sum[i][v] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(acc[i][v]), sum[i][v]);
                sum[i][v] = _mm256_fmadd_ps(_mm256_xor_ps(dmin, sign), _mm256_cvtepi32_ps(tile_pair_dots(t[b].sums32, v, minima[i], 4)), sum[i][v]);
            }
        }
    }
    for (int i = 0; i < R; i++) for (int v = 0; v < V; v++) store_tile(y, ldy, t0 + TILE_TOKENS * v, r + i, sum[i][v]);
}

// Rows r … r + R − 1 × tokens t0 … t0 + 8V − 1 of a Q6_K tile.
TARGET_AVX2 static inline __attribute__((always_inline)) void q6_K_tile_rows(
        int R, int V, const uint8_t *w, int64_t row_bytes, int nb, const q8k_tile *t, float *y, int64_t ldy, int t0, int r) {
    tile_rows rows;
    int32_t offsets[MAX_ROWS][8];
    __m256 sum[MAX_ROWS][WIDE];
    for (int i = 0; i < R; i++) for (int v = 0; v < V; v++) sum[i][v] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const blk_q6_K *blk[MAX_ROWS];
        for (int i = 0; i < R; i++) {
            blk[i] = (const blk_q6_K *)(w + (int64_t)(r + i) * row_bytes) + b;
            for (int h = 0; h < 2; h++) {
                __m256i q[4];
                q6k_quarters(blk[i], h, q);
                for (int k = 0; k < 4; k++) _mm256_store_si256((__m256i *)(rows.q[i] + 128 * h + 32 * k), q[k]);
            }
            const __m128i s8 = _mm_loadu_si128((const __m128i *)blk[i]->scales);
            const __m128i lo = _mm_cvtepi8_epi16(s8), hi = _mm_cvtepi8_epi16(_mm_srli_si128(s8, 8));
            _mm_storeu_si128((__m128i *)offsets[i], lo);   // (sc[2k], sc[2k+1])
            _mm_storeu_si128((__m128i *)offsets[i] + 1, hi);
            _mm_storeu_si128((__m128i *)rows.scale[i], _mm_unpacklo_epi16(lo, lo));
            _mm_storeu_si128((__m128i *)rows.scale[i] + 1, _mm_unpackhi_epi16(lo, lo));
            _mm_storeu_si128((__m128i *)rows.scale[i] + 2, _mm_unpacklo_epi16(hi, hi));
            _mm_storeu_si128((__m128i *)rows.scale[i] + 3, _mm_unpackhi_epi16(hi, hi));
        }
        __m256i acc[MAX_ROWS][WIDE];
        tile_dots(R, V, 16, 4, 2, &rows, &t[b], acc);
        for (int v = 0; v < V; v++) {
            const __m256 yd = _mm256_load_ps(t[b].d[v]);
            for (int i = 0; i < R; i++) {
                const __m256i sumi = _mm256_sub_epi32(acc[i][v], _mm256_slli_epi32(tile_pair_dots(t[b].bsums, v, offsets[i], 8), 5));
                sum[i][v] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(blk[i]->d)), yd), _mm256_cvtepi32_ps(sumi), sum[i][v]);
            }
        }
    }
    for (int i = 0; i < R; i++) for (int v = 0; v < V; v++) store_tile(y, ldy, t0 + TILE_TOKENS * v, r + i, sum[i][v]);
}

// The whole tiles of rows r0 … r1 − 1: wide ones (16 tokens, WIDE_ROWS rows a step), then at
// most one of eight tokens (NARROW_ROWS rows a step), the rows left over one by one.
#define DEFINE_K_TILE(T)                                                                               \
TARGET_AVX2 static int T##_tile_avx2(const uint8_t *w, int64_t row_bytes, int nb, const jk_block_q8k *x, \
                                     int n, float *y, int64_t ldy, int r0, int r1) {                  \
    const int tiled = n / TILE_TOKENS * TILE_TOKENS;                                                   \
    q8k_tile *t = tiled ? aligned_alloc(32, sizeof(q8k_tile) * (size_t)nb) : NULL;                     \
    if (!t) return 0;                                                                                  \
    int t0 = 0;                                                                                        \
    for (; t0 + WIDE * TILE_TOKENS <= tiled; t0 += WIDE * TILE_TOKENS) {                               \
        pack_q8k_tile(x + (int64_t)t0 * nb, nb, WIDE, t);                                              \
        int r = r0;                                                                                    \
        for (; r + WIDE_ROWS <= r1; r += WIDE_ROWS) T##_tile_rows(WIDE_ROWS, WIDE, w, row_bytes, nb, t, y, ldy, t0, r); \
        for (; r < r1; r++) T##_tile_rows(1, WIDE, w, row_bytes, nb, t, y, ldy, t0, r);                \
    }                                                                                                  \
    for (; t0 < tiled; t0 += TILE_TOKENS) {                                                            \
        pack_q8k_tile(x + (int64_t)t0 * nb, nb, 1, t);                                                 \
        int r = r0;                                                                                    \
        for (; r + NARROW_ROWS <= r1; r += NARROW_ROWS) T##_tile_rows(NARROW_ROWS, 1, w, row_bytes, nb, t, y, ldy, t0, r); \
        for (; r < r1; r++) T##_tile_rows(1, 1, w, row_bytes, nb, t, y, ldy, t0, r);                   \
    }                                                                                                  \
    free(t);                                                                                           \
    return tiled;                                                                                      \
}
DEFINE_K_TILE(q4_K)
DEFINE_K_TILE(q6_K)

// One Q4_K super-block of one row against the activation block xb: the scaled integer dot
// (eight int32 lanes to be summed) and, in `mins`, the minima's share (likewise).
TARGET_AVX2 static inline __m256i q4k_block_dot(const blk_q4_K *blk, const jk_block_q8k *xb, __m256i *mins) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    const __m128i sc = q4k_scales_avx2(blk->scales);
    // The eight scales as int16 in both halves; scale j is picked by shuffling its two bytes
    // into every lane.
    const __m256i scales16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sc));
    __m256i acc = _mm256_setzero_si256();
    for (int p = 0; p < 4; p++) {
        const __m256i bytes = _mm256_loadu_si256((const __m256i *)(blk->qs + 32 * p));
        const __m256i slo = _mm256_shuffle_epi8(scales16, _mm256_set1_epi16((short)(0x0100 + 0x0404 * p)));
        const __m256i shi = _mm256_shuffle_epi8(scales16, _mm256_set1_epi16((short)(0x0302 + 0x0404 * p)));
        const int8_t *yq = xb->qs + 64 * p;
        acc = _mm256_add_epi32(acc, scaled_dot(_mm256_and_si256(bytes, low), _mm256_loadu_si256((const __m256i *)yq), slo));
        acc = _mm256_add_epi32(acc, scaled_dot(_mm256_and_si256(_mm256_srli_epi16(bytes, 4), low),
                                               _mm256_loadu_si256((const __m256i *)(yq + 32)), shi));
    }
    *mins = q4k_minima_lanes(q4k_minima_pairs(sc), xb);
    return acc;
}

// Decode (one token), eight rows at a time, one row per lane: each super-block's integer sums
// of the eight rows are reduced together (hsum8x8_i32), their d and dmin widened by one
// conversion, and the float part done in eight lanes: lane by lane the operations of the
// four-token loop below, in the same order, so the bits are the same. Done one row at a time,
// the reductions and the scalar chain were nearly a third of a decode's time. Rows left over go
// one at a time. The rows of the next group are fetched while these are computed.
TARGET_AVX2 static void q4_K_decode_avx2(const uint8_t *w, int64_t row_bytes, int nb, const jk_block_q8k *x, float *y, int r0, int r1) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    // Bytes 0–1 and 2–3 of each 32-bit lane (a row's d and dmin) to the low and high halves.
    const __m256i split = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15,
                                           0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
    for (; r0 + 8 <= r1; r0 += 8) {
        const uint8_t *base = w + (int64_t)r0 * row_bytes;
        __m256 sum = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++) {
            __m256i acc[8], mins[8];
            uint32_t dm[8];
            for (int r = 0; r < 8; r++) {
                const blk_q4_K *blk = (const blk_q4_K *)(base + (int64_t)r * row_bytes) + b;
                prefetch_rows_on(blk, 8 * row_bytes, (int)sizeof(blk_q4_K));
                memcpy(&dm[r], blk, 4);
                acc[r] = q4k_block_dot(blk, &x[b], &mins[r]);
            }
            const __m256i halves = _mm256_permute4x64_epi64(
                _mm256_shuffle_epi8(_mm256_setr_epi32((int)dm[0], (int)dm[1], (int)dm[2], (int)dm[3], (int)dm[4], (int)dm[5], (int)dm[6], (int)dm[7]), split),
                _MM_SHUFFLE(3, 1, 2, 0));
            const __m256 yd = _mm256_set1_ps(x[b].d);
            const __m256 d = _mm256_mul_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(halves)), yd);
            const __m256 dmin = _mm256_mul_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(halves, 1)), yd);
            sum = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(hsum8x8_i32(acc)), sum);
            sum = _mm256_fmadd_ps(_mm256_xor_ps(dmin, sign), _mm256_cvtepi32_ps(hsum8x8_i32(mins)), sum);
        }
        _mm256_storeu_ps(y + r0, sum);
    }
    for (; r0 < r1; r0++) {
        const blk_q4_K *row = (const blk_q4_K *)(w + (int64_t)r0 * row_bytes);
        float sum = 0;
        for (int b = 0; b < nb; b++) {
            prefetch_rows_on(&row[b], 2 * row_bytes, (int)sizeof(blk_q4_K));
            __m256i mins;
            int sums[2];
            hsum2_i32(q4k_block_dot(&row[b], &x[b], &mins), mins, sums);
            sum = fmaf(_cvtsh_ss(row[b].d) * x[b].d, (float)sums[0], sum);
            sum = fmaf(-(_cvtsh_ss(row[b].dmin) * x[b].d), (float)sums[1], sum);
        }
        y[r0] = sum;
    }
}

// Rows × tokens, tokens in tiles of four so each unpacked super-block serves four tokens (the
// tokens after the tiles of eight); a single token is q4_K_decode_avx2's.
TARGET_AVX2 static void mm_q4_K_avx2(const uint8_t *w, int64_t row_bytes, int nb, const void *xv,
                                     int n, float *y, int64_t ldy, int r0, int r1) {
    const jk_block_q8k *x = (const jk_block_q8k *)xv;
    const __m256i low = _mm256_set1_epi8(0x0F);
    if (n == 1) { q4_K_decode_avx2(w, row_bytes, nb, x, y, r0, r1); return; }
    for (int t0 = q4_K_tile_avx2(w, row_bytes, nb, x, n, y, ldy, r0, r1); t0 < n; t0 += 4) {
        const int tn = n - t0 < 4 ? n - t0 : 4;
        for (int r = r0; r < r1; r++) {
            const blk_q4_K *row = (const blk_q4_K *)(w + (int64_t)r * row_bytes);
            float sum[4] = {0, 0, 0, 0};
            for (int b = 0; b < nb; b++) {
                const __m128i sc = q4k_scales_avx2(row[b].scales);
                const __m256i m = q4k_minima_pairs(sc);
                // The eight scales as int16 in both halves; scale j is picked by shuffling its
                // two bytes into every lane.
                const __m256i scales16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sc));
                __m256i acc[4] = { _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256() };
                for (int p = 0; p < 4; p++) {
                    const __m256i bytes = _mm256_loadu_si256((const __m256i *)(row[b].qs + 32 * p));
                    const __m256i qlo = _mm256_and_si256(bytes, low);
                    const __m256i qhi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low);
                    const __m256i slo = _mm256_shuffle_epi8(scales16, _mm256_set1_epi16((short)(0x0100 + 0x0404 * p)));
                    const __m256i shi = _mm256_shuffle_epi8(scales16, _mm256_set1_epi16((short)(0x0302 + 0x0404 * p)));
                    for (int u = 0; u < tn; u++) {
                        const int8_t *yq = x[(int64_t)(t0 + u) * nb + b].qs + 64 * p;
                        acc[u] = _mm256_add_epi32(acc[u], scaled_dot(qlo, _mm256_loadu_si256((const __m256i *)yq), slo));
                        acc[u] = _mm256_add_epi32(acc[u], scaled_dot(qhi, _mm256_loadu_si256((const __m256i *)(yq + 32)), shi));
                    }
                }
                const float d = _cvtsh_ss(row[b].d), dmin = _cvtsh_ss(row[b].dmin);
                for (int u = 0; u < tn; u++) {
                    const jk_block_q8k *yb = x + (int64_t)(t0 + u) * nb + b;
                    int sums[2];
                    hsum2_i32(acc[u], q4k_minima_lanes(m, yb), sums);
                    sum[u] = fmaf(d * yb->d, (float)sums[0], sum[u]);
                    sum[u] = fmaf(-(dmin * yb->d), (float)sums[1], sum[u]);
                }
            }
            for (int u = 0; u < tn; u++) y[(int64_t)(t0 + u) * ldy + r] = sum[u];
        }
    }
}

TARGET_AVX2 static void mm_q6_K_avx2(const uint8_t *w, int64_t row_bytes, int nb, const void *xv,
                                     int n, float *y, int64_t ldy, int r0, int r1) {
    const jk_block_q8k *x = (const jk_block_q8k *)xv;
    for (int t0 = q6_K_tile_avx2(w, row_bytes, nb, x, n, y, ldy, r0, r1); t0 < n; t0 += 4) {
        const int tn = n - t0 < 4 ? n - t0 : 4;
        for (int r = r0; r < r1; r++) {
            const blk_q6_K *row = (const blk_q6_K *)(w + (int64_t)r * row_bytes);
            float sum[4] = {0, 0, 0, 0};
            for (int b = 0; b < nb; b++) {
                if (n == 1) prefetch_rows_on(&row[b], 2 * row_bytes, (int)sizeof(blk_q6_K));
                const __m128i sc16 = _mm_loadu_si128((const __m128i *)row[b].scales);
                __m256i acc[4] = { _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256() };
                for (int h = 0; h < 2; h++) {
                    __m256i q[4];
                    q6k_quarters(&row[b], h, q);
                    for (int k = 0; k < 4; k++) {
                        const __m256i scales = q6k_scale_pair(sc16, 8 * h + 2 * k);
                        for (int u = 0; u < tn; u++) {
                            const int8_t *yq = x[(int64_t)(t0 + u) * nb + b].qs + 128 * h + 32 * k;
                            acc[u] = _mm256_add_epi32(acc[u], scaled_dot(q[k], _mm256_loadu_si256((const __m256i *)yq), scales));
                        }
                    }
                }
                const float d = _cvtsh_ss(row[b].d);
                const __m256i scales16 = _mm256_cvtepi8_epi16(sc16);
                for (int u = 0; u < tn; u++) {
                    const jk_block_q8k *yb = x + (int64_t)(t0 + u) * nb + b;
                    const int sumi = hsum_i32(_mm256_sub_epi32(acc[u], _mm256_slli_epi32(q6k_offset_lanes(scales16, yb), 5)));
                    sum[u] = fmaf(d * yb->d, (float)sumi, sum[u]);
                }
            }
            for (int u = 0; u < tn; u++) y[(int64_t)(t0 + u) * ldy + r] = sum[u];
        }
    }
}

// The other K-types: 32 values at a time as bytes (unsigned, or signed for Q3_K and IQ4_XS),
// each 16 under its own scale.
TARGET_AVX2 static inline __m256i low_bits(__m256i bytes, int shift, int mask) {
    return _mm256_and_si256(_mm256_srli_epi16(bytes, shift), _mm256_set1_epi8((char)mask));
}
TARGET_AVX2 static inline void chunks_q2_K(const uint8_t *b, __m256i q[8]) {
    for (int j = 0; j < 2; j++) {
        const __m256i bytes = _mm256_loadu_si256((const __m256i *)(b + 16 + 32 * j));
        for (int s = 0; s < 4; s++) q[4 * j + s] = low_bits(bytes, 2 * s, 3);
    }
}
TARGET_AVX2 static inline void chunks_q3_K(const uint8_t *b, __m256i q[8]) {
    const __m256i hm = _mm256_loadu_si256((const __m256i *)b);
    for (int j = 0; j < 2; j++) {
        const __m256i bytes = _mm256_loadu_si256((const __m256i *)(b + 32 + 32 * j));
        for (int s = 0; s < 4; s++) {
            const int c = 4 * j + s;
            const __m256i high = _mm256_slli_epi16(low_bits(hm, c, 1), 2);
            q[c] = _mm256_sub_epi8(_mm256_or_si256(low_bits(bytes, 2 * s, 3), high), _mm256_set1_epi8(4));
        }
    }
}
TARGET_AVX2 static inline void chunks_q5_K(const uint8_t *b, __m256i q[8]) {
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(b + 16));
    for (int j = 0; j < 4; j++) {
        const __m256i bytes = _mm256_loadu_si256((const __m256i *)(b + 48 + 32 * j));
        for (int s = 0; s < 2; s++) {
            const int c = 2 * j + s;
            q[c] = _mm256_or_si256(low_bits(bytes, 4 * s, 0x0F), _mm256_slli_epi16(low_bits(qh, c, 1), 4));
        }
    }
}
TARGET_AVX2 static inline void chunks_iq4_xs(const uint8_t *b, __m256i q[8]) {
    const __m128i values = _mm_loadu_si128((const __m128i *)jk_iq4nl_values), low = _mm_set1_epi8(0x0F);
    for (int c = 0; c < 8; c++) {
        const __m128i t = _mm_loadu_si128((const __m128i *)(b + 8 + 16 * c));
        q[c] = _mm256_set_m128i(_mm_shuffle_epi8(values, _mm_and_si128(_mm_srli_epi16(t, 4), low)),
                                _mm_shuffle_epi8(values, _mm_and_si128(t, low)));
    }
}

#define DEFINE_K_AVX2(T, BYTES, HAS_MIN, SIGNED)                                                    \
TARGET_AVX2 static void mm_##T##_avx2(const uint8_t *w, int64_t row_bytes, int nb, const void *xv, \
                                      int n, float *y, int64_t ldy, int r0, int r1) {             \
    const jk_block_q8k *x = (const jk_block_q8k *)xv;                                            \
    k_ints k;                                                                                    \
    for (int t0 = 0; t0 < n; t0 += 4) {                                                          \
        const int tn = n - t0 < 4 ? n - t0 : 4;                                                  \
        for (int r = r0; r < r1; r++) {                                                          \
            const uint8_t *row = w + (int64_t)r * row_bytes;                                     \
            float sum[4] = {0, 0, 0, 0};                                                         \
            for (int b = 0; b < nb; b++) {                                                       \
                const uint8_t *blk = row + (int64_t)b * BYTES;                                   \
                if (n == 1) prefetch_rows_on(blk, 2 * row_bytes, BYTES);                         \
                __m256i q[8];                                                                    \
                chunks_##T(blk, q);                                                              \
                scales_##T(blk, &k);                                                             \
                __m256i acc[4] = { _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256() }; \
                for (int c = 0; c < 8; c++) {                                                    \
                    const short s0 = (short)k.sc[2 * c], s1 = (short)k.sc[2 * c + 1];            \
                    const __m256i scales = _mm256_setr_epi16(s0, s0, s0, s0, s0, s0, s0, s0,     \
                                                             s1, s1, s1, s1, s1, s1, s1, s1);    \
                    const __m256i qu = SIGNED ? _mm256_sign_epi8(q[c], q[c]) : q[c];             \
                    for (int u = 0; u < tn; u++) {                                               \
                        __m256i yv = _mm256_loadu_si256((const __m256i *)(x[(int64_t)(t0 + u) * nb + b].qs + 32 * c)); \
                        if (SIGNED) yv = _mm256_sign_epi8(yv, q[c]);                             \
                        acc[u] = _mm256_add_epi32(acc[u], scaled_dot(qu, yv, scales));           \
                    }                                                                            \
                }                                                                                \
                for (int u = 0; u < tn; u++) {                                                   \
                    const jk_block_q8k *yb = x + (int64_t)(t0 + u) * nb + b;                     \
                    sum[u] = k_accumulate(sum[u], k.d, k.dmin, hsum_i32(acc[u]),                 \
                                          HAS_MIN ? k_minima_term(k.mn, yb) : 0, yb, HAS_MIN);   \
                }                                                                                \
            }                                                                                    \
            for (int u = 0; u < tn; u++) y[(int64_t)(t0 + u) * ldy + r] = sum[u];                \
        }                                                                                        \
    }                                                                                            \
}
DEFINE_K_AVX2(q2_K, 84, 1, 0)
DEFINE_K_AVX2(q3_K, 110, 0, 1)
DEFINE_K_AVX2(q5_K, 176, 1, 0)
DEFINE_K_AVX2(iq4_xs, 136, 0, 1)
#endif

jk_mm_fn jk_kquant_kernel(int type, int level) {
#if defined(__x86_64__)
    if (level >= 1) {
        switch (type) {
        case JK_TYPE_Q2_K: return mm_q2_K_avx2;
        case JK_TYPE_Q3_K: return mm_q3_K_avx2;
        case JK_TYPE_Q4_K: return mm_q4_K_avx2;
        case JK_TYPE_Q5_K: return mm_q5_K_avx2;
        case JK_TYPE_Q6_K: return mm_q6_K_avx2;
        case JK_TYPE_IQ4_XS: return mm_iq4_xs_avx2;
        default: return NULL;
        }
    }
#endif
    (void)level;
    switch (type) {
    case JK_TYPE_Q2_K: return mm_q2_K_portable;
    case JK_TYPE_Q3_K: return mm_q3_K_portable;
    case JK_TYPE_Q4_K: return mm_q4_K_portable;
    case JK_TYPE_Q5_K: return mm_q5_K_portable;
    case JK_TYPE_Q6_K: return mm_q6_K_portable;
    case JK_TYPE_IQ4_XS: return mm_iq4_xs_portable;
    default: return NULL;
    }
}
