// The retriever's scans: one int8 dot product per stored vector, or per sign-bit row for the
// prefilter of a large index, and the fp16 cosines of its candidates. Integer sums are exact,
// and the fp16 products add in one fixed order, so the portable and AVX2 paths agree to the bit.
#include "CJarvisKernels.h"
#include "CPUFeatures.h"
#include <math.h>

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

// Σ q[d] over the dims whose sign bit is set (bit d%8 of byte d/8, rows padded to 32 dims).
static void sign_dot_portable(const uint8_t *bits, int64_t n, int dim, const int8_t *q, int32_t *out) {
    const int row = jk_sign_row_bytes(dim);
    for (int64_t j = 0; j < n; j++) {
        const uint8_t *b = bits + j * row;
        int32_t acc = 0;
        for (int d = 0; d < dim; d++) if (b[d >> 3] >> (d & 7) & 1) acc += q[d];
        out[j] = acc;
    }
}

#if defined(__x86_64__)
// Each byte of q is kept where its bit is set: the four bytes of 32 bits are spread over the 32
// lanes (pshufb), tested against each lane's own bit, and the kept bytes summed in int16 pairs
// (a row of 384 dims sums at most 12 × 254 per pair, within int16).
__attribute__((target("avx2")))
static void sign_dot_avx2(const uint8_t *bits, int64_t n, int dim, const int8_t *q, int32_t *out) {
    const int row = jk_sign_row_bytes(dim), blocks = dim / 32;
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i lane_bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    if (blocks > 64) { sign_dot_portable(bits, n, dim, q, out); return; }  // int16 sums would not hold
    for (int64_t j = 0; j < n; j++) {
        const uint8_t *b = bits + j * row;
        __m256i acc = _mm256_setzero_si256();
        for (int k = 0; k < blocks; k++) {
            uint32_t word;
            __builtin_memcpy(&word, b + 4 * k, 4);
            __m256i m = _mm256_shuffle_epi8(_mm256_set1_epi32((int)word), spread);
            m = _mm256_cmpeq_epi8(_mm256_and_si256(m, lane_bit), lane_bit);
            const __m256i kept = _mm256_and_si256(m, _mm256_loadu_si256((const __m256i *)(q + 32 * k)));
            acc = _mm256_add_epi16(acc, _mm256_maddubs_epi16(ones8, kept));
        }
        acc = _mm256_madd_epi16(acc, ones16);
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
        int32_t total = _mm_cvtsi128_si32(s);
        for (int d = blocks * 32; d < dim; d++) if (b[d >> 3] >> (d & 7) & 1) total += q[d];
        out[j] = total;
    }
}
#endif

// fp16 row · fp32 query in 8 lanes of fused multiply-adds, lanes then tail added in order.
static float dot_f16_portable(const uint16_t *r, const float *q, int dim) {
    float lane[8] = { 0 };
    const int wide = dim / 8 * 8;
    for (int d = 0; d < wide; d += 8)
        for (int l = 0; l < 8; l++) lane[l] = fmaf(jk_fp16_to_fp32(r[d + l]), q[d + l], lane[l]);
    float s = 0;
    for (int l = 0; l < 8; l++) s += lane[l];
    for (int d = wide; d < dim; d++) s = fmaf(jk_fp16_to_fp32(r[d]), q[d], s);
    return s;
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma,f16c")))
static float dot_f16_avx2(const uint16_t *r, const float *q, int dim) {
    __m256 acc = _mm256_setzero_ps();
    const int wide = dim / 8 * 8;
    for (int d = 0; d < wide; d += 8)
        acc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + d))), _mm256_loadu_ps(q + d), acc);
    float lane[8];
    _mm256_storeu_ps(lane, acc);
    float s = 0;
    for (int l = 0; l < 8; l++) s += lane[l];
    for (int d = wide; d < dim; d++) s = fmaf(jk_fp16_to_fp32(r[d]), q[d], s);
    return s;
}
#endif

static _Atomic int use_avx2 = -1;

void jk_select_vector_search_kernels(int level) {
    use_avx2 = level == 0 ? 0 : -1;
}

static int avx2(void) {
    if (use_avx2 < 0) use_avx2 = jk_cpu_avx2_fma_f16c();
    return use_avx2;
}

static void dot_i8(const int8_t *rows, int64_t n, int dim, const int8_t *q, int32_t *out) {
#if defined(__x86_64__)
    if (avx2()) { dot_i8_avx2(rows, n, dim, q, out); return; }
#endif
    dot_i8_portable(rows, n, dim, q, out);
}

