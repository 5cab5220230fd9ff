// What the CPU offers, asked once by each kernel family (which may be told to use less).
#pragma once

/// Whether the CPU has AVX2, FMA and F16C (0 off x86-64).
static inline int jk_cpu_avx2_fma_f16c(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}
