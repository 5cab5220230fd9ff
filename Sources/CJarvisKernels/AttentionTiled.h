// Attention loops in llama.cpp's orders for rows of any element type the caller can widen eight
// values at a time: in the tiled order (two or more query rows), scores of several queries in
// one pass over the key rows and the weighted sum of V kept in registers; in the vector order,
// one query's scores. Shared by the fp16 and 8-bit kernels.
// Private to CJarvisKernels.
#ifndef JARVIS_ATTENTION_TILED_H
#define JARVIS_ATTENTION_TILED_H

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>
#include "Reductions.h"

/// Eight values of row j from dimension d, widened to fp32.
typedef __m256 (*jk_value_loader)(const void *rows, const void *scales, int j, int d, int hd);

/// Floats of the buffer 8-bit rows are widened into when several queries read them: 16 KiB, so
/// a block of rows stays in L1 while every query of a task passes over it. A block is a whole
/// number of 16-row turns, which keeps the tiled order's slots and 8-row reductions aligned.
enum { JK_WIDE_FLOATS = 4096 };
static inline int jk_wide_block_rows(int hd) { return JK_WIDE_FLOATS / hd / 16 * 16; }

/// Queries the tiled order scores in one pass over the key rows: two accumulators each, twelve
/// registers (six measured faster than four on 8-bit pages, and the same on fp16).
enum { JK_TILED_QUERIES = 6 };

/// The loader of rows already widened: fp32, hd per row.
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline __m256 jk_fp32_values(const void *rows, const void *scales, int j, int d,
                                                                                             int hd) {
    (void)scales;
    return _mm256_loadu_ps((const float *)rows + (size_t)j * hd + d);
}

/// Rows [j0, j0 + rows) widened once into `wide` (row-major), for every query to read.
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline void
jk_widen_rows(const void *v, const void *scales, int j0, int rows, int hd, float *wide, jk_value_loader load) {
    for (int r = 0; r < rows; r++)
        for (int d = 0; d < hd; d += 8) _mm256_storeu_ps(wide + (size_t)r * hd + d, load(v, scales, j0 + r, d, hd));
}

/// Adds rows [from, to) one at a time to a state of `slots` slots (16 tiled, 64 vector).
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline void
jk_mix_rows_one_by_one(float *state, const float *p, const void *v, const void *scales, int from, int to, int hd, int start, int slots,
                       jk_value_loader load) {
    for (int j = from; j < to; j++) {
        float *a = state + (size_t)((start + j) % slots) * hd;
        const __m256 w = _mm256_set1_ps(p[j]);
        for (int d = 0; d < hd; d += 8) _mm256_storeu_ps(a + d, _mm256_fmadd_ps(load(v, scales, j, d, hd), w, _mm256_loadu_ps(a + d)));
    }
}

/// Adds 8·C dimensions, from d, of rows first, first + 16, … (< n) of V, weighted by p, to one
/// slot `a` of a tiled-order state: loaded once, summed in C registers, stored once.
#define JK_MIX_SLOT(C)                                                                                                   \
    do {                                                                                                                 \
        __m256 acc[C];                                                                                                   \
        for (int c = 0; c < (C); c++) acc[c] = _mm256_loadu_ps(a + d + 8 * c);                                          \
        for (int j = first; j < n; j += 16) {                                                                            \
            const __m256 w = _mm256_set1_ps(p[j]);                                                                       \
            for (int c = 0; c < (C); c++) acc[c] = _mm256_fmadd_ps(load(v, scales, j, d + 8 * c, hd), w, acc[c]);        \
        }                                                                                                                \
        for (int c = 0; c < (C); c++) _mm256_storeu_ps(a + d + 8 * c, acc[c]);                                           \
    } while (0)

