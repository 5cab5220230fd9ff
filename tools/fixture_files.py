"""What the reference-fixture scripts (make_vlm_fixtures.py, make_llava_ov_fixtures.py) share:
the pinned-version check, deterministic PNG bytes, reference.json with every file's sha256, and
llama.cpp's logits for input embeddings in their --check-llama-cpp runs."""
import hashlib
import io
import json
import os
import sys
from importlib.metadata import version


def check_versions(pinned):
    """Exits naming every package whose installed version is not the pinned one."""
    bad = [f"{pkg}=={version(pkg)} (expected {want})" for pkg, want in pinned.items() if version(pkg) != want]
    if bad:
        sys.exit("version mismatch: " + ", ".join(bad))


def png_bytes(img):
    """A PIL image as PNG bytes, the same on every run."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_reference(out, ref):
    """Adds the sha256 of every file under `out` to `ref`, writes it as out/reference.json, and
    prints each file's size and the total."""
    files = []
    for dirpath, _, names in os.walk(out):
        for n in names:
            files.append(os.path.relpath(os.path.join(dirpath, n), out))
    ref["sha256"] = {f: sha256(os.path.join(out, f)) for f in sorted(files)}
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1, ensure_ascii=True)
        f.write("\n")
    total = 0
    for f in sorted(files + ["reference.json"]):
        size = os.path.getsize(os.path.join(out, f))
        total += size
        print(f"{size:>9}  {f}")
    print(f"{total:>9}  total")


def llama_cpp_logits_for_embeds(L, ctx, emb, n_vocab):
    """llama.cpp's logits at every position for input embeddings `emb` (n x dim), from a cleared
    context `ctx` of llama-cpp-python's low-level module `L` (for the --check-llama-cpp runs)."""
    import ctypes

    import numpy as np

    L.llama_memory_clear(L.llama_get_memory(ctx), True)
    n, d = emb.shape
    batch = L.llama_batch_init(n, d, 1)
    batch.n_tokens = n
    flat = np.ascontiguousarray(emb, dtype=np.float32).ravel()
    ctypes.memmove(batch.embd, flat.ctypes.data, flat.nbytes)
    for i in range(n):
        batch.pos[i] = i
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = 0
        batch.logits[i] = 1
    assert L.llama_decode(ctx, batch) == 0
    res = np.ctypeslib.as_array(L.llama_get_logits(ctx), shape=(n * n_vocab,)).reshape(n, n_vocab).copy()
    L.llama_batch_free(batch)
    return res
