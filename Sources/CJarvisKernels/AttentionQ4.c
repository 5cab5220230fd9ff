// Attention over K/V stored in 4 bits (KIVI's split). Keys are quantized per channel: each of a
// page's head_dim channels has one fp16 scale and minimum shared by all its tokens, because a
// few key channels carry outliers that would swamp a per-row scale. Values are quantized per
// token, in groups of 32 along the row, each with its own fp16 scale and minimum.
//
// Codes are packed two per byte: dimension 2i in the low nibble of byte i, 2i+1 in the high one.
// A key is min[d] + scale[d] · code, so q·k = Σ q[d]·min[d] + Σ (q[d]·scale[d])·code: the query
// is folded with the page's channel parameters once, and each row costs one pass over its codes.
//
// 4-bit rows match no fp16 order bit for bit, so the two orders are this file's own, each the
// same in the portable and the AVX2 loops:
//  - JK_ORDER_VECTOR (one query row: decoding): a row's codes are widened in registers for up to
//    four queries; a score sums byte b of the row in lane b % 8 of two accumulators.
//  - JK_ORDER_TILED (a prefill's many queries): a block of rows is widened once into a small
//    buffer, dimension-major for the keys and row-major for the values, and every query of the
//    call is run over it as a small matrix product. A score is one chain of multiply-adds over
//    the dimensions in order; a weighted sum is one chain per dimension over the rows, with the
//    minima's share Σ_j p_j·min_j summed apart (row j in lane j % 8) and added once.
#include "CJarvisKernels.h"
#include "CPUFeatures.h"
#include "Reductions.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

// A page's channel parameters as floats (hd scales, then hd minimums), widened once per call
// however many queries it scores.
static void widen_channels(const uint16_t *channels, int hd, float *out) {
    for (int d = 0; d < 2 * hd; d++) out[d] = jk_fp16_to_fp32(channels[d]);
}

// The query folded with a page's channel parameters (from widen_channels): even[i] =
// q[2i]·scale[2i], odd[i] = q[2i+1]·scale[2i+1], and the constant Σ q[d]·min[d] every row's
// score starts from.
static float fold_query(const float *q, const float *channels, int hd, float *even, float *odd) {
    float bias = 0;
    for (int i = 0; i < hd / 2; i++) {
        even[i] = q[2 * i] * channels[2 * i];
        odd[i] = q[2 * i + 1] * channels[2 * i + 1];
        bias += q[2 * i] * channels[hd + 2 * i] + q[2 * i + 1] * channels[hd + 2 * i + 1];
    }
    return bias;
}

static void scores_q4_portable(const float *q, int m, const uint8_t *k, const uint16_t *channels, int n, int hd, float scale, float *s,
                               int stride) {
    const int half = hd / 2;
    float wide[2 * hd];
    widen_channels(channels, hd, wide);
    for (int i = 0; i < m; i++, q += hd, s += stride) {
        float even[half], odd[half];
        const float bias = fold_query(q, wide, hd, even, odd);
        // Byte b of a row goes to lane b % 8 of two accumulators (low and high nibbles), as in
        // the AVX2 loop, so both paths give the same bits.
        for (int j = 0; j < n; j++) {
            const uint8_t *row = k + (size_t)j * half;
            float acc0[8] = {0}, acc1[8] = {0}, lanes[8];
            for (int b = 0; b < half; b++) {
                acc0[b % 8] = fmaf((float)(row[b] & 15), even[b], acc0[b % 8]);
                acc1[b % 8] = fmaf((float)(row[b] >> 4), odd[b], acc1[b % 8]);
            }
            for (int l = 0; l < 8; l++) lanes[l] = acc0[l] + acc1[l];
            s[j] = (bias + jk_reduce8(lanes)) * scale;
        }
    }
}

