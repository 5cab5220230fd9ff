#ifndef JARVIS_KERNELS_H
#define JARVIS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- half precision -------------------------------------------------------------------------

/// IEEE binary16 bits -> float, exact for every input (subnormals, inf, NaN).
float jk_fp16_to_fp32(uint16_t h);
/// float -> IEEE binary16 bits, round to nearest even (what F16C and numpy do).
uint16_t jk_fp32_to_fp16(float f);
void jk_fp16_to_fp32_row(const uint16_t *src, float *dst, int64_t n);
void jk_fp32_to_fp16_row(const float *src, uint16_t *dst, int64_t n);

// ---- dequantization ---------------------------------------------------------------------------

/// ggml type ids (the numbers stored in GGUF tensor infos).
enum {
    JK_TYPE_F32 = 0, JK_TYPE_F16 = 1, JK_TYPE_Q4_0 = 2, JK_TYPE_Q4_1 = 3,
    JK_TYPE_Q5_0 = 6, JK_TYPE_Q5_1 = 7, JK_TYPE_Q8_0 = 8,
    JK_TYPE_Q2_K = 10, JK_TYPE_Q3_K = 11, JK_TYPE_Q4_K = 12, JK_TYPE_Q5_K = 13, JK_TYPE_Q6_K = 14,
    JK_TYPE_IQ4_NL = 20, JK_TYPE_IQ4_XS = 23, JK_TYPE_BF16 = 30,
};

/// Dequantizes `n` elements of ggml type `type` from `src` into `dst`.
/// `n` must be a multiple of the type's block size. Returns 0, or -1 for an unsupported type.
/// Results are bit-identical to the `gguf` Python package's reference dequantizers.
int jk_dequantize(int type, const void *src, float *dst, int64_t n);

// ---- activation rounding (llama.cpp numerics) -------------------------------------------------

/// Rounds activations in place the way ggml quantizes them before a dot product with a weight
/// of ggml type `weight_type` (Q8_0/Q8_1 blocks of 32, Q8_K blocks of 256, fp16, bf16; F32: no-op).
/// `n` must be a multiple of the block size (the weight's row length is). For Q4_1/Q5_1 weights,
/// `delta` (n/32 floats, may be NULL) receives the per-block correction of Q8_1's stored sum;
/// adding delta · (the weight blocks' minima) to the product completes ggml's result.
void jk_quantize_activations(int weight_type, float *x, int64_t n, float *delta);
/// Copies the fp16 block minima of a Q4_1 or Q5_1 tensor (`n` elements) into `mins` (n/32 floats).
void jk_block_minima(int type, const void *src, float *mins, int64_t n);
/// Rounds each value to the nearest fp16 and back.
void jk_round_fp16(float *x, int64_t n);

// ---- element-wise and row kernels -------------------------------------------------------------

/// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]
void jk_rmsnorm(float *out, const float *x, const float *w, int n, float eps);
/// x[i] = silu(gate[i]) * up[i], written into gate (exp as in jk_expf_ggml).
void jk_swiglu(float *gate, const float *up, int n);
/// In-place softmax over n values (-inf entries are masked), summed in groups of 16 as
/// llama.cpp does, with jk_expf_ggml.
void jk_softmax(float *x, int n);
/// exp(x) computed the way llama.cpp's vector code does (within 1-2 ulp of expf).
float jk_expf_ggml(float x);
/// y[i] += b[i]
void jk_add(float *y, const float *b, int n);

/// Fills cos/sin tables for one position: for pair i in [0, dims/2), theta = pos * base^(-2i/dims),
/// accumulated the way ggml does (repeated multiplication in float), then divided by
/// freq_factors[i] when freq_factors is not NULL (Llama 3's `rope_freqs`, dims/2 floats).
void jk_rope_table(float pos, int dims, float base, const float *freq_factors, float *cos_out, float *sin_out);
/// Rotates `heads` vectors of `head_dim` floats (stride head_dim) with a table from jk_rope_table.
/// neox == 0: adjacent pairs (x[2i], x[2i+1]) — llama in GGUF (Q/K permuted by the converter).
/// neox != 0: halves (x[i], x[i + dims/2]) — qwen2, qwen3 and GPT-NeoX.
void jk_rope_apply(float *x, int heads, int head_dim, int dims, const float *cos_t, const float *sin_t, int neox);

// ---- attention over fp16 K/V rows ---------------------------------------------------------------

