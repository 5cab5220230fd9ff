#!/usr/bin/env python3
"""Writes Tests/JarvisEngineTests/Fixtures/families/: for each model family beyond the shipped
llama, a tiny random-weight model built with transformers, converted to GGUF by llama.cpp's own
convert_hf_to_gguf.py, with transformers' fp32 logits and llama.cpp's greedy ids to match.

Pinned reference (nothing is fetched from a model hub):
    python3 -m venv ~/.cache/jarvis/family-venv
    ~/.cache/jarvis/family-venv/bin/pip install torch==2.13.0 transformers==4.57.6 \\
        tokenizers==0.22.2 safetensors==0.8.0 numpy==2.4.6 sentencepiece==0.2.3
    (torch 2.13.0+cpu is the CPU wheel the machines carry in /opt/wheels; the CUDA build from
    PyPI gives the same fp32 results on a CPU. The converter imports sentencepiece even for a
    BPE vocabulary.)
    tools/build_llama_bench.sh        # unpacks the llama-cpp-python==0.3.36 sdist's llama.cpp and
                                      # builds its static libraries, which the greedy helper links
Usage:
    ~/.cache/jarvis/family-venv/bin/python tools/make_family_fixtures.py

Families and what each one exercises:
  llama3  Llama-3.1-style `rope_scaling: {rope_type: llama3}`. head_dim 16, rope_theta 10000,
          original_max_position_embeddings 64, low/high frequency factors 1/4, factor 4: rotary
          pair 0 (wavelength 6.3 tokens) is in the high-frequency band and kept, pairs 1-2
          (19.9, 62.8) are smoothed, pairs 3-7 (199 and up) are divided by 4. The converter
          writes these as `rope_freqs.weight`. The 96-token sequence runs past the original 64.
  qwen2   Qwen2: QKV biases, NeoX RoPE, rope_theta 1e6; written in F16 (the weights rounded to fp16
          first, so transformers' fp32 reference runs on exactly the stored weights), which also
          exercises llama.cpp's F16 products (activations rounded to fp16).
  qwen3   Qwen3: per-head RMSNorm of q and k before RoPE, no QKV bias, NeoX RoPE, and an
          explicit head_dim of 32 where hidden_size / heads is 16 (q is 128 wide, the model 64).
  The three below are narrower (width 32, two heads of 16, one KV head) and GGUF-only:
  smollm3 SmolLM3: 4 layers, layer 3 without RoPE (no_rope_layer_interval 4; llama.cpp hard-codes
          that rule, the converter writes no key).
  phi3    Phi-3: fused qkv_proj and gate_up_proj, NeoX RoPE over half of each head
          (partial_rotary_factor 0.5, as Phi-4-mini's 0.75), LongRoPE with distinct short and long
          factors, original context 64 of 256. The 96-token sequence runs past 64, so transformers
          uses the long factors, as llama.cpp does at its context of 256; FAMILY.short.logits.bin
          holds transformers' logits of the first 48 ids, where it uses the short ones. The
          converter reads a SentencePiece model unless tokenizer_config.json names GPT2Tokenizer,
          so it does; and llama.cpp looks up <s>/</s>/<unk> in a model named phi3, so the model is
          named "tiny-phi".
  gemma3  Gemma 3 text: 6 layers, 0-4 sliding (window 24 < 96) with local base 10000, layer 5
          global with base 1e6 and linear scaling 8; q/k norms, pre- and post-norms (gemma's
          1 + weight, which the converter folds in), GeGLU (tanh), embeddings times sqrt(32),
          final logit softcapping 10, query_pre_attn_scalar 16 (the head size, which llama.cpp
          assumes below 27B).

Also written: llama3_factors.json, transformers' llama3 frequency divisors for the real Llama 3.1
and 3.2 settings (head size 128, base 500000, factor 8 and 32), to check the factors computed
from a config.json against.

Written per family (all deterministic; a second run gives identical bytes):
  FAMILY.gguf         the model in F32 (qwen2: F16), as convert_hf_to_gguf.py writes it (tied
                      output).
  FAMILY.safetensors  the same model as transformers saves it (F32, qwen2 F16; tied: no
                      lm_head), for the Hugging Face loading path; its config is in FAMILY.json.
                      (llama3, qwen2 and qwen3 only.)
  FAMILY.logits.bin   transformers' fp32 logits of every position of `ids` (little-endian f32,
                      len(ids) x vocab, row-major).
  FAMILY.json         ids; llama.cpp's argmax at every position of ids (one batch) and how far
                      its logits there are from transformers' (max abs); the greedy
                      prompt (the first ids) with llama.cpp's and transformers' greedy
                      continuations; the HF config.json (its rope_scaling is what
                      ModelConfig(huggingFace:) reads). Random models fall into repeating one
                      token soon, so the per-position argmax is the stronger check.

The tokenizer: a byte-level BPE of 256 byte symbols, a few merges and two specials, made here
with `tokenizers`. The converter identifies a BPE pre-tokenizer by hashing the ids its tokenizer
gives for a check text, and a made-up vocabulary matches no known hash, so the converter stops.
This script tells it the pre-tokenizer by name instead (llama-bpe for llama3, qwen2 for qwen2
and qwen3: the real models' own) by replacing `get_vocab_base_pre` before the converter runs; nothing else
in the converter is changed. The tests feed token ids directly, so the vocabulary's text plays
no part in them.

Weights: every matrix and bias is normal with sd 1/sqrt(fan_in), embeddings sd 0.25 (tied
logits then spread over several units), every norm weight 1 + N(0, 0.2): activations stay
O(1), and a norm applied without its weight (or not at all) changes the logits. Gemma's norms
multiply by 1 + weight, so there the norm weights are N(0, 0.2) and the effective ones the same
as elsewhere.
"""
import json
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

