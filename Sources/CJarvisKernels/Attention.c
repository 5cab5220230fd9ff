// Attention inner loops over fp16 K/V rows, read where they lie (the live cache, or later the
// LMDB pages), widened to fp32 inside the loop.
//
// The arithmetic follows llama.cpp's CPU attention (non-flash path), which multiplies the fp16
// cache with fp16-rounded queries and fp16-rounded attention weights. Callers round q and the
// weights (jk_round_fp16); these loops keep llama.cpp's summation order, so results are
// bit-identical. llama.cpp uses two orders, chosen by the number of query rows in the batch:
//  - JK_ORDER_TILED (two or more rows, its tiled GEMM): element e of a dot product goes to lane
//    e % 16, lanes accumulate by FMA, then a fixed 16-to-1 reduction;
//  - JK_ORDER_VECTOR (one row, its fp16 dot product): element e goes to accumulator
//    (e % 64) / 16, lane e % 16; the four accumulators are added pairwise, then the same
//    16-to-1 reduction.
// Dot products along positions (the weighted sum of V) treat the row as zero-padded to a
// multiple of 64, as llama.cpp's padded cache is; zero weights leave every lane unchanged.
#include "CJarvisKernels.h"
#include "Reductions.h"
#include "AttentionTiled.h"
#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static void scores_portable(const float *q, int m, const uint16_t *k, int n, int hd, float scale, float *s, int stride, int order) {
    for (int i = 0; i < m; i++, q += hd, s += stride) {
        for (int j = 0; j < n; j++) {
            const uint16_t *row = k + (size_t)j * hd;
            float acc[64] = {0}, lanes[16];
            for (int e = 0; e < hd; e++) acc[jk_slot(e, order)] = fmaf(jk_fp16_to_fp32(row[e]), q[e], acc[jk_slot(e, order)]);
            if (order == JK_ORDER_TILED) for (int l = 0; l < 16; l++) lanes[l] = acc[l]; else jk_fold64(acc, lanes);
            s[j] = jk_reduce16(lanes) * scale;
        }
    }
}

// The weighted sum of V is kept in a caller-owned state of 64 slots × head_dim floats, so that
// rows from several places (a cached prefix, stored entries, the live cache) add up in one
// order, as if they were one row: slot of position j is slot(start + j).
static void mix_rows_portable(float *state, int m, const float *p, int stride, const uint16_t *v, int n, int hd, int start, int order) {
    for (int i = 0; i < m; i++, state += (size_t)64 * hd, p += stride) {
        for (int j = 0; j < n; j++) {
            const uint16_t *row = v + (size_t)j * hd;
            const float w = p[j];
            float *a = state + (size_t)jk_slot(start + j, order) * hd;
            for (int d = 0; d < hd; d++) a[d] = fmaf(jk_fp16_to_fp32(row[d]), w, a[d]);
        }
    }
}

void jk_attn_mix_begin(float *state, int head_dim) {
    for (int i = 0; i < 64 * head_dim; i++) state[i] = 0.0f;
}

static void mix_end_portable(const float *state, int hd, float *out, int order) {
    for (int d = 0; d < hd; d++) {
        float all[64], lanes[16];
        for (int i = 0; i < 64; i++) all[i] = state[(size_t)i * hd + d];
        if (order == JK_ORDER_TILED) for (int i = 0; i < 16; i++) lanes[i] = all[i]; else jk_fold64(all, lanes);
        out[d] = jk_reduce16(lanes);
    }
}

#if defined(__x86_64__)
#define TARGET __attribute__((target("avx2,fma,f16c")))

TARGET static inline __m256 fp16_values(const void *rows, const void *scales, int j, int d, int hd) {
    (void)scales;
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)rows + (size_t)j * hd + d)));
}

