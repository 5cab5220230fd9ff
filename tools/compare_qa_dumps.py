#!/usr/bin/env python3
"""Compares `jarvis-bench qa --dump` files question by question against a baseline dump.

    python3 tools/compare_qa_dumps.py /tmp/qa-fp16.jsonl /tmp/qa-q8.jsonl /tmp/qa-q4.jsonl

For each file after the first: accuracy per category, how many questions it gets right where
the baseline was wrong and wrong where the baseline was right, and how many answers are the
same words as the baseline's. Only rows of one mode are compared (kv unless --mode says).
"""
import argparse
import json
from collections import defaultdict


def load(path, mode):
    rows = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("mode") == mode:
                rows[(r["profile"], r["question"])] = r
    return rows


def summary(rows):
    by = defaultdict(lambda: [0, 0])
    for r in rows.values():
        by[r["category"]][0] += bool(r["ok"])
        by[r["category"]][1] += 1
    return {c: f"{100 * ok / n:.1f}% ({ok}/{n})" for c, (ok, n) in sorted(by.items())}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("base")
    p.add_argument("others", nargs="+")
    p.add_argument("--mode", default="kv")
    a = p.parse_args()
    base = load(a.base, a.mode)
    print(a.base, summary(base))
    for path in a.others:
        rows = load(path, a.mode)
        shared = base.keys() & rows.keys()
        gained = sum(1 for k in shared if rows[k]["ok"] and not base[k]["ok"])
        lost = sum(1 for k in shared if base[k]["ok"] and not rows[k]["ok"])
        same = sum(1 for k in shared if rows[k]["answer"] == base[k]["answer"])
        print(path, summary(rows))
        print(f"  of {len(shared)} shared questions: right where the base was wrong {gained}, "
              f"wrong where it was right {lost}, same words {same}")


if __name__ == "__main__":
    main()
