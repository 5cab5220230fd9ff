// Matrix products on weight blocks of 32 (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL), read in place
// from the model file, and the dispatch of every quantized product.
//
// Activations are quantized per 32-value block to 8 bits (Q8_0 / Q8_1) and each output is an
// integer dot product per block, scaled and accumulated in float. The accumulation follows
// llama.cpp's x86 kernels exactly — eight float lanes, lane i holding the products of elements
// 4i..4i+3 of every block, fused multiply-add across blocks, then a fixed pairwise reduction —
// so every output is bit-identical to llama.cpp's and greedy decoding agrees token for token.
// The integer parts are exact in any order; only this float order matters, and it is kept by
// the portable code as well as by the AVX2 and AVX-512 VNNI paths. (IQ4_NL keeps this order
// too; llama.cpp splits its blocks over two accumulators, so IQ4_NL is close to, not equal to,
// llama.cpp's result.)
#include "CJarvisKernels.h"
#include "Reductions.h"
#include "MatmulKernels.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct { uint16_t d, m; uint8_t qs[16]; } blk_q4_1;
typedef struct { uint16_t d; uint8_t qs[16]; } blk_q4_0;
typedef struct { uint16_t d; int8_t qs[32]; } blk_q8_0;
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } blk_q5_0;
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } blk_q5_1;
typedef struct { uint16_t d; uint8_t qs[16]; } blk_iq4_nl;

_Static_assert(sizeof(blk_q4_1) == 20, "q4_1 block");
_Static_assert(sizeof(blk_q4_0) == 18, "q4_0 block");
_Static_assert(sizeof(blk_q8_0) == 34, "q8_0 block");
_Static_assert(sizeof(blk_q5_0) == 22, "q5_0 block");
_Static_assert(sizeof(blk_q5_1) == 24, "q5_1 block");
_Static_assert(sizeof(blk_iq4_nl) == 18, "iq4_nl block");
_Static_assert(sizeof(jk_block_q8) == 40, "q8 activation block");

// ---- activation quantization ------------------------------------------------------------------

// The block's scale d = amax / 127 and Q8_1 sum s = d · Σq, each rounded through fp16.
static inline void finish_block_q8(jk_block_q8 *y, float d, int sum) {
    y->d = jk_fp16_to_fp32(jk_fp32_to_fp16(d));
    y->s = jk_fp16_to_fp32(jk_fp32_to_fp16(d * (float)sum));
}

static void quantize_q8_portable(const float *x, jk_block_q8 *y, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) { float a = fabsf(x[j]); if (a > amax) amax = a; }
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int q = (int)nearbyintf(x[j] * id);
            y[b].qs[j] = (int8_t)q;
            sum += q;
        }
        finish_block_q8(&y[b], amax / 127.0f, sum);
    }
}

#if defined(__x86_64__)
// The same values eight at a time: the maximum is exact in any order, each x · id is the same
// product, and rounding to nearest even is nearbyintf's.
__attribute__((target("avx2,fma,f16c"))) static void quantize_q8_avx2(const float *x, jk_block_q8 *y, int64_t n) {
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t b = 0; b < n / 32; b++, x += 32) {
        __m256 v[4], m = _mm256_setzero_ps();
        for (int i = 0; i < 4; i++) {
            v[i] = _mm256_loadu_ps(x + 8 * i);
            m = _mm256_max_ps(_mm256_and_ps(v[i], magnitude), m);
        }
        __m128 h = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        const float amax = _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
        const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
        __m256i q[4], sum = _mm256_setzero_si256();
        for (int i = 0; i < 4; i++) {
            q[i] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[i], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            sum = _mm256_add_epi32(sum, q[i]);
        }
        // Packing works within 128-bit halves: dwords come out as elements 0–3, 8–11, 16–19,
        // 24–27, 4–7, …; the permutation puts them back in order.
        const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        _mm256_storeu_si256((__m256i *)y[b].qs, _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
        __m128i t = _mm_add_epi32(_mm256_extracti128_si256(sum, 1), _mm256_castsi256_si128(sum));
        t = _mm_add_epi32(t, _mm_unpackhi_epi64(t, t));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 1));
        finish_block_q8(&y[b], amax / 127.0f, _mm_cvtsi128_si32(t));
    }
}
#endif

