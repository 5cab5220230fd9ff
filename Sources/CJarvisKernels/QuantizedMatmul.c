// Matrix products on quantized weight blocks, read in place from the model file.
//
// Activations are quantized per 32-value block to 8 bits (Q8_0 / Q8_1) and each output is an
// integer dot product per block, scaled and accumulated in float. The accumulation follows
// llama.cpp's x86 kernels exactly — eight float lanes, lane i holding the products of elements
// 4i..4i+3 of every block, fused multiply-add across blocks, then a fixed pairwise reduction —
// so every output is bit-identical to llama.cpp's and greedy decoding agrees token for token.
// The integer parts are exact in any order; only this float order matters, and it is kept by
// the portable code as well as by the AVX2 and AVX-512 VNNI paths.
#include "CJarvisKernels.h"
#include "Reductions.h"
#include "MatmulKernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct { uint16_t d, m; uint8_t qs[16]; } blk_q4_1;
typedef struct { uint16_t d; uint8_t qs[16]; } blk_q4_0;
typedef struct { uint16_t d; int8_t qs[32]; } blk_q8_0;

_Static_assert(sizeof(blk_q4_1) == 20, "q4_1 block");
_Static_assert(sizeof(blk_q4_0) == 18, "q4_0 block");
_Static_assert(sizeof(blk_q8_0) == 34, "q8_0 block");
_Static_assert(sizeof(jk_block_q8) == 40, "q8 activation block");

// ---- activation quantization ------------------------------------------------------------------

void jk_quantize_q8(const float *x, jk_block_q8 *y, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) { float a = fabsf(x[j]); if (a > amax) amax = a; }
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int q = (int)nearbyintf(x[j] * id);
            y[b].qs[j] = (int8_t)q;
            sum += q;
        }
        y[b].d = jk_fp16_to_fp32(jk_fp32_to_fp16(d));
        y[b].s = jk_fp16_to_fp32(jk_fp32_to_fp16(d * (float)sum));
    }
}

// ---- portable dot products (the reference for the vector paths) ------------------------------

static float dot_q4_1_portable(const blk_q4_1 *x, const jk_block_q8 *y, int nb) {
    float acc[8] = {0};
    float summs = 0.0f;
    for (int b = 0; b < nb; b++) {
        const float d0 = jk_fp16_to_fp32(x[b].d), d1 = y[b].d;
        summs = fmaf(jk_fp16_to_fp32(x[b].m), y[b].s, summs);
        const float d0d1 = d0 * d1;
        for (int l = 0; l < 8; l++) {
            int s = 0;
            for (int e = 4 * l; e < 4 * l + 4; e++) {
                int q = e < 16 ? (x[b].qs[e] & 0x0F) : (x[b].qs[e - 16] >> 4);
                s += q * y[b].qs[e];
            }
            acc[l] = fmaf(d0d1, (float)s, acc[l]);
        }
    }
    return jk_reduce8(acc) + summs;
}

static float dot_q4_0_portable(const blk_q4_0 *x, const jk_block_q8 *y, int nb) {
    float acc[8] = {0};
    for (int b = 0; b < nb; b++) {
        const float d = jk_fp16_to_fp32(x[b].d) * y[b].d;
        for (int l = 0; l < 8; l++) {
            int s = 0;
            for (int e = 4 * l; e < 4 * l + 4; e++) {
                int q = (e < 16 ? (x[b].qs[e] & 0x0F) : (x[b].qs[e - 16] >> 4)) - 8;
                s += q * y[b].qs[e];
            }
            acc[l] = fmaf(d, (float)s, acc[l]);
        }
    }
    return jk_reduce8(acc);
}

static float dot_q8_0_portable(const blk_q8_0 *x, const jk_block_q8 *y, int nb) {
    float acc[8] = {0};
    for (int b = 0; b < nb; b++) {
        const float d = jk_fp16_to_fp32(x[b].d) * y[b].d;
        for (int l = 0; l < 8; l++) {
            int s = 0;
            for (int e = 4 * l; e < 4 * l + 4; e++) s += x[b].qs[e] * y[b].qs[e];
            acc[l] = fmaf(d, (float)s, acc[l]);
        }
    }
    return jk_reduce8(acc);
}

