// The shape every quantized matrix-product kernel shares. Private to CJarvisKernels.
#ifndef JARVIS_MATMUL_KERNELS_H
#define JARVIS_MATMUL_KERNELS_H

#include <stdint.h>

/// y[t*ldy + r] = W[r] · x[t] for rows r0..<r1 and tokens 0..<n. `w` holds rows of `row_bytes`
/// with `nb` blocks each; `x` holds n rows of nb activation blocks in the type's format.
typedef void (*jk_mm_fn)(const uint8_t *w, int64_t row_bytes, int nb, const void *x,
                         int n, float *y, int64_t ldy, int r0, int r1);

/// The Q4_K or Q6_K kernel for a CPU level (0 portable, ≥1 AVX2); KQuantMatmul.c.
jk_mm_fn jk_kquant_kernel(int type, int level);

#endif