// The weighted sum of a run's values in the vector order. A run is not spread over the 64 slots
// of the state as fp16 rows are: its rows are summed in registers, 32 dimensions at a time, and
// the sum is added once to the slot of its first row.
static void mix_q4_portable(float *state, int m, const float *p, int stride, const uint8_t *v, const uint16_t *groups, int n, int hd,
                            int start) {
    const int nb = hd / 32;
    for (int h = 0; h < m; h++, state += (size_t)64 * hd, p += stride) {
        float *a = state + (size_t)jk_slot(start, JK_ORDER_VECTOR) * hd;
        for (int b = 0; b < nb; b++) {
            float acc[32] = {0};
            for (int j = 0; j < n; j++) {
                const uint8_t *rb = v + (size_t)j * (hd / 2) + 16 * b;
                const uint16_t *g = groups + ((size_t)j * nb + b) * 2;
                const float w = p[j] * jk_fp16_to_fp32(g[0]), base = p[j] * jk_fp16_to_fp32(g[1]);
                for (int i = 0; i < 16; i++) {
                    acc[2 * i] += fmaf(w, (float)(rb[i] & 15), base);
                    acc[2 * i + 1] += fmaf(w, (float)(rb[i] >> 4), base);
                }
            }
            for (int i = 0; i < 32; i++) a[32 * b + i] += acc[i];
        }
    }
}

// ---- the many-query order (JK_ORDER_TILED) ----------------------------------------------------

static inline int code_at(const uint8_t *rows, int j, int d, int hd) {
    const uint8_t byte = rows[(size_t)j * (hd / 2) + d / 2];
    return d % 2 == 0 ? byte & 15 : byte >> 4;
}

// Each query folded with the channels (widened: widen_channels), in dimension order: qf[i·hd + d]
// = q[d]·scale[d]; its constant Σ q[d]·min[d] (fold_query's) in bias[i].
static void fold_queries(const float *q, int m, const float *wide, int hd, float *qf, float *bias) {
    float even[128], odd[128];
    for (int i = 0; i < m; i++) {
        bias[i] = fold_query(q + (size_t)i * hd, wide, hd, even, odd);
        for (int h = 0; h < hd / 2; h++) { qf[(size_t)i * hd + 2 * h] = even[h]; qf[(size_t)i * hd + 2 * h + 1] = odd[h]; }
    }
}

static void scores_q4_rows_portable(const float *q, int m, const uint8_t *k, const uint16_t *channels, int n, int hd, float scale, float *s,
                                    int stride) {
    float *qf = malloc(sizeof(float) * (size_t)m * hd), *bias = malloc(sizeof(float) * (size_t)m), wide[512];
    widen_channels(channels, hd, wide);
    fold_queries(q, m, wide, hd, qf, bias);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            float acc = 0;
            for (int d = 0; d < hd; d++) acc = fmaf(qf[(size_t)i * hd + d], (float)code_at(k, j, d, hd), acc);
            s[(size_t)i * stride + j] = (bias[i] + acc) * scale;
        }
    }
    free(qf);
    free(bias);
}

