#!/usr/bin/env python3
"""Validates bench/docqa/questions.json against the documents in bench/docqa/docs/ and prints counts.

Errors (exit 1):
  - a question's file is not listed in "documents", or a listed document is missing;
  - ids are not unique, a field is missing, or the type is unknown;
  - an evidence string is not an exact substring of its document, or is not 20-200 characters long;
  - an answerable question's answer (1-6 words) does not occur, after normalising case and
    punctuation, inside one of its evidence strings;
  - an unanswerable question has a non-empty answer or evidence;
  - a document's sha256 differs from bench/docqa/SOURCES.md;
  - fewer than the minimum counts: 20 documents, 200 answerable questions, 50 "two", 20 "table",
    50 "unanswerable".
Warnings (best effort, printed only):
  - a "two" question whose evidence strings all lie within 300 characters of each other;
  - an unanswerable question all of whose content words co-occur in one short window of its
    document (it may be answerable after all: read that passage);
  - a document outside roughly 3-40 KB, or a total above 600 KB; duplicate questions.
Standard library only.
"""
import collections
import hashlib
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench", "docqa")
TYPES = ("single", "two", "table", "unanswerable")
MINIMUM = {"documents": 20, "answerable": 200, "two": 50, "table": 20, "unanswerable": 50}
STOP = set("""a an the of in on to for from by with and or is are was were be been does do did what which
who whom whose when where why how according readme docs documentation guide changelog file project my
this that it its as at into than then there their they you your can could would should i me give name
version per about using use used""".split())


def norm(s):
    """Lower-case, punctuation to spaces, collapsed whitespace."""
    return " ".join(re.sub(r"[^\w]+", " ", s.lower()).split())


def contains(haystack, needle):
    return f" {norm(needle)} " in f" {norm(haystack)} "


