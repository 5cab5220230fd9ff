#!/usr/bin/env python3
"""Random-weight GGUF models with the exact shapes of real 1B-class models, for engine speed.

Speed does not depend on the weights' values, so these files stand in for models no hub can be
reached for here: `jarvis-bench engine --model FILE` measures Jarvis against llama-bench on them.

    pip install gguf==0.19.0 numpy
    tools/build_llama_bench.sh                    # the pinned llama-quantize
    tools/make_shape_gguf.py                      # every shape, F16 + Q4_K_M + Q8_0
    tools/make_shape_gguf.py --shape qwen2.5-1.5b --types Q8_0
    tools/make_shape_gguf.py --shape qwen3-1.7b --types Q4_K_M Q8_0
    tools/make_shape_gguf.py --shape llama3.2-1b --types Q3_K_M   # Q3_K, Q4_K, Q5_K, Q6_K
    tools/make_shape_gguf.py --shape qwen2.5-0.5b --types Q4_K_M  # Q5_0, Q8_0, Q4_K, Q6_K

Files go to $JARVIS_CACHE/shapes (default ~/.cache/jarvis/shapes), never the repository:
NAME-F16.gguf written here with gguf-py, then NAME-Q4_K_M.gguf and NAME-Q8_0.gguf by llama.cpp's
own quantizer (its type choices per tensor, as a real Q4_K_M file has). Existing files are kept.
The script prints each file's tensor types and what they weigh.

The shapes are the models' Hugging Face config.json values. What differs from the real files:
- the weights are random (normal, sd 0.02; norms 1, biases 0);
- the tokenizer is synthetic: a GPT-2 byte-level BPE of the real vocabulary size (256 byte tokens,
  merges of letter pairs and triples, the real special tokens at their real ids), with the real
  pre-tokenizer name, so llama.cpp and Jarvis both load it and token ids stay in range;
- Llama-3.2-1B has no rope_freqs tensor (its llama3 long-context RoPE scaling): the rotation
  is then plain RoPE in both engines, which costs the same.
"""
import argparse
import os
import subprocess
import sys
from collections import Counter
from importlib.metadata import version
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from byte_bpe import byte_alphabet  # noqa: E402

GGUF_VERSION = "0.19.0"
try:
    import gguf
except ImportError:
    sys.exit(f"gguf is not installed: pip install gguf=={GGUF_VERSION}")
if version("gguf") != GGUF_VERSION:
    sys.exit(f"expected gguf=={GGUF_VERSION}, found {version('gguf')}: pip install gguf=={GGUF_VERSION}")

LLAMA_CPP_VERSION = "0.3.36"

