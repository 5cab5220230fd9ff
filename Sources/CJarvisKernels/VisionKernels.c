// Row kernels of the encoders (LayerNorm, GELU, scaled residual add) and the scatter half of a strided
// transposed convolution. Compiled optimised even in debug builds, like the other kernels.
#include "CJarvisKernels.h"
#include <math.h>
#include <string.h>

void jk_layernorm_rows(float *x, int rows, int n, const float *gamma, const float *beta, float eps) {
    for (int r = 0; r < rows; r++) {
        float *v = x + (int64_t)r * n;
        float mean = 0.0f;
        for (int i = 0; i < n; i++) mean += v[i];
        mean /= (float)n;
        float var = 0.0f;
        for (int i = 0; i < n; i++) { const float d = v[i] - mean; var += d * d; }
        var /= (float)n;
        const float sd = sqrtf(var + eps);
        for (int i = 0; i < n; i++) v[i] = (v[i] - mean) / sd * gamma[i] + beta[i];
    }
}

void jk_gelu_erf(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = x[i] * (erff(x[i] / 1.41421356f) + 1.0f) * 0.5f;
}

void jk_gelu_tanh(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        x[i] = 0.5f * v * (1.0f + tanhf(0.7978845608f * (v + 0.044715f * v * v * v)));
    }
}

void jk_add_scaled_rows(float *y, const float *x, const float *scale, int rows, int n) {
    for (int r = 0; r < rows; r++) {
        float *dst = y + (int64_t)r * n;
        const float *src = x + (int64_t)r * n;
        for (int i = 0; i < n; i++) dst[i] += scale[i] * src[i];
    }
}

void jk_col2im_transposed(const float *cols, int cout, int k, int h, int w, int stride, int pad,
                          float *out, int oh, int ow) {
    // cols[(o*k + ky)*k + kx][i*w + j] lands at out[o][stride*i - pad + ky][stride*j - pad + kx].
    memset(out, 0, sizeof(float) * (size_t)cout * oh * ow);
    for (int o = 0; o < cout; o++) {
        for (int ky = 0; ky < k; ky++) {
            for (int kx = 0; kx < k; kx++) {
                const float *c = cols + ((int64_t)(o * k + ky) * k + kx) * h * w;
                float *dst = out + (int64_t)o * oh * ow;
                for (int i = 0; i < h; i++) {
                    const int y = stride * i - pad + ky;
                    if (y < 0 || y >= oh) continue;
                    for (int j = 0; j < w; j++) {
                        const int xo = stride * j - pad + kx;
                        if (xo >= 0 && xo < ow) dst[(int64_t)y * ow + xo] += c[i * w + j];
                    }
                }
            }
        }
    }
}
