// Attention over K/V stored in 8 bits: rows of int8 values with one fp16 scale per 32 values.
// Each value is widened inside the loop (int8 × scale is exact in fp32) and then summed in the
// same lane order as the fp16 rows, so an 8-bit page differs from its fp16 original only by
// the quantization itself.
#include "CJarvisKernels.h"
#include "Reductions.h"
#include "AttentionMix.h"
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

// One query in the vector order (a single query row: decoding).
TARGET static void scores_q8_vector_avx2(const float *q, const int8_t *k, const uint16_t *ks, int n, int hd, float scale, float *s) {
    const int nb = hd / 32;
    for (int j = 0; j < n; j++) {
        const int8_t *row = k + (size_t)j * hd;
        const uint16_t *sc = ks + (size_t)j * nb;
        __m256 acc[8];
        for (int a = 0; a < 8; a++) acc[a] = _mm256_setzero_ps();
        for (int l = 0; l < hd; l += 64) {
            for (int a = 0; a < 4; a++) {
                const int e = l + 16 * a;
                const __m256 f = _mm256_set1_ps(_cvtsh_ss(sc[e / 32]));
                acc[2 * a] = _mm256_fmadd_ps(widen8(row + e, f), _mm256_loadu_ps(q + e), acc[2 * a]);
                acc[2 * a + 1] = _mm256_fmadd_ps(widen8(row + e + 8, f), _mm256_loadu_ps(q + e + 8), acc[2 * a + 1]);
            }
        }
        const __m256 lo = _mm256_add_ps(_mm256_add_ps(acc[0], acc[4]), _mm256_add_ps(acc[2], acc[6]));
        const __m256 hi = _mm256_add_ps(_mm256_add_ps(acc[1], acc[5]), _mm256_add_ps(acc[3], acc[7]));
        s[j] = jk_reduce8_avx(_mm256_add_ps(hi, lo)) * scale;
    }
}

// Up to JK_ATTN_QUERIES queries in the tiled order, each row widened once (as Attention.c's
// scores_tiled_avx2 does for fp16 rows).
TARGET static inline __attribute__((always_inline))
void scores_q8_tiled_avx2(const float *q, const int m, const int8_t *k, const uint16_t *ks, int n, int hd, float scale, float *s, int stride) {
    const int nb = hd / 32;
    __m256 folded[JK_ATTN_QUERIES][8];
    const __m256 vscale = _mm256_set1_ps(scale);
    for (int j0 = 0; j0 < n; j0 += 8) {
        const int rows = n - j0 < 8 ? n - j0 : 8;
        for (int jj = 0; jj < 8; jj++) {
            if (jj >= rows) { for (int i = 0; i < m; i++) folded[i][jj] = _mm256_setzero_ps(); continue; }
            const int8_t *row = k + (size_t)(j0 + jj) * hd;
            const uint16_t *sc = ks + (size_t)(j0 + jj) * nb;
            __m256 lo[JK_ATTN_QUERIES], hi[JK_ATTN_QUERIES];
            for (int i = 0; i < m; i++) lo[i] = hi[i] = _mm256_setzero_ps();
            for (int l = 0; l < hd; l += 16) {
                const __m256 f = _mm256_set1_ps(_cvtsh_ss(sc[l / 32]));
                const __m256 k0 = widen8(row + l, f), k1 = widen8(row + l + 8, f);
                for (int i = 0; i < m; i++) {
                    lo[i] = _mm256_fmadd_ps(k0, _mm256_loadu_ps(q + (size_t)i * hd + l), lo[i]);
                    hi[i] = _mm256_fmadd_ps(k1, _mm256_loadu_ps(q + (size_t)i * hd + l + 8), hi[i]);
                }
            }
            for (int i = 0; i < m; i++) folded[i][jj] = _mm256_add_ps(hi[i], lo[i]);
        }
        for (int i = 0; i < m; i++) {
            float out[8];
            _mm256_storeu_ps(out, _mm256_mul_ps(jk_reduce8x8_avx(folded[i]), vscale));
            for (int jj = 0; jj < rows; jj++) s[(size_t)i * stride + j0 + jj] = out[jj];
        }
    }
}

TARGET static void scores_q8_avx2(const float *q, int m, const int8_t *k, const uint16_t *ks, int n, int hd, float scale, float *s, int stride,
                                  int order) {
    if (order == JK_ORDER_VECTOR) {
        if (hd % 64 != 0) { scores_q8_portable(q, m, k, ks, n, hd, scale, s, stride, order); return; }
        for (int i = 0; i < m; i++) scores_q8_vector_avx2(q + (size_t)i * hd, k, ks, n, hd, scale, s + (size_t)i * stride);
        return;
    }
    for (int i = 0; i < m; i += JK_ATTN_QUERIES) {
        const float *qi = q + (size_t)i * hd;
        float *si = s + (size_t)i * stride;
        switch (m - i) {
        case 1: scores_q8_tiled_avx2(qi, 1, k, ks, n, hd, scale, si, stride); break;
        case 2: scores_q8_tiled_avx2(qi, 2, k, ks, n, hd, scale, si, stride); break;
        case 3: scores_q8_tiled_avx2(qi, 3, k, ks, n, hd, scale, si, stride); break;
        default: scores_q8_tiled_avx2(qi, JK_ATTN_QUERIES, k, ks, n, hd, scale, si, stride); break;
        }
    }
}

TARGET static inline __m256 q8_values(const void *rows, const void *scales, int j, int d, int hd) {
    const __m256 f = _mm256_set1_ps(_cvtsh_ss(((const uint16_t *)scales)[(size_t)j * (hd / 32) + d / 32]));
    return widen8((const int8_t *)rows + (size_t)j * hd + d, f);
}

// As Attention.c's mix_rows_avx2, for 8-bit rows.
TARGET static void mix_q8_avx2(float *state, int m, const float *p, int stride, const int8_t *v, const uint16_t *vs, int n, int hd, int start,
                               int order) {
    for (int i = 0; i < m; i++, state += (size_t)64 * hd, p += stride) {
        if (order == JK_ORDER_TILED) { jk_mix_tiled_avx2(state, p, v, vs, n, hd, start, q8_values); continue; }
        jk_mix_rows_one_by_one(state, p, v, vs, 0, n, hd, start, 64, q8_values);
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
