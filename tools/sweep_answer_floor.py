#!/usr/bin/env python3
"""Sweeps the nothing-remembered floor over a `jarvis-bench qa --dump` file: for each floor on the
cosine of the first-ranked entry, how many unanswerable questions it would catch and how many
answerable ones it would decline (and how many of those were answered right), on a calibration
range of profiles and on the rest. Make the dump with `--answer-floor 0`, so that every question is
answered. Standard library only.

Usage: tools/sweep_answer_floor.py DUMP.jsonl [--mode kv] [--calibration 12]
"""
import argparse
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    ap.add_argument("--mode", default="kv")
    ap.add_argument("--calibration", type=int, default=12, help="profiles [0, N) calibrate; the rest check")
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(args.dump)]
    rows = [r for r in rows if r["mode"] == args.mode]
    parts = [("calibration", [r for r in rows if r["profile"] < args.calibration]),
             ("held out", [r for r in rows if r["profile"] >= args.calibration])]
    for floor in [0.30, 0.35, 0.40, 0.45, 0.50]:
        line = [f"floor {floor:.2f}:"]
        for name, part in parts:
            if not part:
                continue
            unanswerable = [r for r in part if r["category"] == "unanswerable"]
            answerable = [r for r in part if r["category"] != "unanswerable"]
            below = lambda r: r["top"][0]["cosine"] < floor  # noqa: E731
            line.append(f"{name}: caught {sum(map(below, unanswerable))}/{len(unanswerable)}, "
                        f"declined {sum(map(below, answerable))}/{len(answerable)} "
                        f"({sum(below(r) and r['ok'] for r in answerable)} answered right)")
        print("  ".join(line))


if __name__ == "__main__":
    main()
