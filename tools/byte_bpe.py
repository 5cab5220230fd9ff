"""Shared by the scripts that write synthetic byte-level BPE vocabularies
(make_shape_gguf.py, make_family_fixtures.py). Standard library only."""


def byte_alphabet():
    """GPT-2's byte-to-unicode table: the 256 symbols byte-level BPE spells bytes with."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]
