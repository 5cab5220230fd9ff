#include "CJarvisKernels.h"
#include <math.h>

void jk_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    // Squares in float, summed in double, as ggml does.
    double ss = 0.0;
    for (int i = 0; i < n; i++) ss += (double)(x[i] * x[i]);
    float scale = 1.0f / sqrtf((float)(ss / n) + eps);
    for (int i = 0; i < n; i++) out[i] = (x[i] * scale) * w[i];
}

void jk_add(float *y, const float *b, int n) {
    for (int i = 0; i < n; i++) y[i] += b[i];
}

void jk_rope_table(float pos, int dims, float base, const float *freq_factors, float *cos_out, float *sin_out) {
    const float theta_scale = powf(base, -2.0f / (float)dims);
    float theta = pos;
    for (int i = 0; i < dims / 2; i++) {
        // ggml divides the accumulated angle by the factor, then takes cos and sin of that.
        const float t = freq_factors ? theta / freq_factors[i] : theta;
        cos_out[i] = cosf(t);
        sin_out[i] = sinf(t);
        theta *= theta_scale;
    }
}

// The rotation is a·cos − b·sin and a·sin + b·cos with the first product fused into the
// subtraction / addition (fmaf(a, cos, −b·sin)), which is how GCC compiles ggml's rope for
// CPUs with FMA; measured bit for bit against llama.cpp. fmaf is exact, so the FMA clone (an
// inline vfmadd rather than a call into libm) gives the same bits.
#if defined(__x86_64__)
__attribute__((target_clones("fma", "default")))
#endif
void jk_rope_apply(float *x, int heads, int head_dim, int dims, const float *c, const float *s, int neox) {
    const int half = dims / 2;
    for (int h = 0; h < heads; h++) {
        float *v = x + (size_t)h * head_dim;
        for (int i = 0; i < half; i++) {
            float *pa = neox ? v + i : v + 2 * i;
            float *pb = neox ? v + i + half : v + 2 * i + 1;
            const float a = *pa, b = *pb;
            *pa = fmaf(a, c[i], -(b * s[i]));
            *pb = fmaf(a, s[i], b * c[i]);
        }
    }
}
