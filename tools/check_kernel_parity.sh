#!/usr/bin/env bash
# Compares every quantized product kernel of CJarvisKernels with llama.cpp's on this CPU
# (tools/kernel_parity/kernel_parity.c). Needs the pinned llama.cpp built by
# tools/build_llama_bench.sh; a check for people, not run by the tests.
#
#   tools/check_kernel_parity.sh
set -euo pipefail
CACHE=${JARVIS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jarvis}
ROOT=$CACHE/llama.cpp-0.3.36
[[ -f $ROOT/build/ggml/src/libggml-cpu.a ]] || { echo "llama.cpp is not built: run tools/build_llama_bench.sh first" >&2; exit 1; }
K=Sources/CJarvisKernels
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# The same flags as Package.swift gives the kernels.
for f in $K/*.c; do gcc -O3 -ffp-contract=off -fno-math-errno -I$K/include -c "$f" -o "$OUT/$(basename "$f" .c).o"; done
gcc -O2 -I"$ROOT/src/ggml/include" -I$K/include -c tools/kernel_parity/kernel_parity.c -o "$OUT/main.o"
g++ -o "$OUT/kernel_parity" "$OUT"/*.o "$ROOT/build/ggml/src/libggml-cpu.a" "$ROOT/build/ggml/src/libggml-base.a" -lpthread -lm -fopenmp
"$OUT/kernel_parity"
