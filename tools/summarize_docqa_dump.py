#!/usr/bin/env python3
"""Summarizes a `jarvis-bench docqa --dump FILE` over the questions it holds, per k and method:
accuracy, answer and first-token agreement with text-rag (same k, same order), median TTFT and
mean recomputed tokens. For runs cut short: only questions answered by every method at a k count.

Usage: tools/summarize_docqa_dump.py FILE
"""
import json
import statistics
import sys
from collections import defaultdict


def main(path):
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    by_question = defaultdict(dict)  # (id, k) -> method -> row
    methods = []
    for r in rows:
        by_question[(r["id"], r["k"])][r["method"]] = r
        if r["method"] not in methods:
            methods.append(r["method"])
    print(f"{'k':<4}{'method':<28}{'n':>4}{'accuracy':>10}{'agreement':>11}{'first token':>13}{'median TTFT':>13}{'recomputed':>12}")
    for k in sorted({key[1] for key in by_question}):
        complete = [m for (qid, kk), m in by_question.items() if kk == k and len(m) == len(methods) and m[methods[0]]["type"] != "unanswerable"]
        for name in methods:
            answers = [m[name] for m in complete]
            reference = [next(v for n, v in m.items() if n.startswith("text-rag")) for m in complete]
            n = len(answers)
            accuracy = sum(a["ok"] for a in answers) / max(n, 1)
            is_text = name.startswith("text-rag")
            agree = "-" if is_text else f"{100 * sum(a['answer'] == r['answer'] for a, r in zip(answers, reference)) / max(n, 1):.1f}%"
            first = "-" if is_text else f"{100 * sum(a['first_token'] == r['first_token'] for a, r in zip(answers, reference)) / max(n, 1):.1f}%"
            ttft = statistics.median(a["ttft"] for a in answers) * 1000 if answers else 0
            recomputed = statistics.mean(a["recomputed_tokens"] for a in answers) if answers else 0
            print(f"{k:<4}{name:<28}{n:>4}{100 * accuracy:>9.1f}%{agree:>11}{first:>13}{ttft:>10.0f} ms{recomputed:>12.1f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
