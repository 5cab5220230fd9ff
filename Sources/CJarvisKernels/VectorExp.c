// exp(x) as llama.cpp's x86 builds compute it in softmax and SiLU: a range reduction to
// n·ln2 + b, a degree-5 polynomial in b with fused multiply-adds, and j·2^n (the method of the
// ARM optimized-routines expf, as ggml uses it). Softmax weights and SiLU outputs feed
// rounding steps (fp16 attention weights, 8-bit activations), so matching llama.cpp's
// last bit here is what keeps greedy decoding identical. Accuracy: within 1-2 ulp of expf.
#include "CJarvisKernels.h"
#include "Reductions.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

float jk_expf_ggml(float x) {
    const float r = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, r);
    const float n = z - r;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    if (fabsf(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                         u, fmaf(0x1.ffffecp-1f, b, 1.0f));
    return ldexpf(j, (int)n);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static inline __m256 expf8(__m256 x) {
    const __m256 r = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
    const __m256 n = _mm256_sub_ps(z, r);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
        u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f)));
    // j·2^n by adding n to the exponent: exact while the result stays a normal number.
    const __m256 absn = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
    const __m256i e = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
    __m256 res = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(j), e));
    const int outside = _mm256_movemask_ps(_mm256_cmp_ps(absn, _mm256_set1_ps(125.0f), _CMP_GT_OQ));
    if (outside) {
        float xs[8], rs[8];
        _mm256_storeu_ps(xs, x);
        _mm256_storeu_ps(rs, res);
        for (int i = 0; i < 8; i++) if (outside & (1 << i)) rs[i] = jk_expf_ggml(xs[i]);
        res = _mm256_loadu_ps(rs);
    }
    return res;
}
#endif

static int use_avx2 = 0;

void jk_select_exp_kernels(int level) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    use_avx2 = level >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    (void)level;
#endif
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void swiglu_avx2(float *gate, const float *up, int n) {
    int i = 0;
    const int vec = n / 16 * 16;   // llama.cpp's vector loop takes groups of 16, libm the rest
    for (; i < vec; i += 8) {
        const __m256 x = _mm256_loadu_ps(gate + i);
        const __m256 e = expf8(_mm256_sub_ps(_mm256_setzero_ps(), x));
        const __m256 s = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}
#endif

void jk_swiglu(float *gate, const float *up, int n) {
#if defined(__x86_64__)
    if (use_avx2) { swiglu_avx2(gate, up, n); return; }
#endif
    // llama.cpp runs its vector exp over whole groups of 16 and libm's expf on the rest.
    int vec = n / 16 * 16;
    for (int i = 0; i < n; i++) {
        float g = gate[i];
        float e = i < vec ? jk_expf_ggml(0.0f - g) : expf(-g);
        gate[i] = g / (1.0f + e) * up[i];
    }
}

#if defined(__x86_64__)
// jk_softmax's loop with the maximum, the whole groups of 16 and the scaling in registers. The
// maximum is exact in any order (max_ps(x, m) keeps m where x is NaN, as `x > mx` does); each
// group's sum is jk_reduce16's, as jk_reduce8_avx(hi + lo); the double sum keeps its order.
__attribute__((target("avx2,fma")))
static void softmax_avx2(float *x, int n) {
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
        m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
    }
    float lanes[8], mx = -INFINITY;
    _mm256_storeu_ps(lanes, _mm256_max_ps(m0, m1));
    for (int l = 0; l < 8; l++) if (lanes[l] > mx) mx = lanes[l];
    for (; i < n; i++) if (x[i] > mx) mx = x[i];
    if (mx == -INFINITY) { for (i = 0; i < n; i++) x[i] = 0.0f; return; }
    const __m256 m = _mm256_set1_ps(mx);
    double sum = 0.0;
    for (i = 0; i + 16 <= n; i += 16) {
        const __m256 lo = expf8(_mm256_sub_ps(_mm256_loadu_ps(x + i), m)), hi = expf8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), m));
        _mm256_storeu_ps(x + i, lo);
        _mm256_storeu_ps(x + i + 8, hi);
        sum += (double)jk_reduce8_avx(_mm256_add_ps(hi, lo));
    }
    if (i < n) {   // the partial last group, as if padded with zero weights
        float v[16] = {0};
        for (int k = 0; k < n - i; k++) x[i + k] = v[k] = jk_expf_ggml(x[i + k] - mx);
        sum += (double)jk_reduce16(v);
    }
    const float inv = (float)(1.0 / sum);
    const __m256 vinv = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
    for (; i < n; i++) x[i] *= inv;
}
#endif

void jk_softmax(float *x, int n) {
#if defined(__x86_64__)
    if (use_avx2) { softmax_avx2(x, n); return; }
#endif
    float mx = -INFINITY;
    for (int i = 0; i < n; i++) if (x[i] > mx) mx = x[i];
    if (mx == -INFINITY) { for (int i = 0; i < n; i++) x[i] = 0.0f; return; }
    double sum = 0.0;
    int i = 0;
    // Groups of 16 starting at index 0, as llama.cpp's 512-bit loop; a partial last group
    // behaves as if padded with masked (zero-weight) positions, which is what llama.cpp's
    // padded attention rows hold.
    for (; i < n; i += 16) {
        float v[16];
        int m = n - i < 16 ? n - i : 16;
        for (int k = 0; k < m; k++) v[k] = jk_expf_ggml(x[i + k] - mx);
        for (int k = m; k < 16; k++) v[k] = 0.0f;
        for (int k = 0; k < m; k++) x[i + k] = v[k];
        sum += (double)jk_reduce16(v);
    }
    const float inv = (float)(1.0 / sum);
    for (int k = 0; k < n; k++) x[k] *= inv;
}