// Σ_j (p_j·scale_j)·code_j in one chain per dimension, plus the minima's share Σ_j p_j·min_j
// summed in eight lanes (row j in lane j % 8, the last lanes padded with zeros) and reduced,
// added once to the slot of the run's first row.
static void mix_q4_rows_portable(float *state, int m, const float *p, int stride, const uint8_t *v, const uint16_t *groups, int n, int hd,
                                 int start) {
    const int nb = hd / 32;
    for (int i = 0; i < m; i++) {
        float *a = state + (size_t)i * 64 * hd + (size_t)jk_slot(start, JK_ORDER_TILED) * hd;
        for (int b = 0; b < nb; b++) {
            float acc[32] = {0}, lanes[8] = {0};
            for (int j = 0; j < (n + 7) / 8 * 8; j++) {
                const uint16_t *g = groups + ((size_t)j * nb + b) * 2;
                const float pj = j < n ? p[(size_t)i * stride + j] : 0, minimum = j < n ? jk_fp16_to_fp32(g[1]) : 0;
                lanes[j % 8] = fmaf(pj, minimum, lanes[j % 8]);
                if (j >= n) continue;
                const float w = pj * jk_fp16_to_fp32(g[0]);
                for (int e = 0; e < 32; e++) acc[e] = fmaf(w, (float)code_at(v, j, 32 * b + e, hd), acc[e]);
            }
            const float base = jk_reduce8(lanes);
            for (int e = 0; e < 32; e++) a[32 * b + e] += acc[e] + base;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET __attribute__((target("avx2,fma,f16c")))

// Eight codes as floats: the low or high nibbles of 8 bytes.
TARGET static inline __m256 nibbles(__m128i bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)); }

// Queries the vector order scores and mixes in one pass over a run's rows.
enum { Q4_VECTOR_QUERIES = 4 };

// Up to Q4_VECTOR_QUERIES queries: each row's codes are widened once for all of them, and every 8
// rows each query's sums are reduced by one transposition (jk_reduce8x8_avx, the bits of
// jk_reduce8_avx). head_dim is at most 256.
TARGET static inline __attribute__((always_inline))
void scores_q4_group_avx2(const float *q, const int m, const uint8_t *k, const uint16_t *channels, int n, int hd, float scale, float *s,
                          int stride) {
    const int half = hd / 2;
    float even[Q4_VECTOR_QUERIES][128], odd[Q4_VECTOR_QUERIES][128];
    __m256 bias[Q4_VECTOR_QUERIES], folded[Q4_VECTOR_QUERIES][8];
    float wide[512];
    for (int d = 0; d < 2 * hd; d += 8) _mm256_storeu_ps(wide + d, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(channels + d))));
    for (int i = 0; i < m; i++) bias[i] = _mm256_set1_ps(fold_query(q + (size_t)i * hd, wide, hd, even[i], odd[i]));
    const __m256 vscale = _mm256_set1_ps(scale);
    const __m128i mask = _mm_set1_epi8(15);
    for (int j0 = 0; j0 < n; j0 += 8) {
        const int rows = n - j0 < 8 ? n - j0 : 8;
        for (int jj = 0; jj < 8; jj++) {
            if (jj >= rows) { for (int i = 0; i < m; i++) folded[i][jj] = _mm256_setzero_ps(); continue; }
            const uint8_t *row = k + (size_t)(j0 + jj) * half;
            __m256 acc0[Q4_VECTOR_QUERIES], acc1[Q4_VECTOR_QUERIES];
            for (int i = 0; i < m; i++) acc0[i] = acc1[i] = _mm256_setzero_ps();
            for (int b = 0; b < half; b += 8) {
                const __m128i bytes = _mm_loadl_epi64((const __m128i *)(row + b));
                const __m256 lo = nibbles(_mm_and_si128(bytes, mask)), hi = nibbles(_mm_and_si128(_mm_srli_epi16(bytes, 4), mask));
                for (int i = 0; i < m; i++) {
                    acc0[i] = _mm256_fmadd_ps(lo, _mm256_loadu_ps(even[i] + b), acc0[i]);
                    acc1[i] = _mm256_fmadd_ps(hi, _mm256_loadu_ps(odd[i] + b), acc1[i]);
                }
            }
            for (int i = 0; i < m; i++) folded[i][jj] = _mm256_add_ps(acc0[i], acc1[i]);
        }
        for (int i = 0; i < m; i++)
            jk_store_rows_avx(s + (size_t)i * stride + j0, _mm256_mul_ps(_mm256_add_ps(bias[i], jk_reduce8x8_avx(folded[i])), vscale), rows);
    }
}

TARGET static void scores_q4_avx2(const float *q, int m, const uint8_t *k, const uint16_t *channels, int n, int hd, float scale, float *s,
                                  int stride) {
    for (int i = 0; i < m; i += Q4_VECTOR_QUERIES) {
        const float *qi = q + (size_t)i * hd;
        float *si = s + (size_t)i * stride;
        switch (m - i) {   // a constant count, so each query's accumulators stay in registers
        case 1: scores_q4_group_avx2(qi, 1, k, channels, n, hd, scale, si, stride); break;
        case 2: scores_q4_group_avx2(qi, 2, k, channels, n, hd, scale, si, stride); break;
        case 3: scores_q4_group_avx2(qi, 3, k, channels, n, hd, scale, si, stride); break;
        default: scores_q4_group_avx2(qi, Q4_VECTOR_QUERIES, k, channels, n, hd, scale, si, stride); break;
        }
    }
}