// ---- AVX2 (+ optional AVX-512 VNNI) ----------------------------------------------------------

#if defined(__x86_64__)
#define TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TARGET_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))

TARGET_AVX2 static inline __m256i unpack_nibbles(const uint8_t *qs) {
    const __m128i t = _mm_loadu_si128((const __m128i *)qs);
    const __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(_mm256_set1_epi8(0x0F), b);
}

// Sums of four adjacent u8×i8 products into eight int32 lanes, as floats (exact).
TARGET_AVX2 static inline __m256 dot_u8i8_avx2(__m256i u, __m256i s) {
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_set1_epi16(1), _mm256_maddubs_epi16(u, s)));
}
TARGET_VNNI static inline __m256 dot_u8i8_vnni(__m256i u, __m256i s) {
    return _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s));
}
// i8×i8: make the left operand unsigned and move its sign to the right one.
TARGET_AVX2 static inline __m256 dot_i8i8_avx2(__m256i a, __m256i b) {
    return dot_u8i8_avx2(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}
TARGET_VNNI static inline __m256 dot_i8i8_vnni(__m256i a, __m256i b) {
    return dot_u8i8_vnni(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

// Rows × tokens, with tokens in tiles of four so each unpacked weight block is reused.
#define DEFINE_Q4_1(NAME, TARGET, DOT)                                                            \
TARGET static void NAME(const uint8_t *w, int64_t row_bytes, int nb, const void *xv,             \
                        int n, float *y, int64_t ldy, int r0, int r1) {                          \
    const jk_block_q8 *x = (const jk_block_q8 *)xv;                                              \
    for (int t0 = 0; t0 < n; t0 += 4) {                                                          \
        const int tn = n - t0 < 4 ? n - t0 : 4;                                                  \
        for (int r = r0; r < r1; r++) {                                                          \
            const blk_q4_1 *row = (const blk_q4_1 *)(w + (int64_t)r * row_bytes);               \
            __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() }; \
            float summs[4] = {0, 0, 0, 0};                                                       \
            for (int b = 0; b < nb; b++) {                                                       \
                const float d0 = _cvtsh_ss(row[b].d), m0 = _cvtsh_ss(row[b].m);                  \
                const __m256i qx = unpack_nibbles(row[b].qs);                                    \
                for (int u = 0; u < tn; u++) {                                                   \
                    const jk_block_q8 *yb = x + (int64_t)(t0 + u) * nb + b;                      \
                    summs[u] = fmaf(m0, yb->s, summs[u]);                                        \
                    const __m256 d0d1 = _mm256_set1_ps(d0 * yb->d);                              \
                    const __m256 xy = DOT(qx, _mm256_loadu_si256((const __m256i *)yb->qs));      \
                    acc[u] = _mm256_fmadd_ps(d0d1, xy, acc[u]);                                  \
                }                                                                                \
            }                                                                                    \
            for (int u = 0; u < tn; u++) y[(int64_t)(t0 + u) * ldy + r] = jk_reduce8_avx(acc[u]) + summs[u]; \
        }                                                                                        \
    }                                                                                            \
}
DEFINE_Q4_1(mm_q4_1_avx2, TARGET_AVX2, dot_u8i8_avx2)
DEFINE_Q4_1(mm_q4_1_vnni, TARGET_VNNI, dot_u8i8_vnni)

// Symmetric formats (one scale per block, no minimum): Q4_0 and Q8_0 differ only in how a
// block's 32 signed weights are loaded.
#define DEFINE_SYMMETRIC(NAME, TARGET, DOT, BLOCK, LOAD)                                          \
TARGET static void NAME(const uint8_t *w, int64_t row_bytes, int nb, const void *xv,             \
                        int n, float *y, int64_t ldy, int r0, int r1) {                          \
    const jk_block_q8 *x = (const jk_block_q8 *)xv;                                              \
    for (int t0 = 0; t0 < n; t0 += 4) {                                                          \
        const int tn = n - t0 < 4 ? n - t0 : 4;                                                  \
        for (int r = r0; r < r1; r++) {                                                          \
            const BLOCK *row = (const BLOCK *)(w + (int64_t)r * row_bytes);                      \
            __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() }; \
            for (int b = 0; b < nb; b++) {                                                       \
                const float d0 = _cvtsh_ss(row[b].d);                                            \
                const __m256i qx = LOAD(row[b].qs);                                              \
                for (int u = 0; u < tn; u++) {                                                   \
                    const jk_block_q8 *yb = x + (int64_t)(t0 + u) * nb + b;                      \
                    const __m256 d = _mm256_set1_ps(d0 * yb->d);                                 \
                    const __m256 q = DOT(qx, _mm256_loadu_si256((const __m256i *)yb->qs));       \
                    acc[u] = _mm256_fmadd_ps(d, q, acc[u]);                                      \
                }                                                                                \
            }                                                                                    \
            for (int u = 0; u < tn; u++) y[(int64_t)(t0 + u) * ldy + r] = jk_reduce8_avx(acc[u]); \
        }                                                                                        \
    }                                                                                            \
}
TARGET_AVX2 static inline __m256i load_q4_0(const uint8_t *qs) {
    return _mm256_sub_epi8(unpack_nibbles(qs), _mm256_set1_epi8(8));
}
TARGET_AVX2 static inline __m256i load_q8_0(const int8_t *qs) {
    return _mm256_loadu_si256((const __m256i *)qs);
}
DEFINE_SYMMETRIC(mm_q4_0_avx2, TARGET_AVX2, dot_i8i8_avx2, blk_q4_0, load_q4_0)
DEFINE_SYMMETRIC(mm_q4_0_vnni, TARGET_VNNI, dot_i8i8_vnni, blk_q4_0, load_q4_0)
DEFINE_SYMMETRIC(mm_q8_0_avx2, TARGET_AVX2, dot_i8i8_avx2, blk_q8_0, load_q8_0)
DEFINE_SYMMETRIC(mm_q8_0_vnni, TARGET_VNNI, dot_i8i8_vnni, blk_q8_0, load_q8_0)
#endif

// ---- portable drivers -------------------------------------------------------------------------

static void mm_q4_1_portable(const uint8_t *w, int64_t row_bytes, int nb, const void *xv,
                             int n, float *y, int64_t ldy, int r0, int r1) {
    const jk_block_q8 *x = (const jk_block_q8 *)xv;
    for (int t = 0; t < n; t++)
        for (int r = r0; r < r1; r++)
            y[(int64_t)t * ldy + r] = dot_q4_1_portable((const blk_q4_1 *)(w + (int64_t)r * row_bytes), x + (int64_t)t * nb, nb);
}
static void mm_q4_0_portable(const uint8_t *w, int64_t row_bytes, int nb, const void *xv,
                             int n, float *y, int64_t ldy, int r0, int r1) {
    const jk_block_q8 *x = (const jk_block_q8 *)xv;
    for (int t = 0; t < n; t++)
        for (int r = r0; r < r1; r++)
            y[(int64_t)t * ldy + r] = dot_q4_0_portable((const blk_q4_0 *)(w + (int64_t)r * row_bytes), x + (int64_t)t * nb, nb);
}
static void mm_q8_0_portable(const uint8_t *w, int64_t row_bytes, int nb, const void *xv,
                             int n, float *y, int64_t ldy, int r0, int r1) {
    const jk_block_q8 *x = (const jk_block_q8 *)xv;
    for (int t = 0; t < n; t++)
        for (int r = r0; r < r1; r++)
            y[(int64_t)t * ldy + r] = dot_q8_0_portable((const blk_q8_0 *)(w + (int64_t)r * row_bytes), x + (int64_t)t * nb, nb);
}

static jk_mm_fn impl_q4_1 = mm_q4_1_portable, impl_q4_0 = mm_q4_0_portable, impl_q8_0 = mm_q8_0_portable;
static jk_mm_fn impl_q4_K, impl_q6_K;

int jk_select_matmul_kernels(int level) {
    // level: 0 portable, 1 AVX2, 2 AVX-512 VNNI (each only if the CPU has it)
#if defined(__x86_64__)
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int vnni = avx2 && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    impl_q4_K = jk_kquant_kernel(JK_TYPE_Q4_K, level >= 1 && avx2);
    impl_q6_K = jk_kquant_kernel(JK_TYPE_Q6_K, level >= 1 && avx2);
    if (level >= 2 && vnni) {
        impl_q4_1 = mm_q4_1_vnni; impl_q4_0 = mm_q4_0_vnni; impl_q8_0 = mm_q8_0_vnni;
        return 2;
    }
    if (level >= 1 && avx2) {
        impl_q4_1 = mm_q4_1_avx2; impl_q4_0 = mm_q4_0_avx2; impl_q8_0 = mm_q8_0_avx2;
        return 1;
    }
#endif
    (void)level;
    impl_q4_K = jk_kquant_kernel(JK_TYPE_Q4_K, 0);
    impl_q6_K = jk_kquant_kernel(JK_TYPE_Q6_K, 0);
    impl_q4_1 = mm_q4_1_portable; impl_q4_0 = mm_q4_0_portable; impl_q8_0 = mm_q8_0_portable;
    return 0;
}

int jk_activation_format(int type) {
    switch (type) {
    case JK_TYPE_Q4_0: case JK_TYPE_Q4_1: case JK_TYPE_Q8_0: return JK_ACTIVATIONS_Q8;
    case JK_TYPE_Q4_K: case JK_TYPE_Q6_K: return JK_ACTIVATIONS_Q8K;
    default: return JK_ACTIVATIONS_NONE;
    }
}

// Bytes of one row of `cols` weights, and the weights per block, for the kernel types.
static int64_t row_bytes(int type, int cols) {
    switch (type) {
    case JK_TYPE_Q4_1: return (int64_t)cols / 32 * 20;
    case JK_TYPE_Q4_0: return (int64_t)cols / 32 * 18;
    case JK_TYPE_Q8_0: return (int64_t)cols / 32 * 34;
    case JK_TYPE_Q4_K: return (int64_t)cols / 256 * 144;
    default: return (int64_t)cols / 256 * 210;     // Q6_K
    }
}

// ---- threaded driver ----------------------------------------------------------------------------

typedef struct {
    jk_mm_fn fn;
    const uint8_t *w;
    int64_t row_bytes;
    int nb, n, rows, chunk;
    const void *x;
    float *y;
    int64_t ldy;
} mm_job;

static void mm_task(void *ctx, int task) {
    const mm_job *j = (const mm_job *)ctx;
    int r0 = task * j->chunk, r1 = r0 + j->chunk;
    if (r1 > j->rows) r1 = j->rows;
    if (r0 < r1) j->fn(j->w, j->row_bytes, j->nb, j->x, j->n, j->y, j->ldy, r0, r1);
}

void jk_matmul_quantized(int type, const void *w, int rows, int cols, const void *x, int n, float *y, int64_t ldy) {
    if (!impl_q4_K) jk_select_matmul_kernels(2);
    mm_job j;
    switch (type) {
    case JK_TYPE_Q4_1: j.fn = impl_q4_1; break;
    case JK_TYPE_Q4_0: j.fn = impl_q4_0; break;
    case JK_TYPE_Q8_0: j.fn = impl_q8_0; break;
    case JK_TYPE_Q4_K: j.fn = impl_q4_K; break;
    default: j.fn = impl_q6_K; break;
    }
    j.w = (const uint8_t *)w;
    j.nb = jk_activation_format(type) == JK_ACTIVATIONS_Q8K ? cols / 256 : cols / 32;
    j.row_bytes = row_bytes(type, cols);
    j.n = n; j.rows = rows; j.x = x; j.y = y; j.ldy = ldy;
    // Rows in chunks of 16 (cache lines of output), several chunks per thread for balance.
    int threads = jk_pool_threads();
    int tasks = threads == 1 ? 1 : threads * 8;
    j.chunk = (rows + tasks - 1) / tasks;
    j.chunk = (j.chunk + 15) / 16 * 16;
    tasks = (rows + j.chunk - 1) / j.chunk;
    jk_parallel(mm_task, &j, tasks);
}