/// Summation orders of the attention dot products (see Attention.c): llama.cpp uses the tiled
/// one when a batch has two or more query rows, the vector one for a single row.
enum { JK_ORDER_TILED = 0, JK_ORDER_VECTOR = 1 };
/// scores[i·stride + j] = scale * dot(q_i, K[j]) for m queries q_i (q + i·head_dim) and j in
/// [0, n); K rows are `head_dim` fp16 values each (`head_dim` a multiple of 16, at most 256).
/// Queries that share K (a KV head's query heads) are scored in one pass over its rows; every
/// score has the bits of a call with that query alone.
void jk_attn_scores_f16(const float *q, int m, const uint16_t *k, int n, int head_dim, float scale, float *scores, int stride, int order);
/// out[d] = sum_j p[j] * V[j][d] for j in [0, n); V rows are `head_dim` fp16 values each.
void jk_attn_accumulate_f16(const float *p, const uint16_t *v, int n, int head_dim, float *out, int order);
/// The same sum over rows that live in several places: begin with a state of 64 × head_dim
/// floats, add each run of rows with the index of its first row in the logical row, then end.
/// The result is bit-identical to one jk_attn_accumulate_f16 over the concatenated rows.
/// jk_attn_mix_rows adds the rows to m states at once (state + i·64·head_dim), weighted by
/// p + i·stride, each as a call with that state alone would.
void jk_attn_mix_begin(float *state, int head_dim);
void jk_attn_mix_rows(float *state, int m, const float *p, int stride, const uint16_t *v, int n, int head_dim, int start, int order);
void jk_attn_mix_end(const float *state, int head_dim, float *out, int order);

/// The same over rows stored in 8 bits: `head_dim` int8 values per row and one fp16 scale per
/// 32 values (`scales` holds head_dim/32 per row); head_dim a multiple of 32.
void jk_attn_scores_q8(const float *q, int m, const int8_t *k, const uint16_t *scales, int n, int head_dim, float scale, float *scores,
                       int stride, int order);
void jk_attn_mix_rows_q8(float *state, int m, const float *p, int stride, const int8_t *v, const uint16_t *scales, int n, int head_dim,
                         int start, int order);
/// Level 0 forces the portable 8-bit attention loops (for tests); 1 picks the best.
void jk_select_attention_q8_kernels(int level);
/// The same over rows stored in 4 bits, two codes per byte (dimension 2i in the low nibble of
/// byte i). Keys per channel: `channels` holds head_dim fp16 scales, then head_dim fp16 minimums,
/// shared by the n rows; a key is min + scale · code. Values per token: `groups` holds, per row,
/// head_dim/32 pairs (fp16 scale, fp16 minimum), one pair per 32 values. head_dim a multiple of 32.
/// Each order is AttentionQ4.c's own (no fp16 order applies to 4-bit rows), the same on every CPU.
void jk_attn_scores_q4(const float *q, int m, const uint8_t *k, const uint16_t *channels, int n, int head_dim, float scale, float *scores,
                       int stride, int order);
void jk_attn_mix_rows_q4(float *state, int m, const float *p, int stride, const uint8_t *v, const uint16_t *groups, int n, int head_dim,
                         int start, int order);
/// Level 0 forces the portable 4-bit attention loops (for tests); 1 picks the best.
void jk_select_attention_q4_kernels(int level);

// ---- quantized matrix products ---------------------------------------------------------------------

/// One block of 32 activations quantized to 8 bits: scale d and d·Σq, both already rounded
/// through fp16 as the formats store them.
typedef struct { float d; float s; int8_t qs[32]; } jk_block_q8;

/// Quantizes n activations (a multiple of 32) to n/32 blocks, as llama.cpp's x86 code does.
void jk_quantize_q8(const float *x, jk_block_q8 *y, int64_t n);

/// 256 activations quantized to 8 bits for the K-quant kernels (ggml's Q8_K): scale d, the
/// values, and the sum of each 16 of them.
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } jk_block_q8k;
/// Quantizes n activations (a multiple of 256) to n/256 blocks, as ggml's quantize_row_q8_K.
void jk_quantize_q8k(const float *x, jk_block_q8k *y, int64_t n);

/// The activations jk_matmul_quantized needs for a weight type: Q8 blocks (jk_block_q8, also
/// serving as Q8_1), Q8K blocks (jk_block_q8k), or floats rounded to fp16 / bf16.
enum { JK_ACTIVATIONS_NONE = 0, JK_ACTIVATIONS_Q8 = 1, JK_ACTIVATIONS_Q8K = 2,
       JK_ACTIVATIONS_F16 = 3, JK_ACTIVATIONS_BF16 = 4 };
/// Q8 for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0/IQ4_NL, Q8K for Q2_K…Q6_K and IQ4_XS, F16 and BF16 for
/// those types, NONE for types without a product kernel (F32 and what cannot be loaded).
int jk_activation_format(int type);
/// Bytes the activations of format `format` take for n values.
int64_t jk_activation_bytes(int format, int64_t n);
/// Writes n activations (a multiple of the format's block: 32, or 256 for Q8K) in `format`.
void jk_prepare_activations(int format, const float *x, void *out, int64_t n);
/// y[t*ldy + r] = W[r] · x[t] for every weight row r < rows and token t < n. W is `rows` rows of
/// `cols` values in ggml format `type` (cols a multiple of 32, of 256 for the K-types); x holds
/// n rows of activations prepared in the type's format. Runs on the pool. Types without a
/// kernel (jk_activation_format NONE) leave y unchanged.
void jk_matmul_quantized(int type, const void *w, int rows, int cols, const void *x, int n, float *y, int64_t ldy);