/// Adds rows [0, n) of V, weighted by p, to a tiled-order state (16 slots of hd floats; row j
/// goes to slot (start + j) % 16). Slot by slot, all of a slot's rows are summed in registers,
/// so each slot is loaded and stored once per call wherever the rows begin; each slot takes its
/// rows in order, so the bits are those of adding one row at a time.
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline void
jk_mix_tiled_avx2(float *state, const float *p, const void *v, const void *scales, int n, int hd, int start, jk_value_loader load) {
    for (int l = 0; l < 16; l++) {
        const int first = (l - start % 16 + 16) % 16;   // the first row that goes to slot l
        if (first >= n) continue;
        float *a = state + (size_t)l * hd;
        int d = 0;
        for (; d + 64 <= hd; d += 64) JK_MIX_SLOT(8);
        for (; d + 8 <= hd; d += 8) JK_MIX_SLOT(1);
    }
}
#undef JK_MIX_SLOT

/// Scores of m (at most JK_TILED_QUERIES) queries, q + i·hd, against rows [0, n); query i's go to
/// s + i·stride. Each key row is widened once for all of them; each query's 16 lanes are folded
/// to 8 and kept, and every 8 rows the folds are summed by one transposition (jk_reduce8x8_avx),
/// which gives each score the bits of jk_reduce8_avx.
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline void
jk_scores_tiled_group_avx2(const float *q, const int m, const void *k, const void *scales, int n, int hd, float scale, float *s, int stride,
                           jk_value_loader load) {
    __m256 folded[JK_TILED_QUERIES][8];
    const __m256 vscale = _mm256_set1_ps(scale);
    for (int j0 = 0; j0 < n; j0 += 8) {
        const int rows = n - j0 < 8 ? n - j0 : 8;
        for (int jj = 0; jj < 8; jj++) {
            if (jj >= rows) { for (int i = 0; i < m; i++) folded[i][jj] = _mm256_setzero_ps(); continue; }
            __m256 lo[JK_TILED_QUERIES], hi[JK_TILED_QUERIES];
            for (int i = 0; i < m; i++) lo[i] = hi[i] = _mm256_setzero_ps();
            for (int l = 0; l < hd; l += 16) {
                const __m256 k0 = load(k, scales, j0 + jj, l, hd), k1 = load(k, scales, j0 + jj, l + 8, hd);
                for (int i = 0; i < m; i++) {
                    lo[i] = _mm256_fmadd_ps(k0, _mm256_loadu_ps(q + (size_t)i * hd + l), lo[i]);
                    hi[i] = _mm256_fmadd_ps(k1, _mm256_loadu_ps(q + (size_t)i * hd + l + 8), hi[i]);
                }
            }
            for (int i = 0; i < m; i++) folded[i][jj] = _mm256_add_ps(hi[i], lo[i]);
        }
        for (int i = 0; i < m; i++) jk_store_rows_avx(s + (size_t)i * stride + j0, _mm256_mul_ps(jk_reduce8x8_avx(folded[i]), vscale), rows);
    }
}

/// Scores of one query in the vector order (a single query row: decoding); hd a multiple of 64.
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline void
jk_scores_vector_avx2(const float *q, const void *k, const void *scales, int n, int hd, float scale, float *s, jk_value_loader load) {
    for (int j = 0; j < n; j++) {
        // acc[2a] / acc[2a+1]: lanes 0-7 / 8-15 of accumulator a
        __m256 acc[8];
        for (int a = 0; a < 8; a++) acc[a] = _mm256_setzero_ps();
        for (int l = 0; l < hd; l += 64) {
            for (int a = 0; a < 4; a++) {
                const int e = l + 16 * a;
                acc[2 * a] = _mm256_fmadd_ps(load(k, scales, j, e, hd), _mm256_loadu_ps(q + e), acc[2 * a]);
                acc[2 * a + 1] = _mm256_fmadd_ps(load(k, scales, j, e + 8, hd), _mm256_loadu_ps(q + e + 8), acc[2 * a + 1]);
            }
        }
        const __m256 lo = _mm256_add_ps(_mm256_add_ps(acc[0], acc[4]), _mm256_add_ps(acc[2], acc[6]));
        const __m256 hi = _mm256_add_ps(_mm256_add_ps(acc[1], acc[5]), _mm256_add_ps(acc[3], acc[7]));
        s[j] = jk_reduce8_avx(_mm256_add_ps(hi, lo)) * scale;
    }
}

