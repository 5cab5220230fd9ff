#!/usr/bin/env python3
"""Validates every golden frame in Protocol/golden against Protocol/schemas (requests and
replies must validate; invalid frames must not). Needs `pip install jsonschema`."""
import json
import struct
import sys

import jsonschema

req = json.load(open("Protocol/schemas/request.schema.json"))
rep = json.load(open("Protocol/schemas/reply.schema.json"))
manifest = json.load(open("Protocol/golden/manifest.json"))
bad = 0
for f in manifest["frames"]:
    raw = open(f"Protocol/golden/{f['file']}", "rb").read()
    (n,) = struct.unpack(">I", raw[:4])
    assert n == len(raw) - 4, f["file"]
    try:
        obj = json.loads(raw[4:].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        obj = None
    schema = rep if f["kind"] == "reply" else req
    valid = obj is not None and jsonschema.Draft202012Validator(schema).is_valid(obj)
    expected = f["kind"] != "invalid"
    if valid != expected:
        bad += 1
        print(f"{f['file']}: {'valid' if valid else 'invalid'}, expected {'valid' if expected else 'invalid'}")
print(f"{len(manifest['frames'])} golden frames checked, {bad} wrong")
sys.exit(1 if bad else 0)