# Hugging Face config.json of each model (meta-llama/Llama-3.2-1B, Qwen/Qwen2.5-1.5B-Instruct,
# Qwen/Qwen3-1.7B, Qwen/Qwen2.5-0.5B-Instruct).
SHAPES = {
    "llama3.2-1b": dict(
        arch="llama", name="Llama-3.2-1B shape (random weights)",
        layers=16, dim=2048, ffn=8192, heads=32, kv_heads=8, head_dim=64, vocab=128256,
        rope_theta=500000.0, rms_eps=1e-5, context=131072, qkv_bias=False, tied=True,
        pre="llama-bpe", regular_tokens=128000,
        specials={128000: "<|begin_of_text|>", 128001: "<|end_of_text|>", 128009: "<|eot_id|>"},
        bos=128000, eos=128009, add_bos=True),
    "qwen2.5-1.5b": dict(
        arch="qwen2", name="Qwen2.5-1.5B shape (random weights)",
        layers=28, dim=1536, ffn=8960, heads=12, kv_heads=2, head_dim=128, vocab=151936,
        rope_theta=1000000.0, rms_eps=1e-6, context=32768, qkv_bias=True, tied=True,
        pre="qwen2", regular_tokens=151643,
        specials={151643: "<|endoftext|>", 151644: "<|im_start|>", 151645: "<|im_end|>"},
        bos=151643, eos=151645, add_bos=False),
    "qwen3-1.7b": dict(
        arch="qwen3", name="Qwen3-1.7B shape (random weights)",
        layers=28, dim=2048, ffn=6144, heads=16, kv_heads=8, head_dim=128, vocab=151936,
        rope_theta=1000000.0, rms_eps=1e-6, context=40960, qkv_bias=False, qk_norm=True, tied=True,
        pre="qwen2", regular_tokens=151643,
        specials={151643: "<|endoftext|>", 151644: "<|im_start|>", 151645: "<|im_end|>"},
        bos=151643, eos=151645, add_bos=False),
    # Its width, 896, is not a multiple of 256, so llama-quantize's Q4_K_M keeps Q4_K/Q6_K only
    # where rows allow and falls back to Q5_0/Q8_0 elsewhere: the mixed file real 0.5B models ship.
    "qwen2.5-0.5b": dict(
        arch="qwen2", name="Qwen2.5-0.5B shape (random weights)",
        layers=24, dim=896, ffn=4864, heads=14, kv_heads=2, head_dim=64, vocab=151936,
        rope_theta=1000000.0, rms_eps=1e-6, context=32768, qkv_bias=True, tied=True,
        pre="qwen2", regular_tokens=151643,
        specials={151643: "<|endoftext|>", 151644: "<|im_start|>", 151645: "<|im_end|>"},
        bos=151643, eos=151645, add_bos=False),
}


def synthetic_vocab(shape):
    """Token texts, token types and merges: byte tokens, then merges of letter pairs, then of
    pair + letter, up to the model's regular vocabulary; its special tokens at their ids; unused
    padding rows as llama.cpp's converter writes them."""
    byte_tokens = byte_alphabet()
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [chr(c) for c in range(ord("A"), ord("Z") + 1)] + ["Ġ"]
    tokens, merges = list(byte_tokens), []
    pairs = [a + b for a in letters for b in letters]
    candidates = [(a, b) for a in letters for b in letters] + [(p, c) for p in pairs for c in letters]
    for left, right in candidates:
        if len(tokens) == shape["regular_tokens"]:
            break
        tokens.append(left + right)
        merges.append(f"{left} {right}")
    assert len(tokens) == shape["regular_tokens"], "not enough synthetic merges for this vocabulary"
    types = [gguf.TokenType.NORMAL] * len(tokens)
    for i in range(len(tokens), shape["vocab"]):
        if i in shape["specials"]:
            tokens.append(shape["specials"][i])
            types.append(gguf.TokenType.CONTROL)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    return tokens, types, merges


