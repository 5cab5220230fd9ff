#!/usr/bin/env python3
"""Writes Tests/JarvisEngineTests/Fixtures/llama_cpp_smollm2.json: llama.cpp's greedy output and
last-position logits for chat-templated prompts on the shipped SmolLM2 model.

Pinned reference: pip install llama-cpp-python==0.3.36 (built from source; takes minutes).
Usage: tools/make_llama_fixtures.py [MODEL.gguf]   (default: the models directory's SmolLM2)
"""
import json
import os
import sys
from importlib.metadata import version

import numpy as np
import llama_cpp

PINNED = "0.3.36"
SYSTEM = "You are a helpful assistant."
PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Explain photosynthesis in one sentence.",
    "What is 12 times 7?",
    "Name three primary colors.",
    "Translate \"good morning\" into Spanish.",
    "My dog is called Biscuit. What is my dog's name?",
    "Give me one tip for sleeping better.",
    "What does a CPU do?",
    "List the days of the week.",
    "Who wrote Romeo and Juliet?",
    "Summarize: the team meeting moved from Tuesday to Thursday at 3pm, in room 4B.",
]
GEN_TOKENS = 32
TOP = 40


def chatml(system, user):
    return (f"<|im_start|>system\n{system}<|im_end|>\n"
            f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")


def models_dir():
    if os.environ.get("JARVIS_MODELS"):
        return os.environ["JARVIS_MODELS"]
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(base, "jarvis", "models")


def main():
    if version("llama-cpp-python") != PINNED:
        sys.exit(f"expected llama-cpp-python=={PINNED}, found {version('llama-cpp-python')}")
    model = sys.argv[1] if len(sys.argv) > 1 else os.path.join(models_dir(), "SmolLM2-135M-Instruct.Q4_1.gguf")
    cases = []
    for prompt in PROMPTS:
        # A fresh context per prompt, so every prompt's cache starts at cell 0.
        llm = llama_cpp.Llama(model_path=model, n_ctx=512, n_batch=512, n_threads=2, verbose=False)
        vocab = llm.n_vocab()
        text = chatml(SYSTEM, prompt)
        ids = llm.tokenize(text.encode(), add_bos=False, special=True)
        llm.eval(ids)
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(vocab,)).copy()
        top = np.argsort(-logits, kind="stable")[:TOP]
        generated = []
        cur = logits
        for _ in range(GEN_TOKENS):
            tok = int(np.argmax(cur))
            if llama_cpp.llama_vocab_is_eog(llama_cpp.llama_model_get_vocab(llm.model), tok):
                break
            generated.append(tok)
            llm.eval([tok])
            cur = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(vocab,)).copy()
        answer = llm.detokenize(generated).decode("utf-8", errors="replace")
        print(f"{prompt!r} -> {answer!r}")
        cases.append({"prompt": prompt, "text": text, "prompt_ids": ids, "greedy_ids": generated,
                      "greedy_text": answer, "top_ids": [int(i) for i in top],
                      "top_logits": [float(logits[i]) for i in top]})
    out = {"generator": "tools/make_llama_fixtures.py", "reference": f"llama-cpp-python {PINNED}",
           "model_sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
           "system": SYSTEM, "gen_tokens": GEN_TOKENS, "cases": cases}
    path = "Tests/JarvisEngineTests/Fixtures/llama_cpp_smollm2.json"
    with open(path, "w") as f:
        json.dump(out, f)
    print(f"wrote {path}: {len(cases)} prompts")


if __name__ == "__main__":
    main()
