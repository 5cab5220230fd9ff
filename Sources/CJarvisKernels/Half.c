#include "CJarvisKernels.h"
#include <string.h>

float jk_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t mant = h & 0x3FFu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {
            // subnormal: normalise
            int e = -1;
            do { e++; mant <<= 1; } while ((mant & 0x400u) == 0);
            mant &= 0x3FFu;
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (mant << 13);
        }
    } else if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (mant << 13);
    } else {
        bits = sign | ((exp + (127 - 15)) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t jk_fp32_to_fp16(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t absx = x & 0x7FFFFFFFu;
    if (absx >= 0x7F800000u) {                 // inf or NaN
        return (uint16_t)(sign | 0x7C00u | (absx > 0x7F800000u ? 0x200u : 0));
    }
    if (absx >= 0x477FF000u) {                 // rounds to >= 65520: overflow to inf
        return (uint16_t)(sign | 0x7C00u);
    }
    if (absx < 0x38800000u) {                  // below the smallest normal half: subnormal or zero
        if (absx < 0x33000000u) return (uint16_t)sign;   // < 2^-25 rounds to zero
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7FFFFFu) | 0x800000u;
        uint32_t shift = 126 - e;              // so that the result is m >> (shift - 13 + ...) in half ulps
        // value = m * 2^(e-150); half subnormal unit = 2^-24 -> q = m * 2^(e-126)
        uint32_t s = shift;                    // right shift amount for m to get q (q = m >> (126 - e))
        uint32_t q = m >> s;
        uint32_t rem = m & ((1u << s) - 1);
        uint32_t halfway = 1u << (s - 1);
        if (rem > halfway || (rem == halfway && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t e = (absx >> 23) - 127 + 15;
    uint32_t m = absx & 0x7FFFFFu;
    uint32_t h = (e << 10) | (m >> 13);
    uint32_t rem = m & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;   // carry into exponent is correct
    return (uint16_t)(sign | h);
}

// Row conversions: F16C when the CPU has it (the same round-to-nearest-even results), the
// scalar functions above otherwise.
#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx,f16c")))
static void widen_f16c(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = jk_fp16_to_fp32(src[i]);
}

__attribute__((target("avx,f16c")))
static void narrow_f16c(const float *src, uint16_t *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = jk_fp32_to_fp16(src[i]);
}

__attribute__((target("avx,f16c")))
static void round_f16c(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    for (; i < n; i++) x[i] = jk_fp16_to_fp32(jk_fp32_to_fp16(x[i]));
}

static int has_f16c(void) {
    static _Atomic int cached = -1;   // written once, possibly by several threads with the same value
    int c = cached;
    if (c < 0) {
        __builtin_cpu_init();
        c = __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
        cached = c;
    }
    return c;
}
#endif

void jk_fp16_to_fp32_row(const uint16_t *src, float *dst, int64_t n) {
#if defined(__x86_64__)
    if (has_f16c()) { widen_f16c(src, dst, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = jk_fp16_to_fp32(src[i]);
}

void jk_fp32_to_fp16_row(const float *src, uint16_t *dst, int64_t n) {
#if defined(__x86_64__)
    if (has_f16c()) { narrow_f16c(src, dst, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = jk_fp32_to_fp16(src[i]);
}

void jk_round_fp16(float *x, int64_t n) {
#if defined(__x86_64__)
    if (has_f16c()) { round_f16c(x, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) x[i] = jk_fp16_to_fp32(jk_fp32_to_fp16(x[i]));
}
