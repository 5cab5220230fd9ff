// The retriever's scan: one int8 dot product per stored vector. Integer sums are exact, so the
// portable and AVX2 paths agree to the bit.
#include "CJarvisKernels.h"

static void dot_i8_portable(const int8_t *rows, int64_t n, int dim, const int8_t *q, int32_t *out) {
    for (int64_t j = 0; j < n; j++) {
        const int8_t *r = rows + j * dim;
        int32_t acc = 0;
        for (int d = 0; d < dim; d++) acc += (int32_t)r[d] * (int32_t)q[d];
        out[j] = acc;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

// |q| as unsigned bytes times r with q's sign moved onto it: maddubs adds pairs of products
// into int16 (|127 × 127| × 2 fits), madd widens them to int32.
__attribute__((target("avx2")))
static void dot_i8_avx2(const int8_t *rows, int64_t n, int dim, const int8_t *q, int32_t *out) {
    const int wide = dim / 32 * 32;
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t j = 0; j < n; j++) {
        const int8_t *r = rows + j * dim;
        __m256i acc = _mm256_setzero_si256();
        for (int d = 0; d < wide; d += 32) {
            const __m256i qv = _mm256_loadu_si256((const __m256i *)(q + d));
            const __m256i rv = _mm256_loadu_si256((const __m256i *)(r + d));
            const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(qv, qv), _mm256_sign_epi8(rv, qv));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
        }
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
        int32_t total = _mm_cvtsi128_si32(s);
        for (int d = wide; d < dim; d++) total += (int32_t)r[d] * (int32_t)q[d];
        out[j] = total;
    }
}
#endif

static _Atomic int use_avx2 = -1;

void jk_select_vector_search_kernels(int level) {
    use_avx2 = level == 0 ? 0 : -1;
}

static void dot_i8(const int8_t *rows, int64_t n, int dim, const int8_t *q, int32_t *out) {
#if defined(__x86_64__)
    if (use_avx2 < 0) { __builtin_cpu_init(); use_avx2 = __builtin_cpu_supports("avx2"); }
    if (use_avx2) { dot_i8_avx2(rows, n, dim, q, out); return; }
#endif
    dot_i8_portable(rows, n, dim, q, out);
}

struct dot_task { const int8_t *rows; int64_t n; int dim; const int8_t *q; int32_t *out; int tasks; };

static void dot_part(void *ctx, int t) {
    const struct dot_task *d = ctx;
    const int64_t first = d->n * t / d->tasks, last = d->n * (t + 1) / d->tasks;
    dot_i8(d->rows + first * d->dim, last - first, d->dim, d->q, d->out + first);
}

void jk_dot_i8_rows(const int8_t *rows, int64_t n, int dim, const int8_t *q, int32_t *out) {
    // Large scans are shared among the compute threads; each row's sum is the same either way.
    const int threads = jk_pool_threads();
    if (n < 8192 || threads < 2) { dot_i8(rows, n, dim, q, out); return; }
    struct dot_task d = { rows, n, dim, q, out, threads };
    jk_parallel(dot_part, &d, threads);
}
