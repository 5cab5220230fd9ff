#!/usr/bin/env python3
"""The fallback llama.cpp side of `jarvis-bench engine`, used only when llama-bench is not built
(tools/build_llama_bench.sh builds it): times prefill and decode of the same token ids with
llama-cpp-python (pinned: llama-cpp-python==0.3.36) and prints JSON.

Wall-clock times around llama-cpp-python's eval (its perf counters read zero in this version).
They measure llama.cpp slower than its own llama-bench does on the same file and threads (pp512
on SmolLM2-135M: ~300 against ~480 tok/s), so a ratio against these figures overstates Jarvis's
lead. Usage: llama_cpp_bench.py REQUEST.json (written by jarvis-bench: model, tokens,
prompt_lengths, gen_tokens, threads, repetitions). Exits non-zero with a one-line reason when
llama_cpp is not importable.
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
    lengths = req.get("prompt_lengths") or [len(tokens)]
    longest = max(lengths)
    # Batch and micro-batch as llama-bench's defaults (2048 and 512).
    llm = llama_cpp.Llama(model_path=req["model"], n_ctx=max(longest, gen) + 8, n_batch=max(longest, 2048),
                          n_ubatch=512, n_threads=threads, n_threads_batch=threads, verbose=False)
    llm.eval(tokens[:64])  # warm-up
    pp = {n: [] for n in lengths}
    tg = []
    for _ in range(req["repetitions"]):
        for n in lengths:
            llm.reset()
            t0 = time.perf_counter()
            llm.eval(tokens[:n])
            pp[n].append(n / (time.perf_counter() - t0))

        llm.reset()
        t1 = time.perf_counter()
        for i in range(gen):  # from an empty cache, one token at a time; the ids do not change the cost
            llm.eval([tokens[i % len(tokens)]])
        tg.append(gen / (time.perf_counter() - t1))
    print(json.dumps({"pp": {str(n): statistics.median(v) for n, v in pp.items()},
                      "tg": statistics.median(tg), "version": llama_cpp.__version__}))


if __name__ == "__main__":
    main()
