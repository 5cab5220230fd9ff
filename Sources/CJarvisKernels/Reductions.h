// Horizontal sums in the exact orders llama.cpp's x86 code uses; shared by the kernels that
// must reproduce its results bit for bit. Private to CJarvisKernels.
#ifndef JARVIS_REDUCTIONS_H
#define JARVIS_REDUCTIONS_H

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/// Sum of 16 lanes as GCC expands a 512-bit horizontal add: halves, then quarters, then pairs.
static inline float jk_reduce16(const float a[16]) {
    float t3[8], t6[4];
    for (int i = 0; i < 8; i++) t3[i] = a[8 + i] + a[i];
    for (int i = 0; i < 4; i++) t6[i] = t3[4 + i] + t3[i];
    return (t6[0] + t6[2]) + (t6[1] + t6[3]);
}

/// Sum of 8 lanes as ggml's hsum_float_8: ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)).
static inline float jk_reduce8(const float a[8]) {
    float r0 = a[4] + a[0], r1 = a[5] + a[1], r2 = a[6] + a[2], r3 = a[7] + a[3];
    return (r0 + r2) + (r1 + r3);
}

/// Attention accumulator of element e: 16 lanes for the tiled order, 4 × 16 for the vector order.
static inline int jk_slot(int e, int order) { return order == 0 ? e % 16 : e % 64; }

/// Folds the 64 slots of the vector order into 16 lanes: (s0 + s2) + (s1 + s3).
static inline void jk_fold64(const float a[64], float out[16]) {
    for (int i = 0; i < 16; i++) out[i] = (a[i] + a[32 + i]) + (a[16 + i] + a[48 + i]);
}

#if defined(__x86_64__)
/// jk_reduce8 of a vector. jk_reduce16 of lanes (lo, hi) is jk_reduce8_avx(hi + lo).
__attribute__((target("avx2"))) static inline float jk_reduce8_avx(__m256 x) {
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

/// jk_reduce8_avx of eight vectors at once: lane j of the result is jk_reduce8_avx(x[j]), bit
/// for bit. The same additions in the same pairs, done across vectors after a transposition
/// rather than within each one.
__attribute__((target("avx2"))) static inline __m256 jk_reduce8x8_avx(const __m256 x[8]) {
    __m256 r[4], s[2];
    for (int i = 0; i < 4; i++)   // r[i] = (x[2i] hi + lo, x[2i+1] hi + lo)
        r[i] = _mm256_add_ps(_mm256_permute2f128_ps(x[2 * i], x[2 * i + 1], 0x31), _mm256_permute2f128_ps(x[2 * i], x[2 * i + 1], 0x20));
    for (int i = 0; i < 2; i++)   // pairs (0, 2) and (1, 3) of each
        s[i] = _mm256_add_ps(_mm256_shuffle_ps(r[2 * i], r[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm256_shuffle_ps(r[2 * i], r[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    const __m256 t = _mm256_add_ps(_mm256_shuffle_ps(s[0], s[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm256_shuffle_ps(s[0], s[1], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm256_permutevar8x32_ps(t, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));   // t is (0 2 4 6 1 3 5 7)
}

/// Stores the first `rows` (at most 8) lanes of v at dst: one store, masked for a last partial
/// block (a loop of scalar stores here became a call to memcpy per block).
__attribute__((target("avx2"))) static inline void jk_store_rows_avx(float *dst, __m256 v, int rows) {
    if (rows == 8) { _mm256_storeu_ps(dst, v); return; }
    _mm256_maskstore_ps(dst, _mm256_cmpgt_epi32(_mm256_set1_epi32(rows), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), v);
}
#endif

#endif