TARGET static void scores_avx2(const float *q, int m, const uint16_t *k, int n, int hd, float scale, float *s, int stride, int order) {
    if (order == JK_ORDER_VECTOR) {
        if (hd % 64 != 0) { scores_portable(q, m, k, n, hd, scale, s, stride, order); return; }
        for (int i = 0; i < m; i++) jk_scores_vector_avx2(q + (size_t)i * hd, k, NULL, n, hd, scale, s + (size_t)i * stride, fp16_values);
        return;
    }
    jk_scores_tiled_avx2(q, m, k, NULL, n, hd, scale, s, stride, fp16_values);
}

// The tiled order sums each query's rows in registers (jk_mix_tiled_avx2); the vector order
// spreads them over 64 slots, added in place.
TARGET static void mix_rows_avx2(float *state, int m, const float *p, int stride, const uint16_t *v, int n, int hd, int start, int order) {
    for (int i = 0; i < m; i++, state += (size_t)64 * hd, p += stride) {
        if (order == JK_ORDER_TILED) { jk_mix_tiled_avx2(state, p, v, NULL, n, hd, start, fp16_values); continue; }
        jk_mix_rows_one_by_one(state, p, v, NULL, 0, n, hd, start, 64, fp16_values);
    }
}

// jk_attn_mix_end for eight dimensions at once: the slots of a dimension are added in the same
// order as the portable loop, one lane per dimension, so each output has the same bits.
TARGET static void mix_end_avx2(const float *state, int hd, float *out, int order) {
    if (hd % 8 != 0) { mix_end_portable(state, hd, out, order); return; }
    for (int d = 0; d < hd; d += 8) {
        __m256 lanes[16];
        for (int i = 0; i < 16; i++) {
            const float *slot = state + (size_t)i * hd + d;
            if (order == JK_ORDER_TILED) { lanes[i] = _mm256_loadu_ps(slot); continue; }
            lanes[i] = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(slot), _mm256_loadu_ps(slot + (size_t)32 * hd)),
                                     _mm256_add_ps(_mm256_loadu_ps(slot + (size_t)16 * hd), _mm256_loadu_ps(slot + (size_t)48 * hd)));
        }
        __m256 t3[8], t6[4];
        for (int i = 0; i < 8; i++) t3[i] = _mm256_add_ps(lanes[8 + i], lanes[i]);
        for (int i = 0; i < 4; i++) t6[i] = _mm256_add_ps(t3[4 + i], t3[i]);
        _mm256_storeu_ps(out + d, _mm256_add_ps(_mm256_add_ps(t6[0], t6[2]), _mm256_add_ps(t6[1], t6[3])));
    }
}
#endif

static void (*scores_impl)(const float *, int, const uint16_t *, int, int, float, float *, int, int) = scores_portable;
static void (*mix_rows_impl)(float *, int, const float *, int, const uint16_t *, int, int, int, int) = mix_rows_portable;
static void (*mix_end_impl)(const float *, int, float *, int) = mix_end_portable;

int jk_select_attention_kernels(int level) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (level >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        scores_impl = scores_avx2;
        mix_rows_impl = mix_rows_avx2;
        mix_end_impl = mix_end_avx2;
        return 1;
    }
#endif
    (void)level;
    scores_impl = scores_portable;
    mix_rows_impl = mix_rows_portable;
    mix_end_impl = mix_end_portable;
    return 0;
}

void jk_attn_scores_f16(const float *q, int m, const uint16_t *k, int n, int head_dim, float scale, float *scores, int stride, int order) {
    scores_impl(q, m, k, n, head_dim, scale, scores, stride, order);
}

void jk_attn_mix_rows(float *state, int m, const float *p, int stride, const uint16_t *v, int n, int head_dim, int start, int order) {
    mix_rows_impl(state, m, p, stride, v, n, head_dim, start, order);
}

void jk_attn_mix_end(const float *state, int head_dim, float *out, int order) {
    mix_end_impl(state, head_dim, out, order);
}

void jk_attn_accumulate_f16(const float *p, const uint16_t *v, int n, int head_dim, float *out, int order) {
    static _Thread_local float state[64 * 256];
    jk_attn_mix_begin(state, head_dim);
    mix_rows_impl(state, 1, p, n, v, n, head_dim, 0, order);
    jk_attn_mix_end(state, head_dim, out, order);
}