/// One product of a batch for jk_matmul_quantized_many: the arguments of jk_matmul_quantized.
typedef struct { int type; const void *w; int rows, cols; const void *x; float *y; int64_t ldy; } jk_product;
/// The most products one jk_matmul_quantized_many call takes; more are ignored.
enum { JK_MAX_PRODUCTS = 4 };
/// Several products over the same n tokens (Q, K and V; gate and up) as one job on the pool:
/// their row chunks are tasks of one job, so the threads meet once for all of them rather
/// than once each. Each result is the one jk_matmul_quantized gives.
void jk_matmul_quantized_many(const jk_product *products, int count, int n);

// ---- encoders (vision, text) -------------------------------------------------------------------

/// LayerNorm of each of `rows` rows of n values in place: (x − mean) / sqrt(var + eps) · γ + β,
/// with the biased variance, in the order ONNX exporters decompose it.
void jk_layernorm_rows(float *x, int rows, int n, const float *gamma, const float *beta, float eps);
/// x · (erf(x/√2) + 1) / 2 in place (the exact GELU).
void jk_gelu_erf(float *x, int64_t n);
/// The tanh approximation of GELU in place (SigLIP's gelu_pytorch_tanh).
void jk_gelu_tanh(float *x, int64_t n);
/// y[r][i] += scale[i] · x[r][i] for `rows` rows of n values (a residual add with a layer scale).
void jk_add_scaled_rows(float *y, const float *x, const float *scale, int rows, int n);
/// Scatter-adds the columns of a transposed convolution (cols: (cout·k·k) × (h·w), from
/// Wᵀ · input) into out (cout × oh × ow, zeroed first): row (o, ky, kx), column (i, j) lands at
/// (stride·i − pad + ky, stride·j − pad + kx).
void jk_col2im_transposed(const float *cols, int cout, int k, int h, int w, int stride, int pad,
                          float *out, int oh, int ow);

// ---- memory ------------------------------------------------------------------------------------

/// Returns the heap's free memory to the system (glibc's malloc_trim; nothing elsewhere).
void jk_release_free_memory(void);

// ---- threads and CPU features ------------------------------------------------------------------

typedef void (*jk_task_fn)(void *ctx, int task);
/// Sets the size of the engine's worker pool (the caller counts as one). Returns the size.
int jk_pool_set_threads(int threads);
int jk_pool_threads(void);
/// Runs fn(ctx, t) for t in [0, tasks) on the pool; returns when all are done.
void jk_parallel(jk_task_fn fn, void *ctx, int tasks);

/// Select kernel implementations: level 0 portable, 1 AVX2/FMA/F16C, 2 AVX-512 VNNI; each
/// falls back to the best the CPU has. All levels give identical results.
int jk_select_matmul_kernels(int level);
int jk_select_attention_kernels(int level);
void jk_select_exp_kernels(int level);

// ---- retrieval vectors ---------------------------------------------------------------------------

/// out[j] = dot(rows[j], q) for j in [0, n): int8 rows of `dim` values (each in -127...127),
/// exact in int32. AVX2 where the CPU has it; a scan of 8192 rows or more is shared among the
/// compute threads (`jk_parallel`). Every path gives the same integers.
void jk_dot_i8_rows(const int8_t *rows, int64_t n, int dim, const int8_t *q, int32_t *out);
/// Bytes of one sign-bit row of `dim` values: one bit per value, padded to 32 values.
int jk_sign_row_bytes(int dim);
/// Sign bits of `n` int8 rows of `dim` values: bit d%8 of byte d/8 of a row is set where the
/// code is positive; padding bits are 0.
void jk_sign_bits_i8(const int8_t *codes, int64_t n, int dim, uint8_t *bits);
/// out[j] = Σ q[d] over the set bits of sign row j: with the query's own values and the rows'
/// signs only, an estimate of the row's product with q, for a prefilter that reads one bit per
/// value. Exact in int32 on every path; shared among the compute threads from 32768 rows.
void jk_sign_dot_rows(const uint8_t *bits, int64_t n, int dim, const int8_t *q, int32_t *out);
/// The indices j of the largest keys[j], at least `keep` of them (all when n <= keep; ties at
/// the cut, within a histogram bucket, come too), ascending, written to `slots` (room for n).
/// Returns how many. Three passes over the keys and no sorting.
int64_t jk_top_i32(const int32_t *keys, int64_t n, int64_t keep, int32_t *slots);
/// out[i] = dot(rows[slots[i]], q) for the int8 rows named by `slots`, exact in int32; lists of
/// 1024 rows or more are shared among the compute threads.
void jk_dot_i8_slots(const int8_t *rows, const int32_t *slots, int64_t count, int dim, const int8_t *q, int32_t *out);
/// out[i] = dot(rows[slots[i]], q) for the fp16 rows named by `slots`: eight lanes of fused
/// multiply-adds, added in one fixed order, so every path gives the same bits.
void jk_dot_f16_slots(const uint16_t *rows, const int32_t *slots, int64_t count, int dim, const float *q, float *out);
/// Level 0: the portable loops; otherwise AVX2 (with FMA and F16C) when the CPU has it.
void jk_select_vector_search_kernels(int level);

#ifdef __cplusplus
}
#endif

#endif