def write_f16(path, shape, seed):
    """The model in F16 (norms and biases F32, as llama.cpp's converter writes them)."""
    s, rng = shape, np.random.default_rng(seed)
    w = gguf.GGUFWriter(str(path), s["arch"])
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name(s["name"])
    w.add_block_count(s["layers"])
    w.add_context_length(s["context"])
    w.add_embedding_length(s["dim"])
    w.add_feed_forward_length(s["ffn"])
    w.add_head_count(s["heads"])
    w.add_head_count_kv(s["kv_heads"])
    w.add_key_length(s["head_dim"])
    w.add_value_length(s["head_dim"])
    w.add_rope_dimension_count(s["head_dim"])
    w.add_rope_freq_base(s["rope_theta"])
    w.add_layer_norm_rms_eps(s["rms_eps"])
    w.add_vocab_size(s["vocab"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    tokens, types, merges = synthetic_vocab(s)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(s["pre"])
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(s["bos"])
    w.add_eos_token_id(s["eos"])
    w.add_add_bos_token(s["add_bos"])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    def weight(rows, cols):
        return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float16)

    d, f, q, kv = s["dim"], s["ffn"], s["heads"] * s["head_dim"], s["kv_heads"] * s["head_dim"]
    w.add_tensor("token_embd.weight", weight(s["vocab"], d))
    w.add_tensor("output_norm.weight", np.ones(d, dtype=np.float32))
    if not s["tied"]:
        w.add_tensor("output.weight", weight(s["vocab"], d))
    for i in range(s["layers"]):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", np.ones(d, dtype=np.float32))
        w.add_tensor(p + "attn_q.weight", weight(q, d))
        w.add_tensor(p + "attn_k.weight", weight(kv, d))
        w.add_tensor(p + "attn_v.weight", weight(kv, d))
        if s["qkv_bias"]:
            for n, size in (("attn_q", q), ("attn_k", kv), ("attn_v", kv)):
                w.add_tensor(p + n + ".bias", np.zeros(size, dtype=np.float32))
        if s.get("qk_norm"):   # Qwen3: RMSNorm of each head's query and key
            w.add_tensor(p + "attn_q_norm.weight", np.ones(s["head_dim"], dtype=np.float32))
            w.add_tensor(p + "attn_k_norm.weight", np.ones(s["head_dim"], dtype=np.float32))
        w.add_tensor(p + "attn_output.weight", weight(d, q))
        w.add_tensor(p + "ffn_norm.weight", np.ones(d, dtype=np.float32))
        w.add_tensor(p + "ffn_gate.weight", weight(f, d))
        w.add_tensor(p + "ffn_up.weight", weight(f, d))
        w.add_tensor(p + "ffn_down.weight", weight(d, f))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def describe(path):
    """Tensor types of a GGUF file: count and MiB of each."""
    reader = gguf.GGUFReader(str(path))
    count, size = Counter(), Counter()
    for t in reader.tensors:
        name = t.tensor_type.name
        count[name] += 1
        size[name] += int(t.n_bytes)
    parts = [f"{name} ×{count[name]} ({size[name] / 2**20:.0f} MiB)" for name in sorted(count)]
    out_types = {t.name: t.tensor_type.name for t in reader.tensors
                 if t.name in ("token_embd.weight", "output.weight", "blk.0.attn_v.weight", "blk.0.ffn_down.weight", "blk.1.ffn_down.weight")}
    return ", ".join(parts) + "\n      " + ", ".join(f"{k}: {v}" for k, v in out_types.items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), action="append", help="default: all")
    parser.add_argument("--types", nargs="*", default=["Q4_K_M", "Q8_0"], help="llama-quantize types")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--out", type=Path, default=None, help="default: $JARVIS_CACHE/shapes")
    args = parser.parse_args()

    cache = Path(os.environ.get("JARVIS_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jarvis")
    out = args.out or cache / "shapes"
    out.mkdir(parents=True, exist_ok=True)
    quantize = cache / f"llama.cpp-{LLAMA_CPP_VERSION}" / "bin" / "llama-quantize"
    if args.types and not quantize.exists():
        sys.exit(f"{quantize} is missing: run tools/build_llama_bench.sh first")

    for name in args.shape or sorted(SHAPES):
        base = out / f"{name}-F16.gguf"
        if not base.exists():
            print(f"writing {base}", flush=True)
            part = base.with_suffix(".part")
            write_f16(part, SHAPES[name], args.seed)
            part.rename(base)
        for qtype in args.types:
            target = out / f"{name}-{qtype}.gguf"
            if not target.exists():
                print(f"quantizing {target.name}", flush=True)
                part = target.with_suffix(".part")
                run = subprocess.run([str(quantize), str(base), str(part), qtype, "2"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                if run.returncode != 0:
                    sys.exit(f"llama-quantize failed:\n{run.stderr[-2000:]}")
                part.rename(target)
        for path in [base] + [out / f"{name}-{t}.gguf" for t in args.types]:
            print(f"{path}  {path.stat().st_size / 2**20:.0f} MiB\n      {describe(path)}")


if __name__ == "__main__":
    main()
