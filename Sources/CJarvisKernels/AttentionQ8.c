// Attention over K/V stored in 8 bits: rows of int8 values with one fp16 scale per 32 values.
// Each value is widened inside the loop (int8 × scale is exact in fp32) and then summed in the
// same lane order as the fp16 rows, so an 8-bit page differs from its fp16 original only by
// the quantization itself.
#include "CJarvisKernels.h"
#include "Reductions.h"
#include <math.h>

static void scores_q8_portable(const float *q, const int8_t *k, const uint16_t *ks, int n, int hd, float scale, float *s, int order) {
    const int nb = hd / 32;
    for (int j = 0; j < n; j++) {
        const int8_t *row = k + (size_t)j * hd;
        const uint16_t *sc = ks + (size_t)j * nb;
        float acc[64] = {0}, lanes[16];
        for (int e = 0; e < hd; e++) {
            const float x = (float)row[e] * jk_fp16_to_fp32(sc[e / 32]);
            acc[jk_slot(e, order)] = fmaf(x, q[e], acc[jk_slot(e, order)]);
        }
        if (order == JK_ORDER_TILED) for (int i = 0; i < 16; i++) lanes[i] = acc[i]; else jk_fold64(acc, lanes);
        s[j] = jk_reduce16(lanes) * scale;
    }
}

static void mix_q8_portable(float *state, const float *p, const int8_t *v, const uint16_t *vs, int n, int hd, int start, int order) {
    const int nb = hd / 32;
    for (int j = 0; j < n; j++) {
        const int8_t *row = v + (size_t)j * hd;
        const uint16_t *sc = vs + (size_t)j * nb;
        float *a = state + (size_t)jk_slot(start + j, order) * hd;
        for (int d = 0; d < hd; d++) a[d] = fmaf((float)row[d] * jk_fp16_to_fp32(sc[d / 32]), p[j], a[d]);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET __attribute__((target("avx2,fma,f16c")))

TARGET static inline __m256 widen8(const int8_t *x, __m256 scale) {
    const __m256i i = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)x));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(i), scale);
}

TARGET static void scores_q8_avx2(const float *q, const int8_t *k, const uint16_t *ks, int n, int hd, float scale, float *s, int order) {
    if (order == JK_ORDER_VECTOR && hd % 64 != 0) { scores_q8_portable(q, k, ks, n, hd, scale, s, order); return; }
    const int nb = hd / 32;
    for (int j = 0; j < n; j++) {
        const int8_t *row = k + (size_t)j * hd;
        const uint16_t *sc = ks + (size_t)j * nb;
        __m256 acc[8];
        for (int a = 0; a < 8; a++) acc[a] = _mm256_setzero_ps();
        const int span = order == JK_ORDER_TILED ? 16 : 64;
        for (int l = 0; l < hd; l += span) {
            for (int a = 0; a < span / 16; a++) {
                const int e = l + 16 * a;
                const __m256 f = _mm256_set1_ps(_cvtsh_ss(sc[e / 32]));
                acc[2 * a] = _mm256_fmadd_ps(widen8(row + e, f), _mm256_loadu_ps(q + e), acc[2 * a]);
                acc[2 * a + 1] = _mm256_fmadd_ps(widen8(row + e + 8, f), _mm256_loadu_ps(q + e + 8), acc[2 * a + 1]);
            }
        }
        __m256 lo = acc[0], hi = acc[1];
        if (order == JK_ORDER_VECTOR) {
            lo = _mm256_add_ps(_mm256_add_ps(acc[0], acc[4]), _mm256_add_ps(acc[2], acc[6]));
            hi = _mm256_add_ps(_mm256_add_ps(acc[1], acc[5]), _mm256_add_ps(acc[3], acc[7]));
        }
        s[j] = jk_reduce8_avx(_mm256_add_ps(hi, lo)) * scale;
    }
}

TARGET static void mix_q8_avx2(float *state, const float *p, const int8_t *v, const uint16_t *vs, int n, int hd, int start, int order) {
    const int nb = hd / 32;
    for (int j = 0; j < n; j++) {
        const int8_t *row = v + (size_t)j * hd;
        const uint16_t *sc = vs + (size_t)j * nb;
        const __m256 w = _mm256_set1_ps(p[j]);
        float *a = state + (size_t)jk_slot(start + j, order) * hd;
        for (int d = 0; d < hd; d += 8) {
            const __m256 x = widen8(row + d, _mm256_set1_ps(_cvtsh_ss(sc[d / 32])));
            _mm256_storeu_ps(a + d, _mm256_fmadd_ps(x, w, _mm256_loadu_ps(a + d)));
        }
    }
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

void jk_attn_scores_q8(const float *q, const int8_t *k, const uint16_t *ks, int n, int hd, float scale, float *s, int order) {
#if defined(__x86_64__)
    if (avx2()) { scores_q8_avx2(q, k, ks, n, hd, scale, s, order); return; }
#endif
    scores_q8_portable(q, k, ks, n, hd, scale, s, order);
}

void jk_attn_mix_rows_q8(float *state, const float *p, const int8_t *v, const uint16_t *vs, int n, int hd, int start, int order) {
#if defined(__x86_64__)
    if (avx2()) { mix_q8_avx2(state, p, v, vs, n, hd, start, order); return; }
#endif
    mix_q8_portable(state, p, v, vs, n, hd, start, order);
}