static void (*quantize_q8_current)(const float *, jk_block_q8 *, int64_t);

// ---- portable dot products (the reference for the vector paths) ------------------------------

// The 32 integer weights of one block, in element order: signed for the symmetric formats,
// unsigned (0..31) for those with a minimum.
static inline int nibble(const uint8_t *qs, int e) { return e < 16 ? qs[e] & 0x0F : qs[e - 16] >> 4; }
static inline int high_bit(const uint8_t qh[4], int e) { return (qh[e / 8] >> (e % 8)) & 1; }
static void unpack_q4_0(const void *b, int q[32]) { for (int e = 0; e < 32; e++) q[e] = nibble(((const blk_q4_0 *)b)->qs, e) - 8; }
static void unpack_q4_1(const void *b, int q[32]) { for (int e = 0; e < 32; e++) q[e] = nibble(((const blk_q4_1 *)b)->qs, e); }
static void unpack_q8_0(const void *b, int q[32]) { for (int e = 0; e < 32; e++) q[e] = ((const blk_q8_0 *)b)->qs[e]; }
static void unpack_q5_0(const void *b, int q[32]) {
    const blk_q5_0 *x = (const blk_q5_0 *)b;
    for (int e = 0; e < 32; e++) q[e] = (nibble(x->qs, e) | high_bit(x->qh, e) << 4) - 16;
}
static void unpack_q5_1(const void *b, int q[32]) {
    const blk_q5_1 *x = (const blk_q5_1 *)b;
    for (int e = 0; e < 32; e++) q[e] = nibble(x->qs, e) | high_bit(x->qh, e) << 4;
}
static void unpack_iq4_nl(const void *b, int q[32]) { for (int e = 0; e < 32; e++) q[e] = jk_iq4nl_values[nibble(((const blk_iq4_nl *)b)->qs, e)]; }

// One row · one token: lane l of eight holds elements 4l..4l+3 of every block, fused
// multiply-added across blocks. Formats with a minimum (`min_at` its byte offset, else -1)
// add m · s of the Q8_1 block, accumulated separately as llama.cpp does.
static float dot_portable(const uint8_t *row, int block_bytes, void (*unpack)(const void *, int[32]),
                          int min_at, const jk_block_q8 *y, int nb) {
    float acc[8] = {0};
    float summs = 0.0f;
    for (int b = 0; b < nb; b++) {
        const uint8_t *blk = row + (int64_t)b * block_bytes;
        int q[32];
        unpack(blk, q);
        uint16_t h;
        memcpy(&h, blk, 2);
        const float d = jk_fp16_to_fp32(h) * y[b].d;
        if (min_at >= 0) { memcpy(&h, blk + min_at, 2); summs = fmaf(jk_fp16_to_fp32(h), y[b].s, summs); }
        for (int l = 0; l < 8; l++) {
            int s = 0;
            for (int e = 4 * l; e < 4 * l + 4; e++) s += q[e] * y[b].qs[e];
            acc[l] = fmaf(d, (float)s, acc[l]);
        }
    }
    return min_at >= 0 ? jk_reduce8(acc) + summs : jk_reduce8(acc);
}

// ---- AVX2 (+ optional AVX-512 VNNI) ----------------------------------------------------------

#if defined(__x86_64__)
#define TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TARGET_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))

// The 32 nibbles of a block in element order: the 16 bytes in both halves, the high half's
// shifted right by 4 (per 32 bits: the bits that cross into a byte from its neighbour are
// masked off with the rest).
TARGET_AVX2 static inline __m256i unpack_nibbles(const uint8_t *qs) {
    const __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    return _mm256_and_si256(_mm256_set1_epi8(0x0F), _mm256_srlv_epi32(b, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)));
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