// Each row's codes are widened once and summed into every query's registers.
TARGET static inline __attribute__((always_inline))
void mix_q4_group_avx2(float *state, const int m, const float *p, int stride, const uint8_t *v, const uint16_t *groups, int n, int hd,
                       int start) {
    const int nb = hd / 32;
    const __m128i mask = _mm_set1_epi8(15);
    const size_t slot = (size_t)jk_slot(start, JK_ORDER_VECTOR) * hd;
    for (int b = 0; b < nb; b++) {
        __m256 acc[Q4_VECTOR_QUERIES][4];
        for (int i = 0; i < m; i++) for (int c = 0; c < 4; c++) acc[i][c] = _mm256_setzero_ps();
        for (int j = 0; j < n; j++) {
            const uint8_t *rb = v + (size_t)j * (hd / 2) + 16 * b;
            const uint16_t *g = groups + ((size_t)j * nb + b) * 2;
            const float scale = _cvtsh_ss(g[0]), minimum = _cvtsh_ss(g[1]);
            const __m128i x = _mm_loadu_si128((const __m128i *)rb);
            const __m128i lo = _mm_and_si128(x, mask), hi = _mm_and_si128(_mm_srli_epi16(x, 4), mask);
            // Back in dimension order: 2i from the low nibble, 2i+1 from the high one.
            const __m128i first = _mm_unpacklo_epi8(lo, hi), second = _mm_unpackhi_epi8(lo, hi);
            const __m256 codes[4] = {nibbles(first), nibbles(_mm_srli_si128(first, 8)), nibbles(second), nibbles(_mm_srli_si128(second, 8))};
            for (int i = 0; i < m; i++) {
                const float pj = p[(size_t)i * stride + j];
                const __m256 w = _mm256_set1_ps(pj * scale), base = _mm256_set1_ps(pj * minimum);
                for (int c = 0; c < 4; c++) acc[i][c] = _mm256_add_ps(acc[i][c], _mm256_fmadd_ps(w, codes[c], base));
            }
        }
        for (int i = 0; i < m; i++) {
            float *a = state + (size_t)i * 64 * hd + slot + 32 * b;
            for (int c = 0; c < 4; c++) _mm256_storeu_ps(a + 8 * c, _mm256_add_ps(_mm256_loadu_ps(a + 8 * c), acc[i][c]));
        }
    }
}

TARGET static void mix_q4_avx2(float *state, int m, const float *p, int stride, const uint8_t *v, const uint16_t *groups, int n, int hd,
                               int start) {
    for (int i = 0; i < m; i += Q4_VECTOR_QUERIES) {
        float *st = state + (size_t)i * 64 * hd;
        const float *pi = p + (size_t)i * stride;
        switch (m - i) {
        case 1: mix_q4_group_avx2(st, 1, pi, stride, v, groups, n, hd, start); break;
        case 2: mix_q4_group_avx2(st, 2, pi, stride, v, groups, n, hd, start); break;
        case 3: mix_q4_group_avx2(st, 3, pi, stride, v, groups, n, hd, start); break;
        default: mix_q4_group_avx2(st, Q4_VECTOR_QUERIES, pi, stride, v, groups, n, hd, start); break;
        }
    }
}

// The many-query order. Keys: each block of 8 rows is widened once, dimension-major, and every
// query's scores of those rows are eight lanes of one register, accumulated over the dimensions.
enum { Q4_KEY_ROWS = 8, Q4_KEY_QUERIES = 8, Q4_PAIR_QUERIES = 6, Q4_VALUE_ROWS = 32, Q4_VALUE_QUERIES = 6 };

// Codes of rows [j0, j0 + rows) as floats, dimension-major: t[8·d + r] (lanes past `rows` are 0).
// Sixteen dimensions at a time: each row's 8 bytes are split into codes in dimension order, and
// the 8 × 16 codes are transposed by three rounds of unpacking (bytes, pairs, quads).
TARGET static void codes_by_dimension(const uint8_t *k, int j0, int rows, int hd, float *t) {
    static const uint8_t zeros[8] = {0};
    const __m128i mask = _mm_set1_epi8(15);
    for (int h0 = 0; h0 < hd / 2; h0 += 8) {
        __m128i r[8], a[8], b[8];
        for (int i = 0; i < 8; i++) {
            const __m128i x = _mm_loadl_epi64((const __m128i *)(i < rows ? k + (size_t)(j0 + i) * (hd / 2) + h0 : zeros));
            r[i] = _mm_unpacklo_epi8(_mm_and_si128(x, mask), _mm_and_si128(_mm_srli_epi16(x, 4), mask));
        }
        for (int i = 0; i < 8; i += 2) { a[i] = _mm_unpacklo_epi8(r[i], r[i + 1]); a[i + 1] = _mm_unpackhi_epi8(r[i], r[i + 1]); }
        for (int i = 0; i < 8; i += 4) {
            b[i] = _mm_unpacklo_epi16(a[i], a[i + 2]);
            b[i + 1] = _mm_unpackhi_epi16(a[i], a[i + 2]);
            b[i + 2] = _mm_unpacklo_epi16(a[i + 1], a[i + 3]);
            b[i + 3] = _mm_unpackhi_epi16(a[i + 1], a[i + 3]);
        }
        float *out = t + (size_t)8 * 2 * h0;
        for (int i = 0; i < 4; i++) {
            // Dimensions 4i .. 4i + 3 of the sixteen, each as eight bytes (rows 0-7).
            const __m128i lo = _mm_unpacklo_epi32(b[i], b[i + 4]), hi = _mm_unpackhi_epi32(b[i], b[i + 4]);
            _mm256_storeu_ps(out + 8 * (4 * i), nibbles(lo));
            _mm256_storeu_ps(out + 8 * (4 * i + 1), nibbles(_mm_srli_si128(lo, 8)));
            _mm256_storeu_ps(out + 8 * (4 * i + 2), nibbles(hi));
            _mm256_storeu_ps(out + 8 * (4 * i + 3), nibbles(_mm_srli_si128(hi, 8)));
        }
    }
}

