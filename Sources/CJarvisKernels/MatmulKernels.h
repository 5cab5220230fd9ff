// The shape every quantized matrix-product kernel shares. Private to CJarvisKernels.
#ifndef JARVIS_MATMUL_KERNELS_H
#define JARVIS_MATMUL_KERNELS_H

#include <stdint.h>

/// y[t*ldy + r] = W[r] · x[t] for rows r0..<r1 and tokens 0..<n. `w` holds rows of `row_bytes`
/// with `nb` blocks each; `x` holds n rows of nb activation blocks in the type's format.
typedef void (*jk_mm_fn)(const uint8_t *w, int64_t row_bytes, int nb, const void *x,
                         int n, float *y, int64_t ldy, int r0, int r1);

/// The sixteen signed values a 4-bit IQ4_NL / IQ4_XS index picks (Dequantize.c).
extern const int8_t jk_iq4nl_values[16];

/// The kernel of a K-type (Q2_K…Q6_K, IQ4_XS) for a CPU level (0 portable, ≥1 AVX2); KQuantMatmul.c.
jk_mm_fn jk_kquant_kernel(int type, int level);
/// Chooses jk_quantize_q8k's code for a CPU level (0 portable, ≥1 AVX2); KQuantMatmul.c.
void jk_kquant_select_quantizer(int level);
/// The F16 or BF16 kernel for a CPU level (0 portable, ≥1 AVX2); HalfMatmul.c.
jk_mm_fn jk_half_kernel(int type, int level);

#endif