// Decode reads each weight row once from memory; the four rows after next are fetched while
// these four are computed, in even parts over the blocks (2 groups ahead measured best of 1, 2,
// 4 and 8 on this project's 2-core machine: 1.3–1.5× over the hardware prefetcher alone). A
// part is the four rows' bytes of one block, a constant, so its prefetches unroll.
#define PREFETCH_GROUPS 2
#define PREFETCH_PART(AHEAD, STEP)                                                               \
    for (int j = 0; j < ((STEP) + 63) / 64; j++) _mm_prefetch((AHEAD) + (int64_t)b * (STEP) + 64 * j, _MM_HINT_T0);
// Rows r0 … r0 + 3 of a decode product, and where to prefetch from.
#define FOUR_ROWS(BLOCK)                                                                         \
    const BLOCK *w0 = (const BLOCK *)(w + (int64_t)r0 * row_bytes);                              \
    const BLOCK *w1 = (const BLOCK *)((const uint8_t *)w0 + row_bytes);                          \
    const BLOCK *w2 = (const BLOCK *)((const uint8_t *)w1 + row_bytes);                          \
    const BLOCK *w3 = (const BLOCK *)((const uint8_t *)w2 + row_bytes);                          \
    const char *ahead = (const char *)w0 + PREFETCH_GROUPS * 4 * row_bytes;                      \
    enum { step = 4 * sizeof(BLOCK) };

// One block of one weight row against the activation block `yq` (scale yd): exactly the float
// operations of the tiled loops below, so a row's float order is the same whichever loop
// computes it.
#define ROW_STEP(W, A, LOAD, DOT)                                                                \
    A = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(W[b].d) * yd), DOT(LOAD(&W[b]), yq), A);

// Prefill: one weight row × eight tokens. For each tile of eight tokens their blocks' scales
// (and Q8_1 sums) are laid out token by token once; for each row, the products of its block
// scales with the tokens' (and, with a minimum, Σ m · s) are computed ahead of its dot
// products, so the inner loop is a load, the integer dot, a conversion and a fused
// multiply-add per block and token, with eight chains in flight. Each float operation is the
// one the per-row loops below do, in the same order, so the bits are the same. Returns how many
// of the n tokens it did (whole tiles of eight).
#define TILE_TOKENS 8
#define MIN_TERM_YES(X) X
#define MIN_TERM_NO(X)
#define DEFINE_TILE(NAME, TARGET, DOT, BLOCK, LOAD, MIN_TERM)                                     \
TARGET static int NAME(const uint8_t *w, int64_t row_bytes, int nb, const jk_block_q8 *x,        \
                       int n, float *y, int64_t ldy, int r0, int r1) {                           \
    const int tiled = n / TILE_TOKENS * TILE_TOKENS;                                             \
    if (tiled == 0) return 0;                                                                    \
    /* One allocation: the tile's activation scales, their sums, and a row's scale products. */  \
    float *scales = aligned_alloc(32, sizeof(float) * 3 * TILE_TOKENS * (size_t)nb);             \
    if (!scales) return 0;                                                                       \
    float *sums = scales + TILE_TOKENS * nb, *products = sums + TILE_TOKENS * nb;                \
    for (int t0 = 0; t0 < tiled; t0 += TILE_TOKENS) {                                            \
        const jk_block_q8 *xt = x + (int64_t)t0 * nb;                                            \
        for (int b = 0; b < nb; b++)                                                             \
            for (int u = 0; u < TILE_TOKENS; u++) {                                              \
                scales[TILE_TOKENS * b + u] = xt[(int64_t)u * nb + b].d;                         \
                sums[TILE_TOKENS * b + u] = xt[(int64_t)u * nb + b].s;                           \
            }                                                                                    \
        for (int r = r0; r < r1; r++) {                                                          \
            const BLOCK *row = (const BLOCK *)(w + (int64_t)r * row_bytes);                      \
            __m256 summs = _mm256_setzero_ps();                                                  \
            for (int b = 0; b < nb; b++) {                                                       \
                _mm256_store_ps(products + TILE_TOKENS * b, _mm256_mul_ps(                       \
                    _mm256_set1_ps(_cvtsh_ss(row[b].d)), _mm256_load_ps(scales + TILE_TOKENS * b))); \
                MIN_TERM(summs = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(row[b].m)),           \
                                                 _mm256_load_ps(sums + TILE_TOKENS * b), summs);) \
            }                                                                                    \
            __m256 acc[TILE_TOKENS];                                                             \
            for (int u = 0; u < TILE_TOKENS; u++) acc[u] = _mm256_setzero_ps();                  \
            for (int b = 0; b < nb; b++) {                                                       \
                const __m256i qx = LOAD(&row[b]);                                                \
                for (int u = 0; u < TILE_TOKENS; u++) {                                          \
                    const __m256i qy = _mm256_loadu_si256((const __m256i *)xt[(int64_t)u * nb + b].qs); \
                    acc[u] = _mm256_fmadd_ps(_mm256_broadcast_ss(products + TILE_TOKENS * b + u), \
                                             DOT(qx, qy), acc[u]);                               \
                }                                                                                \
            }                                                                                    \
            __m256 out = jk_reduce8x8_avx(acc);                                                  \
            MIN_TERM(out = _mm256_add_ps(out, summs);)                                           \
            float o[TILE_TOKENS];                                                                \
            _mm256_storeu_ps(o, out);                                                            \
            for (int u = 0; u < TILE_TOKENS; u++) y[(int64_t)(t0 + u) * ldy + r] = o[u];         \
        }                                                                                        \
    }                                                                                            \
    free(scales);                                                                                \
    return tiled;                                                                                \
}