def sources_sha256():
    """file name -> sha256 from the SOURCES.md table."""
    out = {}
    path = os.path.join(BENCH, "SOURCES.md")
    if not os.path.exists(path):
        return out
    for line in open(path, encoding="utf-8"):
        m = re.match(r"\|\s*`([^`]+)`\s*\|.*`([0-9a-f]{64})`\s*\|\s*$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def main():
    data = json.load(open(os.path.join(BENCH, "questions.json"), encoding="utf-8"))
    errors, warnings = [], []
    docs = {}
    listed = [d["file"] for d in data["documents"]]
    if len(set(listed)) != len(listed):
        errors.append("duplicate entries in documents")
    pins = sources_sha256()
    total = 0
    for d in data["documents"]:
        path = os.path.join(BENCH, "docs", d["file"])
        if not os.path.exists(path):
            errors.append(f"{d['file']}: listed but missing")
            continue
        raw = open(path, "rb").read()
        total += len(raw)
        if not d.get("title"):
            errors.append(f"{d['file']}: no title")
        if pins.get(d["file"]) != hashlib.sha256(raw).hexdigest():
            errors.append(f"{d['file']}: sha256 does not match SOURCES.md")
        if not 3000 <= len(raw) <= 42000:
            warnings.append(f"{d['file']}: {len(raw)} bytes, outside ~3-40 KB")
        docs[d["file"]] = raw.decode("utf-8")
    for f in sorted(set(os.listdir(os.path.join(BENCH, "docs"))) - set(listed)):
        warnings.append(f"{f}: in docs/ but not listed in questions.json")
    if total > 600_000:
        warnings.append(f"documents total {total} bytes (> 600 KB)")

    ids = collections.Counter(q.get("id") for q in data["questions"])
    for i, n in ids.items():
        if n > 1:
            errors.append(f"id {i} used {n} times")
    seen = collections.Counter((q.get("file"), norm(q.get("question", ""))) for q in data["questions"])
    for (f, qn), n in seen.items():
        if n > 1:
            warnings.append(f"{f}: question repeated {n} times: {qn[:60]}")

    counts = collections.Counter()
    per_doc = collections.defaultdict(collections.Counter)
    for q in data["questions"]:
        qid = q.get("id", "?")
        missing = [k for k in ("id", "file", "question", "answer", "evidence", "type") if k not in q]
        if missing:
            errors.append(f"{qid}: missing {', '.join(missing)}")
            continue
        if q["type"] not in TYPES:
            errors.append(f"{qid}: unknown type {q['type']!r}")
            continue
        if q["file"] not in docs:
            errors.append(f"{qid}: file {q['file']} not among the documents")
            continue
        text = docs[q["file"]]
        counts[q["type"]] += 1
        per_doc[q["file"]][q["type"]] += 1
        if q["type"] == "unanswerable":
            if q["answer"] != "" or q["evidence"] != []:
                errors.append(f"{qid}: unanswerable with an answer or evidence")
            words = [w for w in norm(q["question"]).split() if w not in STOP and (len(w) > 2 or w.isdigit())]
            project = set(norm(q["file"].split("-")[0]).split())
            words = [w for w in words if w not in project]
            if len(words) >= 3:
                best = best_window(norm(text), set(words))
                if best >= 1.0:
                    warnings.append(f"{qid}: unanswerable, but all its content words co-occur in one passage of "
                                    f"{q['file']}: check it ({q['question']})")
            continue
        if not q["answer"].strip():
            errors.append(f"{qid}: empty answer")
        if len(q["answer"].split()) > 6:
            errors.append(f"{qid}: answer longer than 6 words: {q['answer']!r}")
        if not q["evidence"]:
            errors.append(f"{qid}: no evidence")
        spans = []
        for e in q["evidence"]:
            pos = text.find(e)
            if pos < 0:
                errors.append(f"{qid}: evidence not in {q['file']}: {e!r}")
            else:
                spans.append((pos, pos + len(e)))
            if not 20 <= len(e) <= 200:
                errors.append(f"{qid}: evidence is {len(e)} characters (20-200): {e!r}")
        if not any(contains(e, q["answer"]) for e in q["evidence"]):
            errors.append(f"{qid}: answer {q['answer']!r} not in its evidence")
        if not contains(text, q["answer"]):
            errors.append(f"{qid}: answer {q['answer']!r} not in {q['file']}")
        if q["type"] == "two":
            if len(q["evidence"]) < 2:
                errors.append(f"{qid}: type two needs at least two evidence strings")
            elif len(spans) >= 2 and max(s for s, _ in spans) - min(e for _, e in spans) < 300:
                warnings.append(f"{qid}: type two, but its evidence lies within 300 characters")

    answerable = counts["single"] + counts["two"] + counts["table"]
    got = {"documents": len(docs), "answerable": answerable, "two": counts["two"], "table": counts["table"],
           "unanswerable": counts["unanswerable"]}
    for k, need in MINIMUM.items():
        if got[k] < need:
            errors.append(f"only {got[k]} {k} (need {need})")

    print(f"{'document':32} {'bytes':>6} {'single':>6} {'two':>4} {'table':>5} {'unans':>5}")
    for f in listed:
        c = per_doc[f]
        size = len(docs.get(f, "").encode("utf-8"))
        print(f"{f:32} {size:6} {c['single']:6} {c['two']:4} {c['table']:5} {c['unanswerable']:5}")
    print(f"documents {len(docs)} ({total} bytes); questions {len(data['questions'])}: answerable {answerable} "
          f"(single {counts['single']}, two {counts['two']}, table {counts['table']}), "
          f"unanswerable {counts['unanswerable']}")
    for w in warnings:
        print("warning:", w)
    for e in errors:
        print("error:", e)
    print(f"{'FAILED' if errors else 'OK'}: {len(errors)} errors, {len(warnings)} warnings")
    return 1 if errors else 0


def best_window(text, words, width=60):
    """Largest fraction of `words` found together in any run of `width` consecutive words of `text`."""
    toks = text.split()
    best = 0.0
    hits = collections.Counter()
    for i, t in enumerate(toks):
        if t in words:
            hits[t] += 1
        if i >= width and toks[i - width] in words:
            hits[toks[i - width]] -= 1
            if hits[toks[i - width]] == 0:
                del hits[toks[i - width]]
        best = max(best, len(hits) / len(words))
    return best


if __name__ == "__main__":
    sys.exit(main())
