// Attention over K/V stored in 8 bits: rows of int8 values with one fp16 scale per 32 values.
// Each value is widened inside the loop (int8 × scale is exact in fp32) and then summed in the
// same lane order as the fp16 rows, so an 8-bit page differs from its fp16 original only by
// the quantization itself.
#include "CJarvisKernels.h"
#include "Reductions.h"
#include "AttentionTiled.h"
#include <math.h>

static void scores_q8_portable(const float *q, int m, const int8_t *k, const uint16_t *ks, int n, int hd, float scale, float *s, int stride,
                               int order) {
    const int nb = hd / 32;
    for (int i = 0; i < m; i++, q += hd, s += stride) {
        for (int j = 0; j < n; j++) {
            const int8_t *row = k + (size_t)j * hd;
            const uint16_t *sc = ks + (size_t)j * nb;
            float acc[64] = {0}, lanes[16];
            for (int e = 0; e < hd; e++) {
                const float x = (float)row[e] * jk_fp16_to_fp32(sc[e / 32]);
                acc[jk_slot(e, order)] = fmaf(x, q[e], acc[jk_slot(e, order)]);
            }
            if (order == JK_ORDER_TILED) for (int l = 0; l < 16; l++) lanes[l] = acc[l]; else jk_fold64(acc, lanes);
            s[j] = jk_reduce16(lanes) * scale;
        }
    }
}

static void mix_q8_portable(float *state, int m, const float *p, int stride, const int8_t *v, const uint16_t *vs, int n, int hd, int start,
                            int order) {
    const int nb = hd / 32;
    for (int i = 0; i < m; i++, state += (size_t)64 * hd, p += stride) {
        for (int j = 0; j < n; j++) {
            const int8_t *row = v + (size_t)j * hd;
            const uint16_t *sc = vs + (size_t)j * nb;
            float *a = state + (size_t)jk_slot(start + j, order) * hd;
            for (int d = 0; d < hd; d++) a[d] = fmaf((float)row[d] * jk_fp16_to_fp32(sc[d / 32]), p[j], a[d]);
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET __attribute__((target("avx2,fma,f16c")))

TARGET static inline __m256 widen8(const int8_t *x, __m256 scale) {
    const __m256i i = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)x));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(i), scale);
}

TARGET static inline __m256 q8_values(const void *rows, const void *scales, int j, int d, int hd) {
    const __m256 f = _mm256_set1_ps(_cvtsh_ss(((const uint16_t *)scales)[(size_t)j * (hd / 32) + d / 32]));
    return widen8((const int8_t *)rows + (size_t)j * hd + d, f);
}

TARGET static void scores_q8_avx2(const float *q, int m, const int8_t *k, const uint16_t *ks, int n, int hd, float scale, float *s, int stride,
                                  int order) {
    if (order == JK_ORDER_VECTOR) {
        if (hd % 64 != 0) { scores_q8_portable(q, m, k, ks, n, hd, scale, s, stride, order); return; }
        for (int i = 0; i < m; i++) jk_scores_vector_avx2(q + (size_t)i * hd, k, ks, n, hd, scale, s + (size_t)i * stride, q8_values);
        return;
    }
    jk_scores_tiled_widened_avx2(q, m, k, ks, n, hd, scale, s, stride, q8_values);
}

// As Attention.c's mix_rows_avx2, for 8-bit rows, each block widened once for all the queries.
TARGET static void mix_q8_avx2(float *state, int m, const float *p, int stride, const int8_t *v, const uint16_t *vs, int n, int hd, int start,
                               int order) {
    if (order == JK_ORDER_TILED) { jk_mix_tiled_widened_avx2(state, m, p, stride, v, vs, n, hd, start, q8_values); return; }
    for (int i = 0; i < m; i++, state += (size_t)64 * hd, p += stride) jk_mix_rows_one_by_one(state, p, v, vs, 0, n, hd, start, 64, q8_values);
}
#endif

static _Atomic int use_avx2 = -1;
static int avx2(void) {
#if defined(__x86_64__)
    if (use_avx2 < 0) { __builtin_cpu_init(); use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
    return use_avx2;
#else
    return 0;
#endif
}

void jk_select_attention_q8_kernels(int level) {
    use_avx2 = -1;
    if (level == 0) use_avx2 = 0; else (void)avx2();
}

void jk_attn_scores_q8(const float *q, int m, const int8_t *k, const uint16_t *ks, int n, int hd, float scale, float *s, int stride, int order) {
#if defined(__x86_64__)
    if (avx2()) { scores_q8_avx2(q, m, k, ks, n, hd, scale, s, stride, order); return; }
#endif
    scores_q8_portable(q, m, k, ks, n, hd, scale, s, stride, order);
}

void jk_attn_mix_rows_q8(float *state, int m, const float *p, int stride, const int8_t *v, const uint16_t *vs, int n, int hd, int start,
                         int order) {
#if defined(__x86_64__)
    if (avx2()) { mix_q8_avx2(state, m, p, stride, v, vs, n, hd, start, order); return; }
#endif
    mix_q8_portable(state, m, p, stride, v, vs, n, hd, start, order);
}
