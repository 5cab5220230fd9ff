#!/usr/bin/env python3
"""The llama.cpp side of `jarvis-bench engine`: times prefill and decode of the same token ids
with llama-cpp-python (pinned for fixtures: llama-cpp-python==0.3.36) and prints JSON.

Wall-clock times around llama-cpp-python's eval (its perf counters read zero in this version);
the Python overhead per call is tens of microseconds against milliseconds per token. Usage: llama_cpp_bench.py REQUEST.json (written by jarvis-bench: model, tokens,
gen_tokens, threads, repetitions). Exits non-zero with a one-line reason when llama_cpp is not
importable.
"""
import json
import statistics
import sys
import time

try:
    import llama_cpp
except ImportError:
    sys.exit("llama-cpp-python is not installed (pip install llama-cpp-python==0.3.36)")


def main():
    req = json.load(open(sys.argv[1]))
    tokens, gen, threads = req["tokens"], req["gen_tokens"], req["threads"]
    llm = llama_cpp.Llama(model_path=req["model"], n_ctx=len(tokens) + gen + 8, n_batch=len(tokens),
                          n_ubatch=len(tokens), n_threads=threads, n_threads_batch=threads, verbose=False)
    llm.eval(tokens[:64])  # warm-up
    pp, tg = [], []
    for _ in range(req["repetitions"]):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(tokens)
        pp.append(len(tokens) / (time.perf_counter() - t0))

        llm.reset()
        llm.eval(tokens[:1])
        t1 = time.perf_counter()
        for i in range(gen):  # the ids do not change the cost; any valid token will do
            llm.eval([tokens[1 + i % (len(tokens) - 1)]])
        tg.append(gen / (time.perf_counter() - t1))
    print(json.dumps({"pp": statistics.median(pp), "tg": statistics.median(tg), "version": llama_cpp.__version__}))


if __name__ == "__main__":
    main()