// The d and m (adjacent fp16 at the block's start) of four rows' blocks, widened by one
// conversion: lane 2i is row i's d, lane 2i + 1 its m. (Taking the symmetric formats' d this
// way was slower for Q8_0: 0.61 ms against 0.58 for SmolLM2's output matrix.)
TARGET_AVX2 static inline __m256 scales_of_four(const void *b0, const void *b1, const void *b2, const void *b3) {
    uint32_t w[4];
    memcpy(&w[0], b0, 4); memcpy(&w[1], b1, 4); memcpy(&w[2], b2, 4); memcpy(&w[3], b3, 4);
    return _mm256_cvtph_ps(_mm_unpacklo_epi64(_mm_unpacklo_epi32(_mm_cvtsi32_si128((int)w[0]), _mm_cvtsi32_si128((int)w[1])),
                                              _mm_unpacklo_epi32(_mm_cvtsi32_si128((int)w[2]), _mm_cvtsi32_si128((int)w[3]))));
}

// Rows × tokens, with tokens in tiles of four so each unpacked weight block is reused; a single
// token (decode) takes four rows at a time instead, so the activation block is loaded once for
// four rows and their four chains of fused multiply-adds overlap rather than wait on each
// other. Formats with a minimum (Q4_1, Q5_1): unsigned weights, plus m · s of the Q8_1 block.
// In decode the four rows' d and m are widened together: one product gives each row's d · yd
// (lane 2i, the single float product the tiled loops compute, so the bits are the same), and
// one fused multiply-add carries the four chains of m · s (lanes 2i + 1).
#define DEFINE_WITH_MIN(NAME, TARGET, DOT, BLOCK, LOAD)                                           \
DEFINE_TILE(NAME##_tile, TARGET, DOT, BLOCK, LOAD, MIN_TERM_YES)                                  \
TARGET static void NAME(const uint8_t *w, int64_t row_bytes, int nb, const void *xv,             \
                        int n, float *y, int64_t ldy, int r0, int r1) {                          \
    const jk_block_q8 *x = (const jk_block_q8 *)xv;                                              \
    if (n == 1) {                                                                                \
        float products[8] __attribute__((aligned(32)));                                          \
        for (; r0 + 4 <= r1; r0 += 4) {                                                          \
            FOUR_ROWS(BLOCK)                                                                     \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, s = a0;                  \
            for (int b = 0; b < nb; b++) {                                                       \
                PREFETCH_PART(ahead, step)                                                       \
                const __m256i yq = _mm256_loadu_si256((const __m256i *)x[b].qs);                 \
                const __m256 dm = scales_of_four(&w0[b], &w1[b], &w2[b], &w3[b]);                \
                s = _mm256_fmadd_ps(dm, _mm256_set1_ps(x[b].s), s);                              \
                _mm256_store_ps(products, _mm256_mul_ps(dm, _mm256_set1_ps(x[b].d)));            \
                a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(products), DOT(LOAD(&w0[b]), yq), a0);  \
                a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(products + 2), DOT(LOAD(&w1[b]), yq), a1); \
                a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(products + 4), DOT(LOAD(&w2[b]), yq), a2); \
                a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(products + 6), DOT(LOAD(&w3[b]), yq), a3); \
            }                                                                                    \
            _mm256_store_ps(products, s);                                                        \
            y[r0] = jk_reduce8_avx(a0) + products[1];                                            \
            y[r0 + 1] = jk_reduce8_avx(a1) + products[3];                                        \
            y[r0 + 2] = jk_reduce8_avx(a2) + products[5];                                        \
            y[r0 + 3] = jk_reduce8_avx(a3) + products[7];                                        \
        }                                                                                        \
    }                                                                                            \
    for (int t0 = NAME##_tile(w, row_bytes, nb, x, n, y, ldy, r0, r1); t0 < n; t0 += 4) {       \
        const int tn = n - t0 < 4 ? n - t0 : 4;                                                  \
        for (int r = r0; r < r1; r++) {                                                          \
            const BLOCK *row = (const BLOCK *)(w + (int64_t)r * row_bytes);                      \
            __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() }; \
            float summs[4] = {0, 0, 0, 0};                                                       \
            for (int b = 0; b < nb; b++) {                                                       \
                const float d0 = _cvtsh_ss(row[b].d), m0 = _cvtsh_ss(row[b].m);                  \
                const __m256i qx = LOAD(&row[b]);                                                \
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

// Symmetric formats (one scale per block, no minimum): Q4_0 and Q8_0 differ only in how a
// block's 32 signed weights are loaded.
#define DEFINE_SYMMETRIC(NAME, TARGET, DOT, BLOCK, LOAD)                                          \
DEFINE_TILE(NAME##_tile, TARGET, DOT, BLOCK, LOAD, MIN_TERM_NO)                                   \
TARGET static void NAME(const uint8_t *w, int64_t row_bytes, int nb, const void *xv,             \
                        int n, float *y, int64_t ldy, int r0, int r1) {                          \
    const jk_block_q8 *x = (const jk_block_q8 *)xv;                                              \
    if (n == 1) {                                                                                \
        for (; r0 + 4 <= r1; r0 += 4) {                                                          \
            FOUR_ROWS(BLOCK)                                                                     \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                          \
            for (int b = 0; b < nb; b++) {                                                       \
                PREFETCH_PART(ahead, step)                                                       \
                const __m256i yq = _mm256_loadu_si256((const __m256i *)x[b].qs);                 \
                const float yd = x[b].d;                                                         \
                ROW_STEP(w0, a0, LOAD, DOT)                                                      \
                ROW_STEP(w1, a1, LOAD, DOT)                                                      \
                ROW_STEP(w2, a2, LOAD, DOT)                                                      \
                ROW_STEP(w3, a3, LOAD, DOT)                                                      \
            }                                                                                    \
            y[r0] = jk_reduce8_avx(a0);                                                          \
            y[r0 + 1] = jk_reduce8_avx(a1);                                                      \
            y[r0 + 2] = jk_reduce8_avx(a2);                                                      \
            y[r0 + 3] = jk_reduce8_avx(a3);                                                      \
        }                                                                                        \
    }                                                                                            \
    for (int t0 = NAME##_tile(w, row_bytes, nb, x, n, y, ldy, r0, r1); t0 < n; t0 += 4) {       \
        const int tn = n - t0 < 4 ? n - t0 : 4;                                                  \
        for (int r = r0; r < r1; r++) {                                                          \
            const BLOCK *row = (const BLOCK *)(w + (int64_t)r * row_bytes);                      \
            __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() }; \
            for (int b = 0; b < nb; b++) {                                                       \
                const float d0 = _cvtsh_ss(row[b].d);                                            \
                const __m256i qx = LOAD(&row[b]);                                                \
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
// Byte e of the result is 0xFF where bit e of the 32 bits at qh is set, else 0.
TARGET_AVX2 static inline __m256i high_bits(const uint8_t qh[4]) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
    const __m256i probe = _mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(probe, _mm256_set1_epi64x(-1));
}
TARGET_AVX2 static inline __m256i load_q4_0(const blk_q4_0 *b) {
    return _mm256_sub_epi8(unpack_nibbles(b->qs), _mm256_set1_epi8(8));
}
TARGET_AVX2 static inline __m256i load_q4_1(const blk_q4_1 *b) { return unpack_nibbles(b->qs); }
TARGET_AVX2 static inline __m256i load_q8_0(const blk_q8_0 *b) {
    return _mm256_loadu_si256((const __m256i *)b->qs);
}
// (nibble | bit << 4) − 16: 0xF0 over the nibble where the bit is clear is the same byte.
TARGET_AVX2 static inline __m256i load_q5_0(const blk_q5_0 *b) {
    return _mm256_or_si256(unpack_nibbles(b->qs), _mm256_andnot_si256(high_bits(b->qh), _mm256_set1_epi8((char)0xF0)));
}
TARGET_AVX2 static inline __m256i load_q5_1(const blk_q5_1 *b) {
    return _mm256_or_si256(unpack_nibbles(b->qs), _mm256_and_si256(high_bits(b->qh), _mm256_set1_epi8(0x10)));
}
TARGET_AVX2 static inline __m256i load_iq4_nl(const blk_iq4_nl *b) {
    const __m128i values = _mm_loadu_si128((const __m128i *)jk_iq4nl_values);
    const __m128i t = _mm_loadu_si128((const __m128i *)b->qs), low = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_shuffle_epi8(values, _mm_and_si128(_mm_srli_epi16(t, 4), low)),
                            _mm_shuffle_epi8(values, _mm_and_si128(t, low)));
}
#define DEFINE_LEVELS(T, KIND, D)                                                                  \
    DEFINE_##KIND(mm_##T##_avx2, TARGET_AVX2, dot_##D##_avx2, blk_##T, load_##T)                  \
    DEFINE_##KIND(mm_##T##_vnni, TARGET_VNNI, dot_##D##_vnni, blk_##T, load_##T)
DEFINE_LEVELS(q4_0, SYMMETRIC, i8i8)
DEFINE_LEVELS(q8_0, SYMMETRIC, i8i8)
DEFINE_LEVELS(q5_0, SYMMETRIC, i8i8)
DEFINE_LEVELS(iq4_nl, SYMMETRIC, i8i8)
DEFINE_LEVELS(q4_1, WITH_MIN, u8i8)
DEFINE_LEVELS(q5_1, WITH_MIN, u8i8)
#endif

// ---- portable drivers -------------------------------------------------------------------------

#define DEFINE_PORTABLE(T, MIN_AT)                                                                 \
static void mm_##T##_portable(const uint8_t *w, int64_t row_bytes, int nb, const void *xv,       \
                              int n, float *y, int64_t ldy, int r0, int r1) {                    \
    const jk_block_q8 *x = (const jk_block_q8 *)xv;                                              \
    for (int t = 0; t < n; t++)                                                                  \
        for (int r = r0; r < r1; r++)                                                            \
            y[(int64_t)t * ldy + r] = dot_portable(w + (int64_t)r * row_bytes, (int)sizeof(blk_##T), \
                                                   unpack_##T, MIN_AT, x + (int64_t)t * nb, nb); \
}
DEFINE_PORTABLE(q4_0, -1)
DEFINE_PORTABLE(q8_0, -1)
DEFINE_PORTABLE(q5_0, -1)
DEFINE_PORTABLE(iq4_nl, -1)
DEFINE_PORTABLE(q4_1, 2)
DEFINE_PORTABLE(q5_1, 2)

// The kernel types: ggml id, bytes per block, values per block, and the kernel of each level.
typedef struct { int type, block_bytes, block_values; jk_mm_fn portable, avx2, vnni, current; } kernel_entry;
#if defined(__x86_64__)
#define ENTRY(T, ID) { ID, (int)sizeof(blk_##T), 32, mm_##T##_portable, mm_##T##_avx2, mm_##T##_vnni, NULL }
#else
#define ENTRY(T, ID) { ID, (int)sizeof(blk_##T), 32, mm_##T##_portable, NULL, NULL, NULL }
#endif
#define K_ENTRY(ID, BYTES) { ID, BYTES, 256, NULL, NULL, NULL, NULL }
#define HALF_ENTRY(ID) { ID, 64, 32, NULL, NULL, NULL, NULL }
static kernel_entry kernels[] = {
    ENTRY(q4_0, JK_TYPE_Q4_0), ENTRY(q4_1, JK_TYPE_Q4_1), ENTRY(q5_0, JK_TYPE_Q5_0),
    ENTRY(q5_1, JK_TYPE_Q5_1), ENTRY(q8_0, JK_TYPE_Q8_0), ENTRY(iq4_nl, JK_TYPE_IQ4_NL),
    K_ENTRY(JK_TYPE_Q2_K, 84), K_ENTRY(JK_TYPE_Q3_K, 110), K_ENTRY(JK_TYPE_Q4_K, 144),
    K_ENTRY(JK_TYPE_Q5_K, 176), K_ENTRY(JK_TYPE_Q6_K, 210), K_ENTRY(JK_TYPE_IQ4_XS, 136),
    HALF_ENTRY(JK_TYPE_F16), HALF_ENTRY(JK_TYPE_BF16),
};
enum { KERNEL_COUNT = sizeof kernels / sizeof kernels[0] };
static int kernels_selected;

static kernel_entry *entry(int type) {
    for (int i = 0; i < KERNEL_COUNT; i++) if (kernels[i].type == type) return &kernels[i];
    return NULL;
}

int jk_select_matmul_kernels(int level) {
    // level: 0 portable, 1 AVX2, 2 AVX-512 VNNI (each only if the CPU has it)
    int avx2 = 0, vnni = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    vnni = avx2 && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#endif
    const int chosen = level >= 2 && vnni ? 2 : level >= 1 && avx2 ? 1 : 0;
    for (int i = 0; i < KERNEL_COUNT; i++) {
        kernel_entry *k = &kernels[i];
        if (k->block_values == 256) k->current = jk_kquant_kernel(k->type, chosen);
        else if (k->block_bytes == 64) k->current = jk_half_kernel(k->type, chosen);
        else k->current = chosen == 2 ? k->vnni : chosen == 1 ? k->avx2 : k->portable;
    }
    jk_kquant_select_quantizer(chosen);
#if defined(__x86_64__)
    quantize_q8_current = chosen >= 1 ? quantize_q8_avx2 : quantize_q8_portable;
#else
    quantize_q8_current = quantize_q8_portable;
#endif
    kernels_selected = 1;
    return chosen;
}

void jk_quantize_q8(const float *x, jk_block_q8 *y, int64_t n) {
    if (!kernels_selected) jk_select_matmul_kernels(2);
    quantize_q8_current(x, y, n);
}

int jk_activation_format(int type) {
    switch (type) {
    case JK_TYPE_Q4_0: case JK_TYPE_Q4_1: case JK_TYPE_Q5_0: case JK_TYPE_Q5_1: case JK_TYPE_Q8_0:
    case JK_TYPE_IQ4_NL:
        return JK_ACTIVATIONS_Q8;
    case JK_TYPE_Q2_K: case JK_TYPE_Q3_K: case JK_TYPE_Q4_K: case JK_TYPE_Q5_K: case JK_TYPE_Q6_K:
    case JK_TYPE_IQ4_XS:
        return JK_ACTIVATIONS_Q8K;
    case JK_TYPE_F16: return JK_ACTIVATIONS_F16;
    case JK_TYPE_BF16: return JK_ACTIVATIONS_BF16;
    default: return JK_ACTIVATIONS_NONE;
    }
}

// ---- threaded driver ----------------------------------------------------------------------------

// One product of a job: its kernel and rows, cut into chunks of `chunk` rows, and the index of
// its first task among the job's.
typedef struct {
    jk_mm_fn fn;
    const uint8_t *w;
    int64_t row_bytes;
    int nb, rows, chunk, first_task;
    const void *x;
    float *y;
    int64_t ldy;
} mm_part;

typedef struct { mm_part parts[JK_MAX_PRODUCTS]; int count, n; } mm_job;

// The most weights one prefill task reads: half of this machine's L2 per core (1 MiB), leaving
// room for the tile of activations.
#define PREFILL_CHUNK_BYTES (512 * 1024)

static void mm_task(void *ctx, int task) {
    const mm_job *j = (const mm_job *)ctx;
    int i = j->count - 1;
    while (j->parts[i].first_task > task) i--;
    const mm_part *p = &j->parts[i];
    int r0 = (task - p->first_task) * p->chunk, r1 = r0 + p->chunk;
    if (r1 > p->rows) r1 = p->rows;
    if (r0 < r1) p->fn(p->w, p->row_bytes, p->nb, p->x, j->n, p->y, p->ldy, r0, r1);
}

void jk_matmul_quantized_many(const jk_product *products, int count, int n) {
    if (!kernels_selected) jk_select_matmul_kernels(2);
    mm_job j;
    j.count = 0;
    j.n = n;
    int tasks = 0;
    const int threads = jk_pool_threads();
    for (int i = 0; i < count && i < JK_MAX_PRODUCTS; i++) {
        const jk_product *pr = &products[i];
        const kernel_entry *k = entry(pr->type);
        if (!k || pr->rows <= 0) continue;
        mm_part *p = &j.parts[j.count++];
        p->fn = k->current;
        p->w = (const uint8_t *)pr->w;
        p->nb = pr->cols / k->block_values;
        p->row_bytes = (int64_t)p->nb * k->block_bytes;
        p->rows = pr->rows; p->x = pr->x; p->y = pr->y; p->ldy = pr->ldy;
        // Rows in chunks of 16 (cache lines of output), several chunks per thread for balance:
        // eight with several tokens; two when decoding, which streams the rows from memory and
        // restarts its prefetching at each chunk (SmolLM2 tg128 with 2 threads: 221 tok/s with
        // two chunks per thread, 224 with one, 199 with eight). With several tokens a chunk is
        // also at most PREFILL_CHUNK_BYTES of weights, so every tile of tokens finds the chunk's
        // rows in the core's L2 rather than reading the whole matrix again.
        int per = threads == 1 ? 1 : threads * 2;
        if (n > 1) {
            const int64_t fit = ((int64_t)pr->rows * p->row_bytes + PREFILL_CHUNK_BYTES - 1) / PREFILL_CHUNK_BYTES;
            per = fit > threads * 8 ? (int)fit : threads * 8;
        }
        p->chunk = ((pr->rows + per - 1) / per + 15) / 16 * 16;
        p->first_task = tasks;
        tasks += (pr->rows + p->chunk - 1) / p->chunk;
    }
    if (tasks > 0) jk_parallel(mm_task, &j, tasks);
}

void jk_matmul_quantized(int type, const void *w, int rows, int cols, const void *x, int n, float *y, int64_t ldy) {
    const jk_product p = { type, w, rows, cols, x, y, ldy };
    jk_matmul_quantized_many(&p, 1, n);
}
