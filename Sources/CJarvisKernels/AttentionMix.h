// The weighted sum of V rows in llama.cpp's tiled order, kept in registers; shared by the fp16
// and 8-bit attention kernels. Private to CJarvisKernels.
#ifndef JARVIS_ATTENTION_MIX_H
#define JARVIS_ATTENTION_MIX_H

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>

/// Eight values of row j from dimension d, widened to fp32.
typedef __m256 (*jk_value_loader)(const void *rows, const void *scales, int j, int d, int hd);

/// Adds rows [0, n) of V, weighted by p, to a tiled-order state (16 slots of hd floats; row j
/// goes to slot (start + j) % 16). The rows that fill whole turns of the 16 slots are summed in
/// registers and stored once; the rows before and after them go to the state directly. Each slot takes its rows in the same order either way, so the bits are those
/// of adding one row at a time.
/// Adds rows [from, to) one at a time to a state of `slots` slots (16 tiled, 64 vector).
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline void
jk_mix_rows_one_by_one(float *state, const float *p, const void *v, const void *scales, int from, int to, int hd, int start, int slots,
                       jk_value_loader load) {
    for (int j = from; j < to; j++) {
        float *a = state + (size_t)((start + j) % slots) * hd;
        const __m256 w = _mm256_set1_ps(p[j]);
        for (int d = 0; d < hd; d += 8) _mm256_storeu_ps(a + d, _mm256_fmadd_ps(load(v, scales, j, d, hd), w, _mm256_loadu_ps(a + d)));
    }
}

__attribute__((target("avx2,fma,f16c"), always_inline)) static inline void
jk_mix_tiled_avx2(float *state, const float *p, const void *v, const void *scales, int n, int hd, int start, jk_value_loader load) {
    const int lead = (16 - start % 16) % 16 < n ? (16 - start % 16) % 16 : n;
    const int turns = (n - lead) / 16, tail = lead + 16 * turns;
    jk_mix_rows_one_by_one(state, p, v, scales, 0, lead, hd, start, 16, load);
    if (hd % 64 == 0) {
        // Slot by slot, 64 dimensions in eight registers: one weight broadcast per row.
        for (int d = 0; d < hd; d += 64) {
            for (int l = 0; l < 16 && turns > 0; l++) {
                float *a = state + (size_t)l * hd + d;
                __m256 acc[8];
                for (int c = 0; c < 8; c++) acc[c] = _mm256_loadu_ps(a + 8 * c);
                for (int j = lead + l; j < tail; j += 16) {
                    const __m256 w = _mm256_set1_ps(p[j]);
                    for (int c = 0; c < 8; c++) acc[c] = _mm256_fmadd_ps(load(v, scales, j, d + 8 * c, hd), w, acc[c]);
                }
                for (int c = 0; c < 8; c++) _mm256_storeu_ps(a + 8 * c, acc[c]);
            }
        }
    } else {
        // Eight dimensions of eight slots at a time.
        for (int d = 0; d < hd && turns > 0; d += 8) {
            for (int half = 0; half < 16; half += 8) {
                __m256 acc[8];
                for (int l = 0; l < 8; l++) acc[l] = _mm256_loadu_ps(state + (size_t)(half + l) * hd + d);
                for (int t = 0; t < turns; t++) {
                    const int j0 = lead + 16 * t + half;
                    for (int l = 0; l < 8; l++) acc[l] = _mm256_fmadd_ps(load(v, scales, j0 + l, d, hd), _mm256_set1_ps(p[j0 + l]), acc[l]);
                }
                for (int l = 0; l < 8; l++) _mm256_storeu_ps(state + (size_t)(half + l) * hd + d, acc[l]);
            }
        }
    }
    jk_mix_rows_one_by_one(state, p, v, scales, tail, n, hd, start, 16, load);
}
#endif

#endif