TARGET static inline __attribute__((always_inline))
void scores_q4_rows_group(const float *qf, const float *bias, const int m, const float *t, int hd, __m256 vscale, float *s, int stride,
                          int rows) {
    __m256 acc[Q4_KEY_QUERIES];
    for (int i = 0; i < m; i++) acc[i] = _mm256_setzero_ps();
    for (int d = 0; d < hd; d++) {
        const __m256 c = _mm256_loadu_ps(t + 8 * d);
        for (int i = 0; i < m; i++) acc[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(qf + (size_t)i * hd + d), c, acc[i]);
    }
    for (int i = 0; i < m; i++)
        jk_store_rows_avx(s + (size_t)i * stride, _mm256_mul_ps(_mm256_add_ps(_mm256_set1_ps(bias[i]), acc[i]), vscale), rows);
}

// fold_queries with the same bits: the products eight at a time, each pair's sum by one
// horizontal add (a + b either way round), and the queries' chains of pair sums, which each
// run in dimension order, interleaved so that they overlap instead of waiting on each other.
// `pairs` is scratch of m · hd/2 floats (pairs[i·hd/2 + h]: query i's pair h).
TARGET static void fold_queries_avx2(const float *q, int m, const float *wide, int hd, float *qf, float *bias, float *pairs) {
    for (int i = 0; i < m; i++) {
        const float *qi = q + (size_t)i * hd;
        for (int d = 0; d < hd; d += 16) {
            const __m256 a = _mm256_loadu_ps(qi + d), b = _mm256_loadu_ps(qi + d + 8);
            _mm256_storeu_ps(qf + (size_t)i * hd + d, _mm256_mul_ps(a, _mm256_loadu_ps(wide + d)));
            _mm256_storeu_ps(qf + (size_t)i * hd + d + 8, _mm256_mul_ps(b, _mm256_loadu_ps(wide + d + 8)));
            // hadd pairs within 128-bit lanes: (a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, a6+a7, b4+b5, b6+b7).
            const __m256 h = _mm256_hadd_ps(_mm256_mul_ps(a, _mm256_loadu_ps(wide + hd + d)), _mm256_mul_ps(b, _mm256_loadu_ps(wide + hd + d + 8)));
            _mm256_storeu_ps(pairs + (size_t)i * (hd / 2) + d / 2, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(h), 0xD8)));
        }
        bias[i] = 0;
    }
    for (int h = 0; h < hd / 2; h++)
        for (int i = 0; i < m; i++) bias[i] += pairs[(size_t)i * (hd / 2) + h];
}

// Sixteen rows (two blocks of codes_by_dimension) against up to Q4_PAIR_QUERIES queries: each
// broadcast of a query's dimension feeds two multiply-adds, so the loop is bound by them rather
// than by its loads. Each score is the same chain as scores_q4_rows_group's.
TARGET static inline __attribute__((always_inline))
void scores_q4_rows_pair(const float *qf, const float *bias, const int m, const float *t0, const float *t1, int hd, __m256 vscale, float *s,
                         int stride, int rows) {
    __m256 a0[Q4_PAIR_QUERIES], a1[Q4_PAIR_QUERIES];
    for (int i = 0; i < m; i++) a0[i] = a1[i] = _mm256_setzero_ps();
    for (int d = 0; d < hd; d++) {
        const __m256 c0 = _mm256_loadu_ps(t0 + 8 * d), c1 = _mm256_loadu_ps(t1 + 8 * d);
        for (int i = 0; i < m; i++) {
            const __m256 x = _mm256_broadcast_ss(qf + (size_t)i * hd + d);
            a0[i] = _mm256_fmadd_ps(x, c0, a0[i]);
            a1[i] = _mm256_fmadd_ps(x, c1, a1[i]);
        }
    }
    for (int i = 0; i < m; i++) {
        const __m256 b = _mm256_set1_ps(bias[i]);
        jk_store_rows_avx(s + (size_t)i * stride, _mm256_mul_ps(_mm256_add_ps(b, a0[i]), vscale), 8);
        jk_store_rows_avx(s + (size_t)i * stride + 8, _mm256_mul_ps(_mm256_add_ps(b, a1[i]), vscale), rows - 8);
    }
}

