// Attention over K/V stored in 4 bits (KIVI's split). Keys are quantized per channel: each of a
// page's head_dim channels has one fp16 scale and minimum shared by all its tokens, because a
// few key channels carry outliers that would swamp a per-row scale. Values are quantized per
// token, in groups of 32 along the row, each with its own fp16 scale and minimum.
//
// Codes are packed two per byte: dimension 2i in the low nibble of byte i, 2i+1 in the high one.
// A key is min[d] + scale[d] · code, so q·k = Σ q[d]·min[d] + Σ (q[d]·scale[d])·code: the query
// is folded with the page's channel parameters once, and each row costs one pass over its codes.
#include "CJarvisKernels.h"
#include "CPUFeatures.h"
#include "Reductions.h"
#include <math.h>

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

// The weighted sum of a run's values. 4-bit rows match no fp16 order bit for bit, so a run is not
// spread over the 64 slots of the state as fp16 rows are: its rows are summed in registers, 32
// dimensions at a time, and the sum is added once to the slot of its first row.
static void mix_q4_portable(float *state, int m, const float *p, int stride, const uint8_t *v, const uint16_t *groups, int n, int hd,
                            int start, int order) {
    const int nb = hd / 32;
    for (int h = 0; h < m; h++, state += (size_t)64 * hd, p += stride) {
        float *a = state + (size_t)jk_slot(start, order) * hd;
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

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET __attribute__((target("avx2,fma,f16c")))

// Eight codes as floats: the low or high nibbles of 8 bytes.
TARGET static inline __m256 nibbles(__m128i bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)); }

// Up to JK_ATTN_QUERIES queries: each row's codes are widened once for all of them, and every 8
// rows each query's sums are reduced by one transposition (jk_reduce8x8_avx, the bits of
// jk_reduce8_avx). head_dim is at most 256.
TARGET static inline __attribute__((always_inline))
void scores_q4_group_avx2(const float *q, const int m, const uint8_t *k, const uint16_t *channels, int n, int hd, float scale, float *s,
                          int stride) {
    const int half = hd / 2;
    float even[JK_ATTN_QUERIES][128], odd[JK_ATTN_QUERIES][128];
    __m256 bias[JK_ATTN_QUERIES], folded[JK_ATTN_QUERIES][8];
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
            __m256 acc0[JK_ATTN_QUERIES], acc1[JK_ATTN_QUERIES];
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
        for (int i = 0; i < m; i++) {
            float out[8];
            _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_add_ps(bias[i], jk_reduce8x8_avx(folded[i])), vscale));
            for (int jj = 0; jj < rows; jj++) s[(size_t)i * stride + j0 + jj] = out[jj];
        }
    }
}

TARGET static void scores_q4_avx2(const float *q, int m, const uint8_t *k, const uint16_t *channels, int n, int hd, float scale, float *s,
                                  int stride) {
    for (int i = 0; i < m; i += JK_ATTN_QUERIES) {
        const float *qi = q + (size_t)i * hd;
        float *si = s + (size_t)i * stride;
        switch (m - i) {   // a constant count, so each query's accumulators stay in registers
        case 1: scores_q4_group_avx2(qi, 1, k, channels, n, hd, scale, si, stride); break;
        case 2: scores_q4_group_avx2(qi, 2, k, channels, n, hd, scale, si, stride); break;
        case 3: scores_q4_group_avx2(qi, 3, k, channels, n, hd, scale, si, stride); break;
        default: scores_q4_group_avx2(qi, JK_ATTN_QUERIES, k, channels, n, hd, scale, si, stride); break;
        }
    }
}

// Each row's codes are widened once and summed into every query's registers.
TARGET static inline __attribute__((always_inline))
void mix_q4_group_avx2(float *state, const int m, const float *p, int stride, const uint8_t *v, const uint16_t *groups, int n, int hd,
                       int start, int order) {
    const int nb = hd / 32;
    const __m128i mask = _mm_set1_epi8(15);
    const size_t slot = (size_t)jk_slot(start, order) * hd;
    for (int b = 0; b < nb; b++) {
        __m256 acc[JK_ATTN_QUERIES][4];
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
                               int start, int order) {
    for (int i = 0; i < m; i += JK_ATTN_QUERIES) {
        float *st = state + (size_t)i * 64 * hd;
        const float *pi = p + (size_t)i * stride;
        switch (m - i) {
        case 1: mix_q4_group_avx2(st, 1, pi, stride, v, groups, n, hd, start, order); break;
        case 2: mix_q4_group_avx2(st, 2, pi, stride, v, groups, n, hd, start, order); break;
        case 3: mix_q4_group_avx2(st, 3, pi, stride, v, groups, n, hd, start, order); break;
        default: mix_q4_group_avx2(st, JK_ATTN_QUERIES, pi, stride, v, groups, n, hd, start, order); break;
        }
    }
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
    (void)order;   // 4-bit rows match no fp16 order bit for bit; one order serves both.
#if defined(__x86_64__)
    if (avx2()) { scores_q4_avx2(q, m, k, channels, n, hd, scale, s, stride); return; }
#endif
    scores_q4_portable(q, m, k, channels, n, hd, scale, s, stride);
}

void jk_attn_mix_rows_q4(float *state, int m, const float *p, int stride, const uint8_t *v, const uint16_t *groups, int n, int hd, int start,
                         int order) {
#if defined(__x86_64__)
    if (avx2()) { mix_q4_avx2(state, m, p, stride, v, groups, n, hd, start, order); return; }
#endif
    mix_q4_portable(state, m, p, stride, v, groups, n, hd, start, order);
}
