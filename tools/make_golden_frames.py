#!/usr/bin/env python3
"""Writes Protocol/golden/: one .frame file per message (4-byte big-endian length + canonical
JSON: sorted keys, no spaces, UTF-8, slashes unescaped) and manifest.json describing each.
Every client's tests replay these files. Standard library only.
"""
import json
import os
import struct

OUT = "Protocol/golden"

REQUESTS = {
    "hello": {"id": 1, "op": "hello", "protocol": 1, "client": "jarvisctl 0.1.0"},
    "ask": {"id": "q-7", "op": "ask", "question": "What is my dog's name?"},
    "ask-options": {"id": 8, "op": "ask", "question": "Où est la clé ? 🔑", "mode": "text-rag", "max_tokens": 64, "temperature": 0.5},
    "ask-image": {"id": 9, "op": "ask", "question": "Whose bike is this?", "image": "/home/user/Pictures/bike.jpg"},
    "remember-text": {"id": 2, "op": "remember", "text": "My dog is called Biscuit.", "name": "Biscuit", "aliases": ["the dog"], "metadata": {"category": "pet"}},
    "remember-path": {"id": 3, "op": "remember", "path": "/home/user/notes/trip.md", "kind": "file"},
    "remember-skip-known": {"id": 19, "op": "remember", "text": "- My dog is called Biscuit.\n", "skip_known": True},
    "forget": {"id": 4, "op": "forget", "entry": "Biscuit"},
    "list": {"id": 5, "op": "list"},
    "list-page": {"id": 18, "op": "list", "limit": 1, "after": 11},
    "show": {"id": 6, "op": "show", "entry": "12"},
    "status": {"id": "s", "op": "status"},
    "cancel": {"id": 10, "op": "cancel", "target": "q-7"},
    "search": {"id": 11, "op": "search", "query": "dog collar", "limit": 5},
    "update": {"id": 12, "op": "update", "entry": "Biscuit", "text": "My dog is called Biscuit; her collar is green."},
    "ask-session": {"id": 13, "op": "ask", "question": "And what colour is her collar?", "session": "walks", "resume": True},
    "sessions": {"id": 14, "op": "sessions"},
    "forget-session": {"id": 15, "op": "forget_session", "session": "walks"},
    "propose": {"id": 16, "op": "propose", "text": "Remember that Biscuit's collar is green now."},
    "backup": {"id": 18, "op": "backup", "directory": "/home/user/backups/jarvis-2026-12-01"},
    "backup-beside-store": {"id": 19, "op": "backup"},
}

SESSION = {"name": "walks", "turns": 2, "created_ms": 1764244800000, "updated_ms": 1764245100000, "live": True}

ENTRY = {"id": 12, "name": "Biscuit", "aliases": ["the dog"], "kind": "note", "created_ms": 1764244800000,
         "tokens": 9, "text": "- My dog is called Biscuit.\n", "metadata": {"category": "pet"}}

REPLIES = {
    "hello-done": ("hello", {"id": 1, "event": "done", "result_kind": "hello", "result": {"protocol": 1, "server": "jarvisd 0.1.0",
                                                                   "model": "SmolLM2-135M-Instruct.Q4_1.gguf", "fingerprint": "gguf:0a1b2c3d:98362432/prefix:1234abcd:19"}}),
    "ask-token": ("ask", {"id": "q-7", "event": "token", "text": " Biscuit"}),
    "ask-done": ("ask", {"id": "q-7", "event": "done", "result_kind": "ask", "result": {"answer": "Your dog's name is Biscuit.", "entries": [12], "ttft_ms": 65.25, "tokens": 8}}),
    "ask-done-nothing-remembered": ("ask", {"id": "q-8", "event": "done", "result_kind": "ask", "result": {"answer": "I have nothing remembered about that.", "entries": [], "ttft_ms": 4.5, "tokens": 0, "nothing_remembered": True}}),
    "remember-progress": ("remember", {"id": 3, "event": "progress", "done": 1, "total": 4, "stage": "encoding"}),
    "remember-done": ("remember", {"id": 2, "event": "done", "result_kind": "entries", "result": {"entries": [ENTRY]}}),
    "remember-done-known": ("remember", {"id": 19, "event": "done", "result_kind": "entries", "result": {"entries": [ENTRY], "known": True}}),
    "forget-done": ("forget", {"id": 4, "event": "done", "result_kind": "entry", "result": {"entry": ENTRY}}),
    "list-done": ("list", {"id": 5, "event": "done", "result_kind": "entries", "result": {"entries": [ENTRY, dict(ENTRY, id=13, name=None, aliases=[], kind="file", text="- The ferry leaves at 7:40.\n", metadata={"file": "trip.md"})]}}),
    "list-page-done": ("list", {"id": 18, "event": "done", "result_kind": "entries", "result": {"entries": [ENTRY], "next": 12}}),
    "show-done": ("show", {"id": 6, "event": "done", "result_kind": "entry", "result": {"entry": ENTRY}}),
    "status-done": ("status", {"id": "s", "event": "done", "result_kind": "status", "result": {"model": "SmolLM2-135M-Instruct.Q4_1.gguf", "entries": 2, "store_bytes": 1049088, "store_tokens": 1024, "bytes_per_token": 1024.5,
                                                                       "page_bytes": 786432, "paged_entries": 1, "text_only_entries": 1,
                                                                       "queue_depth": 0, "uptime_s": 12.5, "tokens_per_s": 160.5,
                                                                       "config": {"socket": "/run/user/1000/jarvis/jarvisd.sock", "threads": "2"}}}),
    "cancel-done": ("cancel", {"id": 10, "event": "done", "result_kind": "cancel", "result": {"cancelled": True}}),
    "search-done": ("search", {"id": 11, "event": "done", "result_kind": "hits", "result": {"hits": [
        {"id": 12, "name": "Biscuit", "kind": "note", "score": 1.0325, "cosine": 0.6125, "name_match": True, "snippet": "My dog is called Biscuit."},
        {"id": 13, "name": None, "kind": "file", "score": 0.0161, "cosine": 0.125, "name_match": False, "snippet": "…leaves at 7:40."}]}}),
    "update-done": ("update", {"id": 12, "event": "done", "result_kind": "entry", "result": {"entry": dict(ENTRY, text="My dog is called Biscuit; her collar is green.", tokens=14)}}),
    "ask-done-session": ("ask", {"id": 13, "event": "done", "result_kind": "ask", "result": {"answer": "Her collar is green.", "entries": [12], "ttft_ms": 71.5, "tokens": 6, "session": "walks", "history_tokens": 41}}),
    "sessions-done": ("sessions", {"id": 14, "event": "done", "result_kind": "sessions", "result": {"sessions": [SESSION, dict(SESSION, name="chat-20261201-093000", turns=5, updated_ms=1764581400000, live=False)]}}),
    "forget-session-done": ("forget_session", {"id": 15, "event": "done", "result_kind": "session", "result": {"session": dict(SESSION, live=False)}}),
    "propose-done": ("propose", {"id": 16, "event": "done", "result_kind": "proposal", "result": {"proposal": {
        "action": "update", "text": "Biscuit's collar is green now.", "entry": ENTRY}}}),
    "propose-done-nothing": ("propose", {"id": 17, "event": "done", "result_kind": "proposal", "result": {"proposal": None}}),
    "error-unknown-session": ("forget_session", {"id": 15, "event": "error", "error": {"code": "unknown_session", "message": "no chat session named \"walks\" (jarvisctl sessions lists them)"}}),
    "error-session-full": ("ask", {"id": 13, "event": "error", "error": {"code": "session_full", "message": "session \"walks\" holds 2010 tokens of history and this turn could take it past its cap of 2048: forget it or start another"}}),
    "backup-done": ("backup", {"id": 18, "event": "done", "result_kind": "backup", "result": {"directory": "/home/user/backups/jarvis-2026-12-01", "bytes": 9437184}}),
    "error-no-space": ("backup", {"id": 18, "event": "error", "error": {"code": "no_space", "message": "the disk holding the backup is full (No space left on device while writing /media/usb/jarvis/.data.mdb.partial-4242-17); nothing was left there, and the store is unchanged: free some space or choose another disk"}}),
    "error-not-found": ("forget", {"id": 4, "event": "error", "error": {"code": "not_found", "message": "no entry with id or name \"Biscuit\""}}),
    "error-no-id": ("ask", {"id": None, "event": "error", "error": {"code": "bad_json", "message": "the frame is not a UTF-8 JSON object"}}),
}

