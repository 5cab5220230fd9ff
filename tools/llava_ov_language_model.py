#!/usr/bin/env python3
"""Writes the language model of a Hugging Face LLaVA-OneVision checkpoint as a plain Qwen2
checkpoint (Qwen2ForCausalLM), which llama.cpp's convert_hf_to_gguf.py turns into the GGUF that
jarvisd runs with `--mmproj` pointing at the LLaVA-OneVision directory. llama.cpp's converter
(llama-cpp-python 0.3.36's) refuses LlavaOnevisionForConditionalGeneration itself.

    pip install safetensors==0.8.0 numpy==2.4.6
    tools/llava_ov_language_model.py llava-onevision-qwen2-0.5b-ov-hf qwen2-text
    python3 convert_hf_to_gguf.py qwen2-text --outfile llava-ov-0.5b.gguf --outtype q8_0

Reads config.json (its text_config), model.safetensors (or the shards its index names) in either
key layout transformers has saved (`language_model.model.*` with `language_model.lm_head.weight`, or `model.language_model.*`
with `lm_head.weight`), and copies the tokenizer files and chat template. Weights are copied as
they are stored (no conversion), into one model.safetensors. Nothing but the decoder is written.
"""
import json
import os
import shutil
import sys

from safetensors import safe_open
from safetensors.numpy import save_file

TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "added_tokens.json",
                   "special_tokens_map.json", "chat_template.jinja", "chat_template.json", "generation_config.json"]


def extract(src, dst):
    """Writes src's decoder to dst (created) as a Qwen2ForCausalLM checkpoint."""
    with open(os.path.join(src, "config.json")) as f:
        config = json.load(f)
    if config.get("model_type") != "llava_onevision":
        sys.exit(f"{src}/config.json: model type {config.get('model_type')!r} is not llava_onevision")
    index = os.path.join(src, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
    else:
        shards = ["model.safetensors"]
    text = dict(config["text_config"])
    text["architectures"] = ["Qwen2ForCausalLM"]
    text["model_type"] = text.get("model_type", "qwen2")
    tied = config.get("tie_word_embeddings", text.get("tie_word_embeddings", False))
    text["tie_word_embeddings"] = tied
    handles = [safe_open(os.path.join(src, shard), "np") for shard in shards]
    where = {k: h for h in handles for k in h.keys()}
    old = any(k.startswith("language_model.model.") for k in where)
    body, head = ("language_model.model.", "language_model.lm_head.weight") if old else ("model.language_model.", "lm_head.weight")
    tensors = {"model." + k[len(body):]: h.get_tensor(k) for k, h in where.items() if k.startswith(body)}
    if not tied:
        if head not in where:
            sys.exit(f"{src}: no {head}, and the config does not tie the output to the embeddings")
        tensors["lm_head.weight"] = where[head].get_tensor(head)
    if "model.embed_tokens.weight" not in tensors:
        sys.exit(f"{src}: no language model under {body}")
    os.makedirs(dst, exist_ok=True)
    save_file(tensors, os.path.join(dst, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(text, f, indent=2, sort_keys=True)
        f.write("\n")
    for name in TOKENIZER_FILES:
        if os.path.exists(os.path.join(src, name)):
            shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))
    return len(tensors)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: tools/llava_ov_language_model.py LLAVA_ONEVISION_DIR OUTPUT_DIR")
    n = extract(sys.argv[1], sys.argv[2])
    print(f"wrote {n} tensors of the Qwen2 decoder to {sys.argv[2]}")
