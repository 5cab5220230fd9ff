// Jarvis's quantized row products against llama.cpp's own (ggml's CPU vec_dot) on the same
// weight blocks, made by llama.cpp's quantizer, and the same activations: how many of 200 rows
// of 2048 agree bit for bit, and the largest relative difference. Built and run by
// tools/check_kernel_parity.sh against the pinned llama.cpp's static libraries.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "ggml.h"
#include "ggml-cpu.h"
#include "CJarvisKernels.h"

static uint64_t s = 12345;
static uint64_t rnd(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }
static float frand(void) { return (float)((rnd() >> 11) * 0x1.0p-53) * 2 - 1; }

int main(void) {
    ggml_cpu_init();
    jk_select_matmul_kernels(2);
    int types[] = { GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q8_0, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_IQ4_NL,
                    GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K, GGML_TYPE_IQ4_XS,
                    GGML_TYPE_F16, GGML_TYPE_BF16 };
    const int cols = 2048, rows = 200;
    for (unsigned t = 0; t < sizeof types / sizeof types[0]; t++) {
        int type = types[t];
        const struct ggml_type_traits_cpu *tr = ggml_get_type_traits_cpu(type);
        const struct ggml_type_traits_cpu *vt = ggml_get_type_traits_cpu(tr->vec_dot_type);
        size_t rb = ggml_row_size(type, cols);
        float *wf = malloc(sizeof(float) * cols * rows), *x = malloc(sizeof(float) * cols);
        for (int i = 0; i < cols * rows; i++) wf[i] = frand() * 0.1f;
        for (int i = 0; i < cols; i++) x[i] = frand() * 3;
        uint8_t *w = malloc(rb * rows);
        ggml_quantize_chunk(type, wf, w, 0, rows, cols, NULL);   // real llama.cpp quantizer
        uint8_t *yq = malloc(ggml_row_size(tr->vec_dot_type, cols));
        vt->from_float(x, yq, cols);
        int fmt = jk_activation_format(type);
        void *xa = malloc(jk_activation_bytes(fmt, cols));
        jk_prepare_activations(fmt, x, xa, cols);
        float *y = malloc(sizeof(float) * rows);
        jk_matmul_quantized(type, w, rows, cols, xa, 1, y, rows);
        int same = 0; double maxrel = 0;
        for (int r = 0; r < rows; r++) {
            float ref; tr->vec_dot(cols, &ref, 0, w + r * rb, 0, yq, 0, 1);
            if (memcmp(&ref, &y[r], 4) == 0) same++;
            double d = (y[r] - ref) / (ref != 0 ? ref : 1); if (d < 0) d = -d; if (d > maxrel) maxrel = d;
        }
        printf("%-7s %3d/%d bit-identical, max rel diff %.2g\n", ggml_type_name(type), same, rows, maxrel);
    }
    return 0;
}
