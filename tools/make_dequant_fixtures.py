#!/usr/bin/env python3
"""Writes Tests/JarvisEngineTests/Fixtures/dequant.json: random blocks of every ggml type the
engine dequantizes, with the reference result of the `gguf` package's dequantizer.

Pinned reference: pip install gguf==0.19.0 numpy. Run from the repository root.
Block bytes are random; the fp16 scale fields are overwritten with finite random values so
that every expected float is finite and compared bit for bit.
"""
import base64
import json
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

from importlib.metadata import version

if version("gguf") != "0.19.0":
    sys.exit(f"expected gguf==0.19.0, found {version('gguf')}: pip install gguf==0.19.0")

# type -> (blocks to generate, byte offsets of fp16 scale fields inside a block)
TYPES = {
    T.F32: (64, None), T.F16: (64, None), T.BF16: (64, None),
    T.Q4_0: (16, [0]), T.Q4_1: (16, [0, 2]), T.Q5_0: (16, [0]), T.Q5_1: (16, [0, 2]), T.Q8_0: (16, [0]),
    T.Q2_K: (4, [80, 82]), T.Q3_K: (4, [108]), T.Q4_K: (4, [0, 2]), T.Q5_K: (4, [0, 2]), T.Q6_K: (4, [208]),
    T.IQ4_NL: (16, [0]), T.IQ4_XS: (4, [0]),
}


def main():
    rng = np.random.default_rng(20261127)
    cases = []
    for qtype, (nblocks, f16_fields) in TYPES.items():
        block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
        n = nblocks * block_elems
        if qtype == T.F32:
            raw = rng.standard_normal(n).astype(np.float32).tobytes()
        elif qtype == T.F16:
            vals = np.concatenate([rng.standard_normal(n - 8) * 100, [0.0, -0.0, 6e-8, -3e-5, 65504, 1e-7, 2.0**-24, 0.5]])
            raw = vals.astype(np.float16).tobytes()
        elif qtype == T.BF16:
            raw = (rng.standard_normal(n).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
        else:
            blocks = rng.integers(0, 256, size=(nblocks, block_bytes), dtype=np.uint8)
            for off in f16_fields:
                scales = (rng.standard_normal(nblocks) * 0.05).astype(np.float16)
                blocks[:, off:off + 2] = scales.view(np.uint8).reshape(nblocks, 2)
            raw = blocks.tobytes()
        data = np.frombuffer(raw, dtype=np.uint8)
        expected = dequantize(data, qtype).astype(np.float32).reshape(-1)
        assert expected.size == n, (qtype, expected.size, n)
        assert np.all(np.isfinite(expected)), qtype
        cases.append({
            "type": qtype.name, "type_id": int(qtype), "elements": n,
            "data": base64.b64encode(raw).decode(),
            "expected_f32_le": base64.b64encode(expected.astype("<f4").tobytes()).decode(),
        })
    out = {"generator": "tools/make_dequant_fixtures.py", "reference": "gguf " + version("gguf"),
           "cases": cases}
    path = "Tests/JarvisEngineTests/Fixtures/dequant.json"
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {path}: {len(cases)} types")


if __name__ == "__main__":
    sys.exit(main())
