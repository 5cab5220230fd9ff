// Attention over K/V stored in 4 bits (KIVI's split). Keys are quantized per channel: each of a
// page's head_dim channels has one fp16 scale and minimum shared by all its tokens, because a
// few key channels carry outliers that would swamp a per-row scale. Values are quantized per
// token, in groups of 32 along the row, each with its own fp16 scale and minimum.
//
// Codes are packed two per byte: dimension 2i in the low nibble of byte i, 2i+1 in the high one.
// A key is min[d] + scale[d] · code, so q·k = Σ q[d]·min[d] + Σ (q[d]·scale[d])·code: the query
// is folded with the page's channel parameters once, and each row costs one pass over its codes.
#include "CJarvisKernels.h"
#include "Reductions.h"
#include <math.h>

void jk_attn_scores_q4(const float *q, const uint8_t *k, const uint16_t *channels, int n, int hd, float scale, float *s, int order) {
    (void)order;   // 4-bit rows match no fp16 order bit for bit; one order serves both.
    const int half = hd / 2;
    float even[half], odd[half];
    float bias = 0;
    for (int i = 0; i < half; i++) {
        even[i] = q[2 * i] * jk_fp16_to_fp32(channels[2 * i]);
        odd[i] = q[2 * i + 1] * jk_fp16_to_fp32(channels[2 * i + 1]);
        bias = fmaf(q[2 * i], jk_fp16_to_fp32(channels[hd + 2 * i]), bias);
        bias = fmaf(q[2 * i + 1], jk_fp16_to_fp32(channels[hd + 2 * i + 1]), bias);
    }
    for (int j = 0; j < n; j++) {
        const uint8_t *row = k + (size_t)j * half;
        float acc0 = 0, acc1 = 0;
        for (int i = 0; i < half; i++) {
            acc0 = fmaf(even[i], (float)(row[i] & 15), acc0);
            acc1 = fmaf(odd[i], (float)(row[i] >> 4), acc1);
        }
        s[j] = (bias + acc0 + acc1) * scale;
    }
}

void jk_attn_mix_rows_q4(float *state, const float *p, const uint8_t *v, const uint16_t *groups, int n, int hd, int start, int order) {
    const int nb = hd / 32;
    for (int j = 0; j < n; j++) {
        const uint8_t *row = v + (size_t)j * (hd / 2);
        const uint16_t *g = groups + (size_t)j * nb * 2;
        float *a = state + (size_t)jk_slot(start + j, order) * hd;
        for (int b = 0; b < nb; b++) {
            const float w = p[j] * jk_fp16_to_fp32(g[2 * b]), base = p[j] * jk_fp16_to_fp32(g[2 * b + 1]);
            float *ab = a + 32 * b;
            const uint8_t *rb = row + 16 * b;
            for (int i = 0; i < 16; i++) {
                ab[2 * i] += fmaf(w, (float)(rb[i] & 15), base);
                ab[2 * i + 1] += fmaf(w, (float)(rb[i] >> 4), base);
            }
        }
    }
}