# Payloads a server must answer with an error (and keep the connection).
INVALID = {
    "bad-json": (b"{\"id\": 1, \"op\": ", "bad_json", None),
    "not-an-object": (b"[1, 2, 3]", "bad_json", None),
    "empty": (b"", "bad_json", None),
    "invalid-utf8": (b"{\"id\":1,\"op\":\"ask\",\"question\":\"\xff\xfe\"}", "bad_json", None),
    "unknown-op": (b"{\"id\":1,\"op\":\"dance\"}", "unknown_op", 1),
    "missing-question": (b"{\"id\":\"a\",\"op\":\"ask\"}", "bad_request", "a"),
    "wrong-type": (b"{\"id\":2,\"op\":\"ask\",\"question\":42}", "bad_request", 2),
    "missing-id": (b"{\"op\":\"list\"}", "bad_request", None),
    "remember-both": (b"{\"id\":3,\"op\":\"remember\",\"text\":\"x\",\"path\":\"/y\"}", "bad_request", 3),
    "unknown-mode": (b"{\"id\":4,\"op\":\"ask\",\"question\":\"hi\",\"mode\":\"psychic\"}", "bad_request", 4),
    "unknown-kind": (b"{\"id\":5,\"op\":\"remember\",\"text\":\"x\",\"kind\":\"poem\"}", "bad_request", 5),
    "search-missing-query": (b"{\"id\":6,\"op\":\"search\",\"limit\":3}", "bad_request", 6),
    "update-missing-text": (b"{\"id\":7,\"op\":\"update\",\"entry\":\"12\"}", "bad_request", 7),
    "forget-session-missing-session": (b"{\"id\":8,\"op\":\"forget_session\"}", "bad_request", 8),
    "propose-missing-text": (b"{\"id\":9,\"op\":\"propose\"}", "bad_request", 9),
    "backup-wrong-type": (b"{\"id\":10,\"op\":\"backup\",\"directory\":42}", "bad_request", 10),
}


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    for name, obj in REQUESTS.items():
        open(f"{OUT}/request-{name}.frame", "wb").write(frame(canonical(obj)))
        manifest.append({"file": f"request-{name}.frame", "kind": "request", "op": obj["op"]})
    for name, (op, obj) in REPLIES.items():
        open(f"{OUT}/reply-{name}.frame", "wb").write(frame(canonical(obj)))
        manifest.append({"file": f"reply-{name}.frame", "kind": "reply", "op": op})
    for name, (payload, code, rid) in INVALID.items():
        open(f"{OUT}/invalid-{name}.frame", "wb").write(frame(payload))
        manifest.append({"file": f"invalid-{name}.frame", "kind": "invalid", "error": code, "id": rid})
    with open(f"{OUT}/manifest.json", "w") as f:
        json.dump({"generator": "tools/make_golden_frames.py", "frames": manifest}, f, indent=1)
    print(f"wrote {len(manifest)} golden frames to {OUT}")


if __name__ == "__main__":
    main()