PINS = {"torch": "2.13.0", "transformers": "4.57.6", "tokenizers": "0.22.2", "safetensors": "0.8.0", "numpy": "2.4.6",
        "sentencepiece": "0.2.3"}
for name, pin in PINS.items():
    found = version(name).split("+")[0]
    if found != pin:
        sys.exit(f"expected {name}=={pin}, found {found}")

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM, Phi3Config, Phi3ForCausalLM,
                          PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM, SmolLM3Config,
                          SmolLM3ForCausalLM)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from byte_bpe import byte_alphabet  # noqa: E402

LLAMA_CPP_VERSION = "0.3.36"
CACHE = Path(os.environ.get("JARVIS_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jarvis")
LLAMA_CPP = CACHE / f"llama.cpp-{LLAMA_CPP_VERSION}"
OUT = Path(__file__).resolve().parent.parent / "Tests/JarvisEngineTests/Fixtures/families"

SEQUENCE_LENGTH = 96
PROMPT_LENGTH = 12
GREEDY_TOKENS = 20

COMMON = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=256, rope_theta=10000.0,
              tie_word_embeddings=True, attention_bias=False, torch_dtype="float32")

# Narrower, for the families added later (more layers, so the fixtures stay small): two heads of
# 16 beside one KV head.
SMALL = dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_key_value_heads=1, head_dim=16,
             max_position_embeddings=256, tie_word_embeddings=True, torch_dtype="float32", pad_token_id=None)

FAMILIES = {
    "llama3": dict(
        cls=LlamaForCausalLM, pre="llama-bpe", seed=31,
        config=LlamaConfig(**COMMON, rms_norm_eps=1e-5, head_dim=16, mlp_bias=False,
                           rope_scaling=dict(rope_type="llama3", factor=4.0, low_freq_factor=1.0,
                                             high_freq_factor=4.0, original_max_position_embeddings=64)),
        specials=["<|begin_of_text|>", "<|end_of_text|>"]),
    "qwen2": dict(
        cls=Qwen2ForCausalLM, pre="qwen2", seed=41, f16=True,
        config=Qwen2Config(**{**COMMON, "rope_theta": 1000000.0}, rms_norm_eps=1e-6, use_sliding_window=False),
        specials=["<|endoftext|>", "<|im_start|>"]),
    "qwen3": dict(
        cls=Qwen3ForCausalLM, pre="qwen2", seed=37,
        config=Qwen3Config(**COMMON, rms_norm_eps=1e-6, head_dim=32, use_sliding_window=False),
        specials=["<|endoftext|>", "<|im_start|>"]),
    "smollm3": dict(
        cls=SmolLM3ForCausalLM, pre="llama-bpe", seed=43, safetensors=False,
        config=SmolLM3Config(**SMALL, num_hidden_layers=4, rope_theta=10000.0, rms_norm_eps=1e-6,
                             use_sliding_window=False, no_rope_layer_interval=4),
        specials=["<|begin_of_text|>", "<|end_of_text|>"]),
    "phi3": dict(
        cls=Phi3ForCausalLM, pre="llama-bpe", seed=47, name="tiny-phi", safetensors=False, tokenizer_class="GPT2Tokenizer", short_prefix=48,
        config=Phi3Config(**SMALL, num_hidden_layers=2, rope_theta=10000.0, rms_norm_eps=1e-5,
                          partial_rotary_factor=0.5, original_max_position_embeddings=64,
                          rope_scaling=dict(type="longrope", short_factor=[1.0, 1.25, 1.5, 2.0],
                                            long_factor=[1.0, 3.0, 8.0, 24.0])),
        specials=["<|endoftext|>", "<|user|>"]),
    "gemma3": dict(
        cls=Gemma3ForCausalLM, pre="llama-bpe", seed=53, safetensors=False, eager=True, norm_offset=0.0,
        config=Gemma3TextConfig(**SMALL, num_hidden_layers=6, rope_theta=1000000.0, rope_local_base_freq=10000.0,
                                rope_scaling=dict(rope_type="linear", factor=8.0), sliding_window=24,
                                query_pre_attn_scalar=16, final_logit_softcapping=10.0, rms_norm_eps=1e-6,
                                hidden_activation="gelu_pytorch_tanh"),
        specials=["<bos>", "<eos>"]),
}