static void sign_dot(const uint8_t *bits, int64_t n, int dim, const int8_t *q, int32_t *out) {
#if defined(__x86_64__)
    if (avx2()) { sign_dot_avx2(bits, n, dim, q, out); return; }
#endif
    sign_dot_portable(bits, n, dim, q, out);
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

struct sign_task { const uint8_t *bits; int64_t n; int dim; const int8_t *q; int32_t *out; int tasks; };

static void sign_part(void *ctx, int t) {
    const struct sign_task *d = ctx;
    const int64_t first = d->n * t / d->tasks, last = d->n * (t + 1) / d->tasks;
    sign_dot(d->bits + first * jk_sign_row_bytes(d->dim), last - first, d->dim, d->q, d->out + first);
}

int jk_sign_row_bytes(int dim) { return (dim + 31) / 32 * 4; }

static void sign_bits_portable(const int8_t *codes, int64_t n, int dim, uint8_t *bits) {
    const int row = jk_sign_row_bytes(dim);
    for (int64_t j = 0; j < n; j++) {
        uint8_t *b = bits + j * row;
        for (int k = 0; k < row; k++) b[k] = 0;
        for (int d = 0; d < dim; d++) if (codes[j * dim + d] > 0) b[d >> 3] |= (uint8_t)(1u << (d & 7));
    }
}

#if defined(__x86_64__)
// 32 codes compared with 0 give 32 mask bytes, whose top bits are the row's 4 sign bytes in order.
__attribute__((target("avx2")))
static void sign_bits_avx2(const int8_t *codes, int64_t n, int dim, uint8_t *bits) {
    const int row = jk_sign_row_bytes(dim), blocks = dim / 32;
    for (int64_t j = 0; j < n; j++) {
        const int8_t *c = codes + j * dim;
        uint8_t *b = bits + j * row;
        for (int k = 0; k < row; k++) b[k] = 0;
        for (int k = 0; k < blocks; k++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(c + 32 * k));
            const uint32_t word = (uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(v, _mm256_setzero_si256()));
            __builtin_memcpy(b + 4 * k, &word, 4);
        }
        for (int d = blocks * 32; d < dim; d++) if (c[d] > 0) b[d >> 3] |= (uint8_t)(1u << (d & 7));
    }
}
#endif

void jk_sign_bits_i8(const int8_t *codes, int64_t n, int dim, uint8_t *bits) {
#if defined(__x86_64__)
    if (avx2()) { sign_bits_avx2(codes, n, dim, bits); return; }
#endif
    sign_bits_portable(codes, n, dim, bits);
}

void jk_sign_dot_rows(const uint8_t *bits, int64_t n, int dim, const int8_t *q, int32_t *out) {
    const int threads = jk_pool_threads();
    if (n < 32768 || threads < 2) { sign_dot(bits, n, dim, q, out); return; }
    struct sign_task d = { bits, n, dim, q, out, threads };
    jk_parallel(sign_part, &d, threads);
}

// Rows named by slots lie scattered over the store's arrays: each row's cache lines are asked
// for a few rows ahead, and long lists are shared among the compute threads.
static void prefetch_row(const void *row, int bytes) {
    for (int b = 0; b < bytes; b += 64) __builtin_prefetch((const char *)row + b);
}

static void dot_i8_slots_range(const int8_t *rows, const int32_t *slots, int64_t first, int64_t last, int dim, const int8_t *q, int32_t *out) {
    for (int64_t i = first; i < last; i++) {
        if (i + 4 < last) prefetch_row(rows + (int64_t)slots[i + 4] * dim, dim);
        dot_i8(rows + (int64_t)slots[i] * dim, 1, dim, q, out + i);
    }
}

static void dot_f16_slots_range(const uint16_t *rows, const int32_t *slots, int64_t first, int64_t last, int dim, const float *q, float *out) {
    const int fast = avx2();
    for (int64_t i = first; i < last; i++) {
        if (i + 4 < last) prefetch_row(rows + (int64_t)slots[i + 4] * dim, dim * 2);
        const uint16_t *r = rows + (int64_t)slots[i] * dim;
#if defined(__x86_64__)
        out[i] = fast ? dot_f16_avx2(r, q, dim) : dot_f16_portable(r, q, dim);
#else
        (void)fast;
        out[i] = dot_f16_portable(r, q, dim);
#endif
    }
}

struct slots_task { const void *rows; const int32_t *slots; int64_t count; int dim; const void *q; void *out; int tasks; int half; };

static void slots_part(void *ctx, int t) {
    const struct slots_task *d = ctx;
    const int64_t first = d->count * t / d->tasks, last = d->count * (t + 1) / d->tasks;
    if (d->half) dot_f16_slots_range(d->rows, d->slots, first, last, d->dim, d->q, d->out);
    else dot_i8_slots_range(d->rows, d->slots, first, last, d->dim, d->q, d->out);
}

static void run_slots(struct slots_task d) {
    const int threads = jk_pool_threads();
    if (d.count < 1024 || threads < 2) { d.tasks = 1; slots_part(&d, 0); return; }
    d.tasks = threads;
    jk_parallel(slots_part, &d, threads);
}

void jk_dot_i8_slots(const int8_t *rows, const int32_t *slots, int64_t count, int dim, const int8_t *q, int32_t *out) {
    run_slots((struct slots_task){ rows, slots, count, dim, q, out, 1, 0 });
}

void jk_dot_f16_slots(const uint16_t *rows, const int32_t *slots, int64_t count, int dim, const float *q, float *out) {
    run_slots((struct slots_task){ rows, slots, count, dim, q, out, 1, 1 });
}

int64_t jk_top_i32(const int32_t *keys, int64_t n, int64_t keep, int32_t *slots) {
    if (n <= 0) return 0;
    int32_t lo = keys[0], hi = keys[0];
    for (int64_t j = 1; j < n; j++) { if (keys[j] < lo) lo = keys[j]; if (keys[j] > hi) hi = keys[j]; }
    // Buckets of equal width, at most 4096 of them (small enough to stay in the L1 cache); the
    // threshold is the bucket where the count from the top first reaches `keep`.
    const int64_t range = (int64_t)hi - lo + 1;
    int shift = 0;
    while ((range >> shift) > 4096) shift++;
    const int64_t buckets = ((range - 1) >> shift) + 1;
    int32_t count[4096] = { 0 };
    for (int64_t j = 0; j < n; j++) count[((int64_t)keys[j] - lo) >> shift]++;
    int64_t b = buckets - 1, above = count[b];
    while (b > 0 && above < keep) above += count[--b];
    int64_t m = 0;
    for (int64_t j = 0; j < n; j++) if ((((int64_t)keys[j] - lo) >> shift) >= b) slots[m++] = (int32_t)j;
    return m;
}