/// jk_scores_tiled_group_avx2 for any number of queries, JK_TILED_QUERIES at a time.
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline void
jk_scores_tiled_avx2(const float *q, int m, const void *k, const void *scales, int n, int hd, float scale, float *s, int stride,
                     jk_value_loader load) {
    for (int i = 0; i < m; i += JK_TILED_QUERIES) {
        const float *qi = q + (size_t)i * hd;
        float *si = s + (size_t)i * stride;
        switch (m - i) {   // a constant count, so each query's accumulators stay in registers
        case 1: jk_scores_tiled_group_avx2(qi, 1, k, scales, n, hd, scale, si, stride, load); break;
        case 2: jk_scores_tiled_group_avx2(qi, 2, k, scales, n, hd, scale, si, stride, load); break;
        case 3: jk_scores_tiled_group_avx2(qi, 3, k, scales, n, hd, scale, si, stride, load); break;
        case 4: jk_scores_tiled_group_avx2(qi, 4, k, scales, n, hd, scale, si, stride, load); break;
        case 5: jk_scores_tiled_group_avx2(qi, 5, k, scales, n, hd, scale, si, stride, load); break;
        default: jk_scores_tiled_group_avx2(qi, JK_TILED_QUERIES, k, scales, n, hd, scale, si, stride, load); break;
        }
    }
}

/// jk_scores_tiled_avx2 for rows whose loader costs more than a reload (8-bit rows: widening,
/// conversion and scale): with more queries than one group, each block of key rows is widened
/// once (jk_widen_rows) and every group reads it. The values, so the bits, are the loader's.
/// (fp16 rows measured no faster this way: their widening is one conversion per 8 values.)
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline void
jk_scores_tiled_widened_avx2(const float *q, int m, const void *k, const void *scales, int n, int hd, float scale, float *s, int stride,
                             jk_value_loader load) {
    if (m <= JK_TILED_QUERIES) { jk_scores_tiled_avx2(q, m, k, scales, n, hd, scale, s, stride, load); return; }
    float wide[JK_WIDE_FLOATS];
    const int block = jk_wide_block_rows(hd);
    for (int j0 = 0; j0 < n; j0 += block) {
        const int rows = n - j0 < block ? n - j0 : block;
        jk_widen_rows(k, scales, j0, rows, hd, wide, load);
        jk_scores_tiled_avx2(q, m, wide, NULL, rows, hd, scale, s + j0, stride, jk_fp32_values);
    }
}

/// The tiled order's weighted sums for m queries (state + i·64·hd, weights p + i·stride), for the
/// same rows: each block of value rows is widened once and every query's rows are summed from it.
/// A block is a whole number of 16-row turns, so each slot still takes its rows one after
/// another, as in jk_mix_tiled_avx2 over all the rows.
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline void
jk_mix_tiled_widened_avx2(float *state, int m, const float *p, int stride, const void *v, const void *scales, int n, int hd, int start,
                          jk_value_loader load) {
    if (m == 1) { jk_mix_tiled_avx2(state, p, v, scales, n, hd, start, load); return; }
    float wide[JK_WIDE_FLOATS];
    const int block = jk_wide_block_rows(hd);
    for (int j0 = 0; j0 < n; j0 += block) {
        const int rows = n - j0 < block ? n - j0 : block;
        jk_widen_rows(v, scales, j0, rows, hd, wide, load);
        for (int i = 0; i < m; i++)
            jk_mix_tiled_avx2(state + (size_t)i * 64 * hd, p + (size_t)i * stride + j0, wide, NULL, rows, hd, start + j0, jk_fp32_values);
    }
}
#endif

#endif