def write_tokenizer(directory, specials):
    """A byte-level BPE: the 256 byte symbols, merges of a few common letter pairs, then the
    family's special tokens. Returns the vocabulary size."""
    symbols = byte_alphabet()
    vocab = {s: i for i, s in enumerate(symbols)}
    merges = []
    for pair in ["th", "he", "in", "er", "an", "re", "on", "at", "en", "nd", "ti", "es", "or", "te", "of", "ed",
                 "is", "it", "al", "ar", "st", "to", "nt", "ng", "se", "ha", "as", "ou", "io", "le"]:
        merges.append((pair[0], pair[1]))
        vocab[pair] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(specials)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=specials[0], eos_token=specials[0])
    fast.save_pretrained(directory)
    return len(vocab) + len(specials)


def randomize(model, seed, norm_offset=1.0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("norm.weight"):
                p.copy_(norm_offset + 0.2 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(0.25 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5)


def convert(hf_dir, out_file, pre, outtype):
    """Runs llama.cpp's convert_hf_to_gguf.py in this process, naming the pre-tokenizer (see the
    module docstring for why)."""
    src = LLAMA_CPP / "src"
    if not (src / "convert_hf_to_gguf.py").is_file():
        sys.exit(f"{src}/convert_hf_to_gguf.py missing: run tools/build_llama_bench.sh")
    sys.path[:0] = [str(src), str(src / "gguf-py")]
    import conversion.base
    conversion.base.TextModel.get_vocab_base_pre = lambda self, tokenizer: pre
    argv = sys.argv
    sys.argv = ["convert_hf_to_gguf.py", str(hf_dir), "--outfile", str(out_file), "--outtype", outtype]
    try:
        runpy.run_path(str(src / "convert_hf_to_gguf.py"), run_name="__main__")
    finally:
        sys.argv = argv


GREEDY_HELPER = r"""
#include "llama.h"
#include <cstdio>
#include <cstdlib>
#include <vector>
// usage: greedy MODEL N PROMPT_LENGTH ID...
// Line 1: the argmax of the logits at every position of ID... (one batch, logits for all rows).
// Line 2: the logits of every position, row after row.
// Line 3: N greedy ids after the first PROMPT_LENGTH ids (a fresh context; no stop at end of text).
static llama_context *context(llama_model *model) {
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 256; cp.n_batch = 256; cp.n_ubatch = 256; cp.n_threads = 1; cp.n_threads_batch = 1;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;  // as llama-cpp-python's default
    return llama_init_from_model(model, cp);
}
static llama_token argmax(const float *l, int vocab) {
    llama_token best = 0;
    for (int i = 1; i < vocab; i++) if (l[i] > l[best]) best = i;
    return best;
}
int main(int argc, char **argv) {
    llama_backend_init();
    llama_model *model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) return 1;
    const int n = atoi(argv[2]), promptLength = atoi(argv[3]);
    std::vector<llama_token> ids;
    for (int i = 4; i < argc; i++) ids.push_back(atoi(argv[i]));
    const int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

    llama_context *all = context(model);
    llama_batch b = llama_batch_init((int)ids.size(), 0, 1);
    for (size_t i = 0; i < ids.size(); i++) {
        b.token[i] = ids[i]; b.pos[i] = (llama_pos)i; b.n_seq_id[i] = 1; b.seq_id[i][0] = 0; b.logits[i] = 1;
    }
    b.n_tokens = (int)ids.size();
    if (llama_decode(all, b)) return 1;
    for (size_t i = 0; i < ids.size(); i++) printf("%d ", argmax(llama_get_logits_ith(all, (int)i), vocab));
    printf("\n");
    for (size_t i = 0; i < ids.size(); i++) {
        const float *l = llama_get_logits_ith(all, (int)i);
        for (int v = 0; v < vocab; v++) printf("%.9g ", l[v]);
    }
    printf("\n");
    llama_batch_free(b);
    llama_free(all);

    llama_context *ctx = context(model);
    if (llama_decode(ctx, llama_batch_get_one(ids.data(), promptLength))) return 1;
    for (int g = 0; g < n; g++) {
        llama_token best = argmax(llama_get_logits_ith(ctx, -1), vocab);
        printf("%d ", best);
        if (llama_decode(ctx, llama_batch_get_one(&best, 1))) return 1;
    }
    printf("\n");
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
"""


def greedy_helper(work):
    """Compiles the helper above against the static libraries tools/build_llama_bench.sh built."""
    build, src = LLAMA_CPP / "build", LLAMA_CPP / "src"
    libs = [build / "src/libllama.a", build / "ggml/src/libggml.a", build / "ggml/src/libggml-cpu.a", build / "ggml/src/libggml-base.a"]
    missing = [str(l) for l in libs if not l.is_file()]
    if missing:
        sys.exit(f"missing {missing}: run tools/build_llama_bench.sh")
    cpp, exe = Path(work) / "greedy.cpp", Path(work) / "greedy"
    cpp.write_text(GREEDY_HELPER)
    subprocess.run(["g++", "-O2", "-std=c++17", str(cpp), "-I", str(src / "include"), "-I", str(src / "ggml/include"),
                    *map(str, libs), "-fopenmp", "-lpthread", "-ldl", "-lm", "-o", str(exe)], check=True)
    return exe


# The published Llama 3.1 (8B) and 3.2 (1B) RoPE settings: head size 128, base 500000.
LLAMA3_SETTINGS = {
    "llama-3.1": dict(factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=8192),
    "llama-3.2": dict(factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=8192),
}


def llama3_factors():
    """transformers' llama3 frequencies, as divisors of the default ones, for the real models'
    settings: what a real Llama 3.1/3.2 file's rope_freqs holds, from an independent source."""
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
    out = {}
    for name, scaling in LLAMA3_SETTINGS.items():
        config = LlamaConfig(hidden_size=4096, num_attention_heads=32, rope_theta=500000.0, max_position_embeddings=131072,
                             rope_scaling=dict(rope_type="llama3", **scaling))
        scaled, _ = ROPE_INIT_FUNCTIONS["llama3"](config, "cpu")
        plain, _ = ROPE_INIT_FUNCTIONS["default"](config, "cpu")
        out[name] = {"rope_theta": 500000.0, "head_dim": 128, "rope_scaling": dict(rope_type="llama3", **scaling),
                     "factors": [float(f) for f in (plain / scaled)]}
    return out


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "llama3_factors.json").write_text(json.dumps({"generator": "tools/make_family_fixtures.py",
                                                         "reference": f"transformers {PINS['transformers']}",
                                                         "models": llama3_factors()}, indent=1) + "\n")
    with tempfile.TemporaryDirectory() as work:
        greedy = greedy_helper(work)
        for family, spec in FAMILIES.items():
            # llama.cpp marks <s>, </s> and <unk> by name in a model called phi3, which this
            # vocabulary lacks: the phi3 model gets another name (its directory's).
            hf = Path(work) / spec.get("name", family)
            vocab = write_tokenizer(hf, spec["specials"])
            if "tokenizer_class" in spec:
                # The phi3 converter reads a SentencePiece model unless the config names GPT-2's.
                tc = json.loads((hf / "tokenizer_config.json").read_text())
                tc["tokenizer_class"] = spec["tokenizer_class"]
                (hf / "tokenizer_config.json").write_text(json.dumps(tc, indent=1))
            config = spec["config"]
            config.vocab_size = vocab
            config.bos_token_id = config.eos_token_id = vocab - 2
            torch.manual_seed(spec["seed"])
            if spec.get("eager"):
                config._attn_implementation = "eager"  # what transformers recommends for gemma3
            model = spec["cls"](config).float().eval()
            randomize(model, spec["seed"], spec.get("norm_offset", 1.0))
            f16 = spec.get("f16", False)
            if f16:
                # Weights rounded to fp16 once, so the F16 files hold exactly the weights the fp32
                # reference below runs with.
                with torch.no_grad():
                    for _, p in model.named_parameters():
                        p.copy_(p.half().float())
            (model.half() if f16 else model).save_pretrained(hf, safe_serialization=True)
            model.float()
            if spec.get("safetensors", True):
                shutil.copyfile(hf / "model.safetensors", OUT / f"{family}.safetensors")

            rng = np.random.default_rng(spec["seed"])
            ids = [vocab - 2] + [int(i) for i in rng.integers(0, vocab - 2, SEQUENCE_LENGTH - 1)]
            with torch.no_grad():
                logits = model(torch.tensor([ids])).logits[0].float().numpy()
            assert logits.shape == (SEQUENCE_LENGTH, vocab)
            (OUT / f"{family}.logits.bin").write_bytes(logits.astype("<f4").tobytes())
            if short := spec.get("short_prefix"):
                # A sequence within the original context: transformers switches to the short factors.
                with torch.no_grad():
                    short_logits = model(torch.tensor([ids[:short]])).logits[0].float().numpy()
                (OUT / f"{family}.short.logits.bin").write_bytes(short_logits.astype("<f4").tobytes())

            gguf = OUT / f"{family}.gguf"
            convert(hf, gguf, spec["pre"], "f16" if f16 else "f32")
            prompt = ids[:PROMPT_LENGTH]
            run = subprocess.run([str(greedy), str(gguf), str(GREEDY_TOKENS), str(PROMPT_LENGTH), *map(str, ids)],
                                 check=True, capture_output=True, text=True)
            lines = run.stdout.splitlines()
            argmax_ids, greedy_ids = [int(t) for t in lines[0].split()], [int(t) for t in lines[2].split()]
            llama_logits = np.array([float(t) for t in lines[1].split()], dtype=np.float32).reshape(logits.shape)
            llama_deviation = float(np.abs(llama_logits - logits).max())
            agree = int((logits.argmax(axis=1) == np.array(argmax_ids)).sum())

            # transformers' own greedy continuation, for the record: plain argmax over all logits,
            # end-of-text included (generate() would hold that back under min_new_tokens).
            hf_greedy, context = [], list(prompt)
            with torch.no_grad():
                for _ in range(GREEDY_TOKENS):
                    hf_greedy.append(int(model(torch.tensor([context])).logits[0, -1].argmax()))
                    context.append(hf_greedy[-1])
            hf_config = json.loads((hf / "config.json").read_text())
            record = {"generator": "tools/make_family_fixtures.py",
                      "reference": f"transformers {PINS['transformers']}, torch {PINS['torch']}, llama.cpp of llama-cpp-python {LLAMA_CPP_VERSION}",
                      "family": family, "vocab": vocab, "ids": ids, "prompt_ids": prompt,
                      "llama_cpp_greedy_ids": greedy_ids,
                      "llama_cpp_argmax_ids": argmax_ids,
                      "llama_cpp_max_abs_deviation_from_transformers": llama_deviation, "transformers_greedy_ids": hf_greedy,
                      "llama_cpp_context": 256, "hf_config": hf_config}
            if short:
                record["short_prefix"] = short
            (OUT / f"{family}.json").write_text(json.dumps(record, indent=1) + "\n")
            print(f"{family}: vocab {vocab}, gguf {gguf.stat().st_size} bytes, logits |max| {np.abs(logits).max():.2f}, "
                  f"llama.cpp greedy {greedy_ids}, transformers greedy {hf_greedy}, "
                  f"per-position argmax: transformers and llama.cpp agree at {agree} of {len(ids)}, "
                  f"max |llama.cpp - transformers| {llama_deviation:.3g}")


if __name__ == "__main__":
    main()