TARGET static void scores_q4_rows_avx2(const float *q, int m, const uint8_t *k, const uint16_t *channels, int n, int hd, float scale, float *s,
                                       int stride) {
    // One allocation: the folded queries, their constants, and the fold's pair sums.
    float *qf = malloc(sizeof(float) * (size_t)m * (hd + 1 + hd / 2)), *bias = qf + (size_t)m * hd, wide[512];
    for (int d = 0; d < 2 * hd; d += 8) _mm256_storeu_ps(wide + d, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(channels + d))));
    fold_queries_avx2(q, m, wide, hd, qf, bias, bias + m);
    float t[2][8 * 256];
    const __m256 vscale = _mm256_set1_ps(scale);
    for (int j0 = 0; j0 < n; j0 += 2 * Q4_KEY_ROWS) {
        const int rows = n - j0 < 2 * Q4_KEY_ROWS ? n - j0 : 2 * Q4_KEY_ROWS;
        codes_by_dimension(k, j0, rows < Q4_KEY_ROWS ? rows : Q4_KEY_ROWS, hd, t[0]);
        if (rows > Q4_KEY_ROWS) {
            codes_by_dimension(k, j0 + Q4_KEY_ROWS, rows - Q4_KEY_ROWS, hd, t[1]);
            for (int i = 0; i < m; i += Q4_PAIR_QUERIES) {
                const float *qi = qf + (size_t)i * hd, *bi = bias + i;
                float *si = s + (size_t)i * stride + j0;
                switch (m - i) {   // a constant count, so the accumulators stay in registers
                case 1: scores_q4_rows_pair(qi, bi, 1, t[0], t[1], hd, vscale, si, stride, rows); break;
                case 2: scores_q4_rows_pair(qi, bi, 2, t[0], t[1], hd, vscale, si, stride, rows); break;
                case 3: scores_q4_rows_pair(qi, bi, 3, t[0], t[1], hd, vscale, si, stride, rows); break;
                case 4: scores_q4_rows_pair(qi, bi, 4, t[0], t[1], hd, vscale, si, stride, rows); break;
                case 5: scores_q4_rows_pair(qi, bi, 5, t[0], t[1], hd, vscale, si, stride, rows); break;
                default: scores_q4_rows_pair(qi, bi, Q4_PAIR_QUERIES, t[0], t[1], hd, vscale, si, stride, rows); break;
                }
            }
            continue;
        }
        for (int i = 0; i < m; i += Q4_KEY_QUERIES) {
            const float *qi = qf + (size_t)i * hd, *bi = bias + i;
            float *si = s + (size_t)i * stride + j0;
            switch (m - i) {
            case 1: scores_q4_rows_group(qi, bi, 1, t[0], hd, vscale, si, stride, rows); break;
            case 2: scores_q4_rows_group(qi, bi, 2, t[0], hd, vscale, si, stride, rows); break;
            case 3: scores_q4_rows_group(qi, bi, 3, t[0], hd, vscale, si, stride, rows); break;
            case 4: scores_q4_rows_group(qi, bi, 4, t[0], hd, vscale, si, stride, rows); break;
            case 5: scores_q4_rows_group(qi, bi, 5, t[0], hd, vscale, si, stride, rows); break;
            case 6: scores_q4_rows_group(qi, bi, 6, t[0], hd, vscale, si, stride, rows); break;
            case 7: scores_q4_rows_group(qi, bi, 7, t[0], hd, vscale, si, stride, rows); break;
            default: scores_q4_rows_group(qi, bi, Q4_KEY_QUERIES, t[0], hd, vscale, si, stride, rows); break;
            }
        }
    }
    free(qf);
}

