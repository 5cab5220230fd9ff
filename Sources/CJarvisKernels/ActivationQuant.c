// Activation rounding that reproduces llama.cpp's numerics on fp32 hardware.
//
// ggml multiplies a quantized weight row by an activation row that it first quantizes to the
// weight type's "vec_dot_type" (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for the
// K-quants, F16 for F16 ...). Because dequant(w)·dequant(quant(x)) equals ggml's integer dot
// product in exact arithmetic, rounding x the same way before an fp32 GEMM with dequantized
// weights gives llama.cpp's results up to float summation order. The rounding follows ggml's
// x86 (AVX2) quantizers: scale 127/amax, round half to even.
#include "CJarvisKernels.h"
#include <math.h>
#include <string.h>

// Q8_0 and Q8_1 quantize values identically. Q8_1 also stores s = fp16(d * sum(q)), which the
// dot product with a Q4_1/Q5_1 row multiplies by the weight block's minimum. Rounded values
// alone would give m * fp16(d) * sum(q) instead, so `delta` (when not NULL) receives, per block,
// s - fp16(d) * sum(q): the caller adds delta · mins to the product.
static void q8_blocks(float *x, int64_t n, float *delta) {
    for (int64_t b = 0; b + 32 <= n; b += 32) {
        float *v = x + b;
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) { float a = fabsf(v[j]); if (a > amax) amax = a; }
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        const float dh = jk_fp16_to_fp32(jk_fp32_to_fp16(d));   // the block stores d as fp16
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            float q = nearbyintf(v[j] * id);
            sum += (int)q;
            v[j] = dh * q;
        }
        if (delta) {
            const float s = jk_fp16_to_fp32(jk_fp32_to_fp16(d * (float)sum));
            delta[b / 32] = s - dh * (float)sum;
        }
    }
}

static void q8_k_blocks(float *x, int64_t n) {
    for (int64_t b = 0; b + 256 <= n; b += 256) {
        float *v = x + b;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 256; j++) { float a = fabsf(v[j]); if (a > amax) { amax = a; max = v[j]; } }
        if (amax == 0.0f) { for (int j = 0; j < 256; j++) v[j] = 0.0f; continue; }
        const float iscale = -127.0f / max;
        const float d = 1.0f / iscale;
        for (int j = 0; j < 256; j++) {
            float q = nearbyintf(iscale * v[j]);
            if (q > 127.0f) q = 127.0f;
            v[j] = d * q;
        }
    }
}

static void round_bf16(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        union { float f; uint32_t u; } v = { x[i] };
        if ((v.u & 0x7fffffffu) > 0x7f800000u) { v.u = (v.u >> 16 | 64) << 16; }    // quiet NaN
        else { v.u = ((v.u + (0x7fffu + ((v.u >> 16) & 1))) >> 16) << 16; }
        x[i] = v.f;
    }
}

void jk_quantize_activations(int weight_type, float *x, int64_t n, float *delta) {
    switch (weight_type) {
    case JK_TYPE_Q4_0: case JK_TYPE_Q5_0: case JK_TYPE_Q8_0: case JK_TYPE_IQ4_NL:
        q8_blocks(x, n, NULL);
        return;
    case JK_TYPE_Q4_1: case JK_TYPE_Q5_1:
        q8_blocks(x, n, delta);
        return;
    case JK_TYPE_Q2_K: case JK_TYPE_Q3_K: case JK_TYPE_Q4_K: case JK_TYPE_Q5_K: case JK_TYPE_Q6_K:
    case JK_TYPE_IQ4_XS:
        q8_k_blocks(x, n);
        return;
    case JK_TYPE_F16: jk_round_fp16(x, n); return;
    case JK_TYPE_BF16: round_bf16(x, n); return;
    default: return;              // F32: used as is
    }
}

// ---- activations for the quantized products ---------------------------------------------------

int64_t jk_activation_bytes(int format, int64_t n) {
    switch (format) {
    case JK_ACTIVATIONS_Q8: return n / 32 * (int64_t)sizeof(jk_block_q8);
    case JK_ACTIVATIONS_Q8K: return n / 256 * (int64_t)sizeof(jk_block_q8k);
    case JK_ACTIVATIONS_F16: case JK_ACTIVATIONS_BF16: return n * (int64_t)sizeof(float);
    default: return 0;
    }
}

void jk_prepare_activations(int format, const float *x, void *out, int64_t n) {
    switch (format) {
    case JK_ACTIVATIONS_Q8: jk_quantize_q8(x, (jk_block_q8 *)out, n); return;
    case JK_ACTIVATIONS_Q8K: jk_quantize_q8k(x, (jk_block_q8k *)out, n); return;
    case JK_ACTIVATIONS_F16: memcpy(out, x, (size_t)n * sizeof(float)); jk_round_fp16((float *)out, n); return;
    case JK_ACTIVATIONS_BF16: memcpy(out, x, (size_t)n * sizeof(float)); round_bf16((float *)out, n); return;
    default: return;
    }
}
