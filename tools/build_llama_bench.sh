#!/usr/bin/env bash
# Builds llama.cpp's own `llama-bench` and `llama-quantize` from the llama.cpp that the pinned
# llama-cpp-python sdist vendors: the peer `jarvis-bench engine` measures against, and the
# quantizer tools/make_shape_gguf.py uses. A set-up step for benchmarks only; no test runs it.
#
#   tools/build_llama_bench.sh          # prints the bin directory when done
#
# Result: $JARVIS_CACHE/llama.cpp-0.3.36/bin/{llama-bench,llama-quantize}, where JARVIS_CACHE
# defaults to ${XDG_CACHE_HOME:-~/.cache}/jarvis. Idempotent: a second run finds both binaries
# and returns at once. Release, GGML_NATIVE=ON (tuned for this CPU, as Jarvis's kernels are),
# CPU only: no CUDA, no BLAS. 23 minutes on a busy 2-core machine.
set -euo pipefail

VERSION=0.3.36
SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
CACHE=${JARVIS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jarvis}
ROOT=$CACHE/llama.cpp-$VERSION
BIN=$ROOT/bin

if [[ -x $BIN/llama-bench && -x $BIN/llama-quantize ]]; then
    echo "$BIN"
    exit 0
fi

if ! command -v cmake >/dev/null; then
    echo "cmake missing: installing it with apt-get" >&2
    apt-get update -qq && apt-get install -y -qq cmake >&2
fi

mkdir -p "$ROOT"
SDIST=$ROOT/llama_cpp_python-$VERSION.tar.gz
if [[ ! -f $SDIST ]] || ! echo "$SHA256  $SDIST" | sha256sum -c --quiet - 2>/dev/null; then
    rm -f "$SDIST"
    pip download --quiet --no-binary :all: --no-deps --dest "$ROOT" "llama-cpp-python==$VERSION" >&2
fi
echo "$SHA256  $SDIST" | sha256sum -c --quiet - || { echo "sha256 mismatch for $SDIST" >&2; exit 1; }

SRC=$ROOT/src
if [[ ! -f $SRC/CMakeLists.txt ]]; then
    rm -rf "$SRC" "$ROOT/unpack"
    mkdir -p "$ROOT/unpack"
    tar -xzf "$SDIST" -C "$ROOT/unpack" "llama_cpp_python-$VERSION/vendor/llama.cpp"
    mv "$ROOT/unpack/llama_cpp_python-$VERSION/vendor/llama.cpp" "$SRC"
    rm -rf "$ROOT/unpack"
fi

cmake -S "$SRC" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=ON -DGGML_CUDA=OFF -DGGML_BLAS=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
    -DLLAMA_BUILD_TOOLS=ON >&2
cmake --build "$ROOT/build" --target llama-bench llama-quantize -j2 >&2

mkdir -p "$BIN"
for tool in llama-bench llama-quantize; do
    cp "$(find "$ROOT/build" -type f -name "$tool" -perm -u+x | head -1)" "$BIN/$tool"
done
echo "$BIN"