// Values: each block of rows is widened once, row-major in dimension order, and each query's
// weighted sum of 16 dimensions is two registers, accumulated over the rows. w[(i·nb + b)·R + r]
// is query i's weight of row r times the row's scale of group b (R = Q4_VALUE_ROWS).
TARGET static inline __attribute__((always_inline))
void mix_q4_rows_group(float *acc, const float *w, const int m, const float *codes, int rows, int hd, int d0, int nb) {
    const int b = d0 / 32;
    __m256 a[Q4_VALUE_QUERIES][2];
    for (int i = 0; i < m; i++) { a[i][0] = _mm256_loadu_ps(acc + (size_t)i * hd + d0); a[i][1] = _mm256_loadu_ps(acc + (size_t)i * hd + d0 + 8); }
    for (int r = 0; r < rows; r++) {
        const __m256 c0 = _mm256_loadu_ps(codes + (size_t)r * hd + d0), c1 = _mm256_loadu_ps(codes + (size_t)r * hd + d0 + 8);
        for (int i = 0; i < m; i++) {
            const __m256 wv = _mm256_broadcast_ss(w + ((size_t)i * nb + b) * Q4_VALUE_ROWS + r);
            a[i][0] = _mm256_fmadd_ps(wv, c0, a[i][0]);
            a[i][1] = _mm256_fmadd_ps(wv, c1, a[i][1]);
        }
    }
    for (int i = 0; i < m; i++) { _mm256_storeu_ps(acc + (size_t)i * hd + d0, a[i][0]); _mm256_storeu_ps(acc + (size_t)i * hd + d0 + 8, a[i][1]); }
}

