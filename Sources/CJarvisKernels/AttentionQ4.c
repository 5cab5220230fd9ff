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

// The query folded with a page's channel parameters: even[i] = q[2i]·scale[2i], odd[i] =
// q[2i+1]·scale[2i+1], and the constant Σ q[d]·min[d] every row's score starts from.
static float fold_query(const float *q, const uint16_t *channels, int hd, float *even, float *odd) {
    float bias = 0;
    for (int i = 0; i < hd / 2; i++) {
        even[i] = q[2 * i] * jk_fp16_to_fp32(channels[2 * i]);
        odd[i] = q[2 * i + 1] * jk_fp16_to_fp32(channels[2 * i + 1]);
        bias += q[2 * i] * jk_fp16_to_fp32(channels[hd + 2 * i]) + q[2 * i + 1] * jk_fp16_to_fp32(channels[hd + 2 * i + 1]);
    }
    return bias;
}

static void scores_q4_portable(const float *q, const uint8_t *k, const uint16_t *channels, int n, int hd, float scale, float *s) {
    const int half = hd / 2;
    float even[half], odd[half];
    const float bias = fold_query(q, channels, hd, even, odd);
    // Byte i of a row goes to lane i % 8 of two accumulators (low and high nibbles), as in the
    // AVX2 loop, so both paths give the same bits.
    for (int j = 0; j < n; j++) {
        const uint8_t *row = k + (size_t)j * half;
        float acc0[8] = {0}, acc1[8] = {0}, lanes[8];
        for (int i = 0; i < half; i++) {
            acc0[i % 8] = fmaf((float)(row[i] & 15), even[i], acc0[i % 8]);
            acc1[i % 8] = fmaf((float)(row[i] >> 4), odd[i], acc1[i % 8]);
        }
        for (int l = 0; l < 8; l++) lanes[l] = acc0[l] + acc1[l];
        s[j] = (bias + jk_reduce8(lanes)) * scale;
    }
}

// The weighted sum of a run's values. 4-bit rows match no fp16 order bit for bit, so a run is not
// spread over the 64 slots of the state as fp16 rows are: its rows are summed in registers, 32
// dimensions at a time, and the sum is added once to the slot of its first row.
static void mix_q4_portable(float *state, const float *p, const uint8_t *v, const uint16_t *groups, int n, int hd, int start, int order) {
    const int nb = hd / 32;
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

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET __attribute__((target("avx2,fma,f16c")))

// Eight codes as floats: the low or high nibbles of 8 bytes.
TARGET static inline __m256 nibbles(__m128i bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)); }

TARGET static void scores_q4_avx2(const float *q, const uint8_t *k, const uint16_t *channels, int n, int hd, float scale, float *s) {
    const int half = hd / 2;
    float even[half], odd[half];
    const float bias = fold_query(q, channels, hd, even, odd);
    const __m128i mask = _mm_set1_epi8(15);
    for (int j = 0; j < n; j++) {
        const uint8_t *row = k + (size_t)j * half;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        for (int i = 0; i < half; i += 8) {
            const __m128i b = _mm_loadl_epi64((const __m128i *)(row + i));
            acc0 = _mm256_fmadd_ps(nibbles(_mm_and_si128(b, mask)), _mm256_loadu_ps(even + i), acc0);
            acc1 = _mm256_fmadd_ps(nibbles(_mm_and_si128(_mm_srli_epi16(b, 4), mask)), _mm256_loadu_ps(odd + i), acc1);
        }
        s[j] = (bias + jk_reduce8_avx(_mm256_add_ps(acc0, acc1))) * scale;
    }
}

TARGET static void mix_q4_avx2(float *state, const float *p, const uint8_t *v, const uint16_t *groups, int n, int hd, int start, int order) {
    const int nb = hd / 32;
    const __m128i mask = _mm_set1_epi8(15);
    float *a = state + (size_t)jk_slot(start, order) * hd;
    for (int b = 0; b < nb; b++) {
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int j = 0; j < n; j++) {
            const uint8_t *rb = v + (size_t)j * (hd / 2) + 16 * b;
            const uint16_t *g = groups + ((size_t)j * nb + b) * 2;
            const __m256 w = _mm256_set1_ps(p[j] * _cvtsh_ss(g[0])), base = _mm256_set1_ps(p[j] * _cvtsh_ss(g[1]));
            const __m128i x = _mm_loadu_si128((const __m128i *)rb);
            const __m128i lo = _mm_and_si128(x, mask), hi = _mm_and_si128(_mm_srli_epi16(x, 4), mask);
            // Back in dimension order: 2i from the low nibble, 2i+1 from the high one.
            const __m128i first = _mm_unpacklo_epi8(lo, hi), second = _mm_unpackhi_epi8(lo, hi);
            acc[0] = _mm256_add_ps(acc[0], _mm256_fmadd_ps(w, nibbles(first), base));
            acc[1] = _mm256_add_ps(acc[1], _mm256_fmadd_ps(w, nibbles(_mm_srli_si128(first, 8)), base));
            acc[2] = _mm256_add_ps(acc[2], _mm256_fmadd_ps(w, nibbles(second), base));
            acc[3] = _mm256_add_ps(acc[3], _mm256_fmadd_ps(w, nibbles(_mm_srli_si128(second, 8)), base));
        }
        for (int c = 0; c < 4; c++) _mm256_storeu_ps(a + 32 * b + 8 * c, _mm256_add_ps(_mm256_loadu_ps(a + 32 * b + 8 * c), acc[c]));
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

void jk_attn_scores_q4(const float *q, const uint8_t *k, const uint16_t *channels, int n, int hd, float scale, float *s, int order) {
    (void)order;   // 4-bit rows match no fp16 order bit for bit; one order serves both.
#if defined(__x86_64__)
    if (avx2()) { scores_q4_avx2(q, k, channels, n, hd, scale, s); return; }
#endif
    scores_q4_portable(q, k, channels, n, hd, scale, s);
}

void jk_attn_mix_rows_q4(float *state, const float *p, const uint8_t *v, const uint16_t *groups, int n, int hd, int start, int order) {
#if defined(__x86_64__)
    if (avx2()) { mix_q4_avx2(state, p, v, groups, n, hd, start, order); return; }
#endif
    mix_q4_portable(state, p, v, groups, n, hd, start, order);
}
