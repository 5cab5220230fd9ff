#!/usr/bin/env python3
"""Writes the families' real chat templates and tiny models that carry them, for tests of chat
format detection and of jarvisd answering in each family's own format.

  Tests/JarvisEngineTests/Fixtures/chat_templates.json
        the chat templates of released models, as llama.cpp's pinned source keeps them
        (vendor/llama.cpp/models/templates/ of the llama-cpp-python 0.3.36 sdist), each with the
        format Jarvis should recognise in it.
  Tests/JarvisEngineTests/Fixtures/families/{llama3,qwen3,smollm3}_chat.gguf
        the tiny byte-level models of tools/make_family_fixtures.py, their weights and vocabulary
        kept, with the family's turn tokens appended (control tokens; Qwen3's and SmolLM3's
        <think> and </think> user-defined, as their tokenizers have them), new random embedding
        rows for those (seeded, sd 0.25; the output is tied), and the released model's template
        as tokenizer.chat_template. jarvisd then answers in that format (FamilyModelTests).

Pinned: gguf==0.19.0 and numpy==2.4.6 (tools/make_llava_ov_fixtures.py's venv has both), and
the sdist, checked by its sha256:
    ~/.cache/jarvis/fixture-venv/bin/python tools/make_family_chat_fixtures.py [--llama-cpp-sdist PATH]
Deterministic: a second run writes identical bytes.
"""
import argparse
import hashlib
import json
import os
import sys
import tarfile

import gguf
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "JarvisEngineTests", "Fixtures")
SDIST_NAME = "llama_cpp_python-0.3.36.tar.gz"
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
TEMPLATES = "llama_cpp_python-0.3.36/vendor/llama.cpp/models/templates/"

# Released model -> the format PromptFormat(jinja:) should find in its template.
DETECTED = {
    "meta-llama-Llama-3.1-8B-Instruct": "llama3",
    "meta-llama-Llama-3.2-3B-Instruct": "llama3",
    "Qwen-Qwen2.5-7B-Instruct": "chatML",
    "Qwen-Qwen3-0.6B": "qwen3",
    "HuggingFaceTB-SmolLM3-3B": "smolLM3",
    "google-gemma-2-2b-it": "gemma",
    "microsoft-Phi-3.5-mini-instruct": "phi3",
}

CONTROL, USER_DEFINED = 3, 4
# Family -> (released model whose template it takes, tokens appended with their types).
CHAT_MODELS = {
    "llama3": ("meta-llama-Llama-3.2-3B-Instruct",
               [("<|start_header_id|>", CONTROL), ("<|end_header_id|>", CONTROL), ("<|eot_id|>", CONTROL)]),
    "qwen3": ("Qwen-Qwen3-0.6B", [("<|im_end|>", CONTROL), ("<think>", USER_DEFINED), ("</think>", USER_DEFINED)]),
    "smollm3": ("HuggingFaceTB-SmolLM3-3B", [("<|im_start|>", CONTROL), ("<|im_end|>", CONTROL),
                                             ("<think>", USER_DEFINED), ("</think>", USER_DEFINED)]),
}
SEED = 20261202


def read_templates(sdist):
    with open(sdist, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != SDIST_SHA256:
        sys.exit(f"{sdist}: sha256 {digest}, expected {SDIST_SHA256}")
    out = {}
    with tarfile.open(sdist, "r:gz") as tar:
        for name in DETECTED:
            out[name] = tar.extractfile(TEMPLATES + name + ".jinja").read().decode("utf-8")
    return out


def write_chat_model(family, template, extra, seed):
    src = os.path.join(FIXTURES, "families", family + ".gguf")
    dst = os.path.join(FIXTURES, "families", family + "_chat.gguf")
    reader = gguf.GGUFReader(src)
    arch = reader.fields["general.architecture"].contents()
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    types = reader.fields["tokenizer.ggml.token_type"].contents()
    old_vocab = len(tokens)
    w = gguf.GGUFWriter(dst, arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
                                               "tokenizer.chat_template"):
            continue
        value = len(tokens) + len(extra) if key == f"{arch}.vocab_size" else field.contents()
        w.add_key_value(key, value, field.types[0], field.types[1] if len(field.types) > 1 else None)
    w.add_token_list(tokens + [t for t, _ in extra])
    w.add_token_types(types + [k for _, k in extra])
    w.add_chat_template(template)
    rng = np.random.default_rng(seed)
    grown = 0
    for t in reader.tensors:
        data = np.array(t.data)
        if data.ndim == 2 and data.shape[0] == old_vocab:
            rows = (0.25 * rng.standard_normal((len(extra), data.shape[1]))).astype(data.dtype)
            data = np.concatenate([data, rows])
            grown += 1
        w.add_tensor(t.name, data)
    assert grown >= 1, f"{family}: no embedding table of {old_vocab} rows"
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return dst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llama-cpp-sdist", default=os.path.expanduser(os.path.join("~", ".cache", "jarvis", SDIST_NAME)))
    args = ap.parse_args()
    templates = read_templates(args.llama_cpp_sdist)
    path = os.path.join(FIXTURES, "chat_templates.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"generator": "tools/make_family_chat_fixtures.py", "source": TEMPLATES,
                   "templates": [{"model": m, "format": DETECTED[m], "template": templates[m]} for m in DETECTED]},
                  f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)}: {len(DETECTED)} templates")
    for i, (family, (model, extra)) in enumerate(CHAT_MODELS.items()):
        out = write_chat_model(family, templates[model], extra, SEED + i)
        print(f"wrote {os.path.relpath(out, ROOT)}: {model}'s template, {len(extra)} tokens appended")


if __name__ == "__main__":
    main()
