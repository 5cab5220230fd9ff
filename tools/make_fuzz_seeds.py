#!/usr/bin/env python3
"""Writes the committed seed corpora for the GGUF and safetensors fuzz targets (Fuzz/corpus/).

Small but well-formed files, so the fuzzers start from inputs that get deep into the parsers:
GGUF v3 files with every metadata type and a few tensors (written by the `gguf` package), and
safetensors files in the format's plain layout (8-byte header length, JSON header, data).
Pinned reference: pip install gguf==0.19.0 numpy. Run from the repository root.
"""
import json
import os
import struct
import sys
from importlib.metadata import version

import numpy as np
import gguf

if version("gguf") != "0.19.0":
    sys.exit(f"expected gguf==0.19.0, found {version('gguf')}: pip install gguf==0.19.0")

root = "Fuzz/corpus"
os.makedirs(f"{root}/gguf", exist_ok=True)
os.makedirs(f"{root}/safetensors", exist_ok=True)
rng = np.random.default_rng(5)

def write_gguf(name, tensors, extra):
    path = f"{root}/gguf/{name}.gguf"
    w = gguf.GGUFWriter(path, "llama")
    w.add_uint32("seed.u32", 7)
    w.add_int8("seed.i8", -3)
    w.add_float32("seed.f32", 0.5)
    w.add_bool("seed.bool", True)
    w.add_string("seed.string", "jarvis")
    w.add_array("seed.array", [1, 2, 3])
    w.add_array("seed.strings", ["a", "bb", "ccc"])
    for k, v in extra.items():
        w.add_uint64(k, v)
    for tname, arr, qtype in tensors:
        if qtype is None:
            w.add_tensor(tname, arr)
        else:
            w.add_tensor(tname, gguf.quants.quantize(arr, qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

T = gguf.GGMLQuantizationType
write_gguf("f32", [("a", rng.standard_normal((4, 8)).astype(np.float32), None)], {})
write_gguf("f16", [("b", rng.standard_normal((2, 32)).astype(np.float16), None)], {"seed.u64": 1 << 40})
write_gguf("q8_0", [("c", rng.standard_normal((2, 64)).astype(np.float32), T.Q8_0),
                    ("d", rng.standard_normal((1, 32)).astype(np.float32), T.Q4_1)], {})

def write_safetensors(name, tensors):
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for tname, arr, dtype in tensors:
        raw = arr.tobytes()
        header[tname] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(f"{root}/safetensors/{name}.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)

write_safetensors("f32", [("w", rng.standard_normal((3, 4)).astype(np.float32), "F32")])
write_safetensors("mixed", [("x", rng.standard_normal((2, 2)).astype(np.float16), "F16"),
                            ("y", rng.standard_normal((5,)).astype(np.float32), "F32")])
print("seeds written to", root)