TARGET static void mix_q4_rows_avx2(float *state, int m, const float *p, int stride, const uint8_t *v, const uint16_t *groups, int n, int hd,
                                    int start) {
    const int nb = hd / 32;
    // One zeroed allocation: the sums, eight lanes of the minima's share per query and group, and
    // the block's weights.
    float *acc = calloc((size_t)m * (hd + nb * 8 + nb * Q4_VALUE_ROWS), sizeof(float));
    float *base = acc + (size_t)m * hd, *w = base + (size_t)m * nb * 8;
    float codes[Q4_VALUE_ROWS * 256];
    // The block's scales and minima by group, then row (zero past the last row).
    float scales[8 * Q4_VALUE_ROWS], minima[8 * Q4_VALUE_ROWS];
    const __m128i mask = _mm_set1_epi8(15);
    for (int j0 = 0; j0 < n; j0 += Q4_VALUE_ROWS) {
        const int rows = n - j0 < Q4_VALUE_ROWS ? n - j0 : Q4_VALUE_ROWS, padded = (rows + 7) / 8 * 8;
        for (int r = 0; r < padded; r++) {
            for (int b = 0; b < nb; b++) {
                const uint16_t *g = groups + ((size_t)(j0 + r) * nb + b) * 2;
                scales[b * Q4_VALUE_ROWS + r] = r < rows ? _cvtsh_ss(g[0]) : 0;
                minima[b * Q4_VALUE_ROWS + r] = r < rows ? _cvtsh_ss(g[1]) : 0;
            }
            if (r >= rows) continue;
            for (int b = 0; b < nb; b++) {
                const __m128i x = _mm_loadu_si128((const __m128i *)(v + (size_t)(j0 + r) * (hd / 2) + 16 * b));
                const __m128i lo = _mm_and_si128(x, mask), hi = _mm_and_si128(_mm_srli_epi16(x, 4), mask);
                const __m128i first = _mm_unpacklo_epi8(lo, hi), second = _mm_unpackhi_epi8(lo, hi);
                float *c = codes + (size_t)r * hd + 32 * b;
                _mm256_storeu_ps(c, nibbles(first));
                _mm256_storeu_ps(c + 8, nibbles(_mm_srli_si128(first, 8)));
                _mm256_storeu_ps(c + 16, nibbles(second));
                _mm256_storeu_ps(c + 24, nibbles(_mm_srli_si128(second, 8)));
            }
        }
        // Weights times scales, and the minima's share, eight rows at a time (a last partial
        // eight loaded masked, its missing rows zero).
        const __m256i last = _mm256_cmpgt_epi32(_mm256_set1_epi32(rows - (padded - 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        for (int i = 0; i < m; i++) {
            const float *pi = p + (size_t)i * stride + j0;
            for (int b = 0; b < nb; b++) {
                float *wb = w + ((size_t)i * nb + b) * Q4_VALUE_ROWS, *lanes = base + ((size_t)i * nb + b) * 8;
                __m256 share = _mm256_loadu_ps(lanes);
                for (int r = 0; r < padded; r += 8) {
                    const __m256 pv = r + 8 <= rows ? _mm256_loadu_ps(pi + r) : _mm256_maskload_ps(pi + r, last);
                    _mm256_storeu_ps(wb + r, _mm256_mul_ps(pv, _mm256_loadu_ps(scales + b * Q4_VALUE_ROWS + r)));
                    share = _mm256_fmadd_ps(pv, _mm256_loadu_ps(minima + b * Q4_VALUE_ROWS + r), share);
                }
                _mm256_storeu_ps(lanes, share);
            }
        }
        for (int i = 0; i < m; i += Q4_VALUE_QUERIES) {
            for (int d0 = 0; d0 < hd; d0 += 16) {
                float *ai = acc + (size_t)i * hd;
                const float *wi = w + (size_t)i * nb * Q4_VALUE_ROWS;
                switch (m - i) {
                case 1: mix_q4_rows_group(ai, wi, 1, codes, rows, hd, d0, nb); break;
                case 2: mix_q4_rows_group(ai, wi, 2, codes, rows, hd, d0, nb); break;
                case 3: mix_q4_rows_group(ai, wi, 3, codes, rows, hd, d0, nb); break;
                case 4: mix_q4_rows_group(ai, wi, 4, codes, rows, hd, d0, nb); break;
                case 5: mix_q4_rows_group(ai, wi, 5, codes, rows, hd, d0, nb); break;
                default: mix_q4_rows_group(ai, wi, Q4_VALUE_QUERIES, codes, rows, hd, d0, nb); break;
                }
            }
        }
    }
    const size_t slot = (size_t)jk_slot(start, JK_ORDER_TILED) * hd;
    for (int i = 0; i < m; i++) {
        float *a = state + (size_t)i * 64 * hd + slot;
        for (int b = 0; b < nb; b++) {
            const __m256 minimum = _mm256_set1_ps(jk_reduce8_avx(_mm256_loadu_ps(base + ((size_t)i * nb + b) * 8)));
            for (int d = 32 * b; d < 32 * b + 32; d += 8)
                _mm256_storeu_ps(a + d, _mm256_add_ps(_mm256_loadu_ps(a + d), _mm256_add_ps(_mm256_loadu_ps(acc + (size_t)i * hd + d), minimum)));
        }
    }
    free(acc);
}
#endif

static _Atomic int use_avx2 = -1;
static int avx2(void) {
    if (use_avx2 < 0) use_avx2 = jk_cpu_avx2_fma_f16c();
    return use_avx2;
}

void jk_select_attention_q4_kernels(int level) {
    use_avx2 = -1;
    if (level == 0) use_avx2 = 0; else (void)avx2();
}

void jk_attn_scores_q4(const float *q, int m, const uint8_t *k, const uint16_t *channels, int n, int hd, float scale, float *s, int stride,
                       int order) {
#if defined(__x86_64__)
    if (avx2() && order == JK_ORDER_TILED) { scores_q4_rows_avx2(q, m, k, channels, n, hd, scale, s, stride); return; }
    if (avx2()) { scores_q4_avx2(q, m, k, channels, n, hd, scale, s, stride); return; }
#endif
    if (order == JK_ORDER_TILED) { scores_q4_rows_portable(q, m, k, channels, n, hd, scale, s, stride); return; }
    scores_q4_portable(q, m, k, channels, n, hd, scale, s, stride);
}

void jk_attn_mix_rows_q4(float *state, int m, const float *p, int stride, const uint8_t *v, const uint16_t *groups, int n, int hd, int start,
                         int order) {
#if defined(__x86_64__)
    if (avx2() && order == JK_ORDER_TILED) { mix_q4_rows_avx2(state, m, p, stride, v, groups, n, hd, start); return; }
    if (avx2()) { mix_q4_avx2(state, m, p, stride, v, groups, n, hd, start); return; }
#endif
    if (order == JK_ORDER_TILED) { mix_q4_rows_portable(state, m, p, stride, v, groups, n, hd, start); return; }
    mix_q4_portable(state, m, p, stride, v, groups, n, hd, start);
}
