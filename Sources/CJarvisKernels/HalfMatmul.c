// Matrix products on F16 and BF16 weights, read in place from the model file.
//
// The activations arrive as floats already rounded to the weight's 16-bit format (ggml's
// vec_dot_type for these types), so every product w·x is exact in float and only the order of
// the sums matters. Both paths keep llama.cpp's x86 order for F16 (so F16 results are its bits):
// four accumulators of eight lanes over each 32 values, then (a0 + a2) + (a1 + a3), the two
// 128-bit halves, and two horizontal adds. BF16 uses the same order, which is close to, not
// equal to, llama.cpp's. Rows must hold a multiple of 32 values.
#include "CJarvisKernels.h"
#include "MatmulKernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static inline float bf16_to_fp32(uint16_t h) {
    const uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// ---- portable -----------------------------------------------------------------------------------

static float reduce32(const float acc[32]) {
    float a[8], t[4];
    for (int i = 0; i < 8; i++) a[i] = (acc[i] + acc[16 + i]) + (acc[8 + i] + acc[24 + i]);
    for (int i = 0; i < 4; i++) t[i] = a[i] + a[4 + i];
    return (t[0] + t[1]) + (t[2] + t[3]);
}

static void mm_half_portable(float (*widen)(uint16_t), const uint8_t *w, int64_t row_bytes, int nb,
                             const float *x, int n, float *y, int64_t ldy, int r0, int r1) {
    const int cols = nb * 32;
    for (int t = 0; t < n; t++) {
        const float *xt = x + (int64_t)t * cols;
        for (int r = r0; r < r1; r++) {
            const uint16_t *row = (const uint16_t *)(w + (int64_t)r * row_bytes);
            float acc[32] = {0};
            for (int c = 0; c < cols; c += 32)
                for (int i = 0; i < 32; i++) acc[i] = fmaf(widen(row[c + i]), xt[c + i], acc[i]);
            y[(int64_t)t * ldy + r] = reduce32(acc);
        }
    }
}

static void mm_f16_portable(const uint8_t *w, int64_t row_bytes, int nb, const void *x,
                            int n, float *y, int64_t ldy, int r0, int r1) {
    mm_half_portable(jk_fp16_to_fp32, w, row_bytes, nb, (const float *)x, n, y, ldy, r0, r1);
}
static void mm_bf16_portable(const uint8_t *w, int64_t row_bytes, int nb, const void *x,
                             int n, float *y, int64_t ldy, int r0, int r1) {
    mm_half_portable(bf16_to_fp32, w, row_bytes, nb, (const float *)x, n, y, ldy, r0, r1);
}

// ---- AVX2 ---------------------------------------------------------------------------------------

#if defined(__x86_64__)
#define TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))

TARGET_AVX2 static inline __m256 load_f16(const uint16_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}
TARGET_AVX2 static inline __m256 load_bf16(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}
TARGET_AVX2 static inline float reduce_avx2(const __m256 acc[4]) {
    const __m256 a = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3]));
    const __m128 t = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    const __m128 h = _mm_hadd_ps(t, t);
    return _mm_cvtss_f32(_mm_hadd_ps(h, h));
}

// One row times TN tokens (a constant, so the accumulators stay in registers).
#define DEFINE_TILE(NAME, LOAD, TN)                                                                 \
TARGET_AVX2 static void NAME(const uint16_t *row, const float *x, int cols, float *out) {         \
    __m256 acc[TN][4];                                                                            \
    for (int u = 0; u < TN; u++) for (int k = 0; k < 4; k++) acc[u][k] = _mm256_setzero_ps();     \
    for (int c = 0; c < cols; c += 32) {                                                          \
        for (int k = 0; k < 4; k++) {                                                             \
            const __m256 wk = LOAD(row + c + 8 * k);                                              \
            for (int u = 0; u < TN; u++)                                                          \
                acc[u][k] = _mm256_fmadd_ps(wk, _mm256_loadu_ps(x + (int64_t)u * cols + c + 8 * k), acc[u][k]); \
        }                                                                                         \
    }                                                                                             \
    for (int u = 0; u < TN; u++) out[u] = reduce_avx2(acc[u]);                                    \
}

// Rows × tokens, tokens in tiles of up to four so each loaded weight serves them all.
#define DEFINE_HALF(T, LOAD)                                                                        \
DEFINE_TILE(tile1_##T, LOAD, 1)                                                                   \
DEFINE_TILE(tile2_##T, LOAD, 2)                                                                   \
DEFINE_TILE(tile3_##T, LOAD, 3)                                                                   \
DEFINE_TILE(tile4_##T, LOAD, 4)                                                                   \
TARGET_AVX2 static void mm_##T##_avx2(const uint8_t *w, int64_t row_bytes, int nb, const void *xv, \
                                      int n, float *y, int64_t ldy, int r0, int r1) {             \
    const int cols = nb * 32;                                                                     \
    for (int t0 = 0; t0 < n; t0 += 4) {                                                           \
        const int tn = n - t0 < 4 ? n - t0 : 4;                                                   \
        const float *x = (const float *)xv + (int64_t)t0 * cols;                                  \
        for (int r = r0; r < r1; r++) {                                                           \
            const uint16_t *row = (const uint16_t *)(w + (int64_t)r * row_bytes);                 \
            float out[4];                                                                         \
            switch (tn) {                                                                         \
            case 1: tile1_##T(row, x, cols, out); break;                                          \
            case 2: tile2_##T(row, x, cols, out); break;                                          \
            case 3: tile3_##T(row, x, cols, out); break;                                          \
            default: tile4_##T(row, x, cols, out); break;                                         \
            }                                                                                     \
            for (int u = 0; u < tn; u++) y[(int64_t)(t0 + u) * ldy + r] = out[u];                 \
        }                                                                                         \
    }                                                                                             \
}
DEFINE_HALF(f16, load_f16)
DEFINE_HALF(bf16, load_bf16)
#endif

jk_mm_fn jk_half_kernel(int type, int level) {
#if defined(__x86_64__)
    if (level >= 1) return type == JK_TYPE_F16 ? mm_f16_avx2 : mm_bf16_avx2;
#endif
    (void)level;
    return type == JK_TYPE_F16 ? mm_f16_portable : mm_bf16_portable;
}
