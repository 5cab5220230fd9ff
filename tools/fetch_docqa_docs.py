#!/usr/bin/env python3
"""Re-creates bench/docqa/docs/: downloads each pinned PyPI package, extracts one document from
it byte for byte and checks the document's sha256 against the pins below (bench/docqa/SOURCES.md
lists the same pins with licences). Standard library only; pip is run as a subprocess.

Usage:
  tools/fetch_docqa_docs.py               # download, extract, verify, write bench/docqa/docs/
  tools/fetch_docqa_docs.py --check       # no network: verify the files already in bench/docqa/docs/
  tools/fetch_docqa_docs.py --only NAME   # one document (may be repeated)
  tools/fetch_docqa_docs.py --cache DIR   # keep downloaded archives in DIR and reuse them

Sources are either "sdist" (the file at MEMBER inside the package's source archive, found with
`pip download --no-deps --no-binary :all: NAME==VERSION`) or "wheel-metadata" (the long
description of the wheel's METADATA file: everything after the first blank line, i.e. after the
header block). A document whose sha256 differs from its pin is not written, and the script exits 1.
"""
import argparse
import glob
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "bench", "docqa", "docs")

# (output file, kind, package, version, member inside the archive's top directory, sha256)
DOCS = [
    ("arrow-guide.rst", "sdist", "arrow", "1.4.0", "docs/guide.rst",
     "a29a466693e9f62a4d7776bccec1a0770606988b7053dee792523500f14a1f45"),
    ("cachetools-changelog.rst", "sdist", "cachetools", "8.0.0", "CHANGELOG.rst",
     "ac82a6701c555e5ef66193b21b19f0db1232cb46f72a7b2ff8e6f46aaaef7d04"),
    ("charset-normalizer-readme.md", "sdist", "charset-normalizer", "3.4.7", "README.md",
     "2874f7460f6ccf4e07fbbac656c741b163a0c67b118057e14fc490d383e8ad02"),
    ("diskcache-readme.rst", "sdist", "diskcache", "5.6.3", "README.rst",
     "c02d56a9c0dd90d1df18c84fb30a3dcb586e432e275e900f3b5a7565e1c2fdc9"),
    ("httpx-readme.md", "sdist", "httpx", "0.28.1", "README.md",
     "0025293013043e0c49d494dbbde876a6ac558fa70a74f93a86ed10e7ecba0ea3"),
    ("humanize-readme.md", "sdist", "humanize", "4.17.0", "README.md",
     "8a4dd84c71d1dfe61015ced2d7bce0c8046cfd70c70697657e72cfefaa4b4313"),
    ("lark-readme.md", "sdist", "lark", "1.3.1", "README.md",
     "a9eedb0a30872d8c123da6fc9ee5095e1fd5e78eac840ec751fe700f68b2ae08"),
    ("loguru-readme.md", "sdist", "loguru", "0.7.3", "README.md",
     "e6e47babf43b7996dfda47437bba3a61ff94126acb3338633c7dd9d7bf753249"),
    ("markdown-it-py-changelog.md", "sdist", "markdown-it-py", "4.3.0", "CHANGELOG.md",
     "d7956bb0f2c01b1ccef6fbaf7ac7a4b13f0a0f32f92dc04c56871e5a18fe8d52"),
    ("mistune-plugins.rst", "sdist", "mistune", "3.4.0", "docs/plugins.rst",
     "970e390176ebdcfb4f0ee995777a7bdb17eb86f1a4124621d48bcd36b1ad1084"),
    ("orjson-readme.md", "wheel-metadata", "orjson", "3.13.0", "orjson-3.13.0.dist-info/METADATA",
     "17582dd725f574b33a0b01c109dc087d2be3d9d3bb9cda732c1ec3a1ea31ba36"),
    ("parse-readme.rst", "sdist", "parse", "1.22.4", "README.rst",
     "d2a52d362f88448084404e88759d6feedb04b44eaf4594a6c383a487ff447746"),
    ("prettytable-readme.md", "sdist", "prettytable", "3.18.0", "README.md",
     "8cf3d59fb2014a3a5d1ff002d9ed23f8382d246e4e8a6b550b9c6e0df87ca5fd"),
    ("simplejson-changes.txt", "sdist", "simplejson", "4.3.0", "CHANGES.txt",
     "d56ab5b2a73dbd5cf04a6fa827a4278db0146d265ba91ca6b3b23c49cb46a174"),
    ("sqlite-utils-upgrading.rst", "sdist", "sqlite-utils", "4.2.1", "docs/upgrading.rst",
     "2de50d3307053331cbb943d27acdeeba901ff62f8f3bdcaf817963d6f3e3bc09"),
    ("structlog-standard-library.md", "sdist", "structlog", "26.1.0", "docs/standard-library.md",
     "1001f1061300928bfb133a43a51100b58fb12f20598c6cc0aa47637f1744a55b"),
    ("tabulate-changelog.txt", "sdist", "tabulate", "0.10.0", "CHANGELOG",
     "25b7c69a6757cc727b64bc1345cc26c52a9d78b786e9c5e204be1c16ede516ad"),
    ("tabulate-readme.md", "sdist", "tabulate", "0.10.0", "README.md",
     "29ab1e42f9839cc15815099062a1f455124fe95c9dff9cad16f37e51c4c1f19c"),
    ("tenacity-docs.rst", "sdist", "tenacity", "9.2.1", "doc/source/index.rst",
     "86b17820856b09e98bd2a59be26dd93d916c624aef686fab457e46b3ff9194b6"),
    ("tomli-readme.md", "sdist", "tomli", "2.5.0", "README.md",
     "2e0d61304aa9e88b53c99fee8721f7f32105bebf29dad64c590bbed8cfe3ece8"),
    ("uvicorn-readme.md", "sdist", "uvicorn", "0.54.0", "README.md",
     "3bcc5731f0f0b7c6a66a19b2b91e08aea7d7dfc1d38871bfeae05e3e70e7e27a"),
    ("watchdog-readme.rst", "sdist", "watchdog", "7.1.0", "README.rst",
     "ba922bce68f82ba42712e22472026c78294c70156de832ad55b638e8aa0f1306"),
]

# orjson has no pure-Python wheel and its sdist needs Rust to prepare metadata, so one fixed
# platform's wheel is fetched; METADATA is the same in every orjson 3.13.0 wheel.
WHEEL_PLATFORM = ["--platform", "manylinux_2_17_x86_64", "--python-version", "3.11",
                  "--implementation", "cp", "--abi", "cp311"]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def download(kind, package, version, dest):
    """Runs pip download into dest (unless a matching archive is already there); returns the archive path."""
    stem = package.replace("-", "_").lower()
    pattern = (f"{stem}-{version}.tar.gz", f"{stem}-{version}.zip") if kind == "sdist" \
        else (f"{stem}-{version}-*.whl",)

    def existing():
        for p in pattern:
            for path in glob.glob(os.path.join(dest, p)) + glob.glob(os.path.join(dest, p.replace(stem, package))):
                return path
        return None

    path = existing()
    if path:
        return path
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d", dest]
    if kind == "sdist":
        cmd += ["--no-binary", ":all:"]
    else:
        cmd += ["--only-binary", ":all:"] + WHEEL_PLATFORM
    cmd.append(f"{package}=={version}")
    print("  $", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True)
    path = existing()
    if not path:
        raise RuntimeError(f"pip download did not produce an archive for {package}=={version} in {dest}")
    return path


def extract(kind, archive, member):
    """Returns the document's bytes, exactly as stored in the archive."""
    if kind == "wheel-metadata":
        with zipfile.ZipFile(archive) as z:
            metadata = z.read(member)
        header, sep, body = metadata.partition(b"\n\n")
        if not sep:
            raise RuntimeError(f"{archive}: {member} has no long description")
        return body
    if archive.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            top = z.namelist()[0].split("/")[0]
            return z.read(f"{top}/{member}")
    with tarfile.open(archive, "r:gz") as t:
        names = t.getnames()
        top = names[0].split("/")[0]
        f = t.extractfile(f"{top}/{member}")
        if f is None:
            raise RuntimeError(f"{archive}: {top}/{member} is not a regular file")
        return f.read()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="verify the existing files only (no network)")
    ap.add_argument("--only", action="append", default=[], help="output file name to (re)fetch; repeatable")
    ap.add_argument("--cache", help="directory for downloaded archives (kept between runs)")
    ap.add_argument("--out", default=OUT_DIR, help="output directory (default: bench/docqa/docs)")
    args = ap.parse_args()

    docs = [d for d in DOCS if not args.only or d[0] in args.only]
    unknown = set(args.only) - {d[0] for d in DOCS}
    if unknown:
        ap.error(f"unknown document(s): {', '.join(sorted(unknown))}")

    failures = 0
    if args.check:
        for name, _, package, version, _, want in docs:
            path = os.path.join(args.out, name)
            if not os.path.exists(path):
                print(f"MISSING  {name}")
                failures += 1
                continue
            got = sha256(open(path, "rb").read())
            ok = got == want
            failures += not ok
            print(f"{'ok      ' if ok else 'MISMATCH'} {name}  ({package}=={version})")
        print(f"{len(docs) - failures} ok, {failures} failed")
        return 1 if failures else 0

    os.makedirs(args.out, exist_ok=True)
    cache = args.cache or tempfile.mkdtemp(prefix="docqa-")
    os.makedirs(cache, exist_ok=True)
    for name, kind, package, version, member, want in docs:
        print(f"{name}: {package}=={version} {kind} {member}", flush=True)
        try:
            archive = download(kind, package, version, cache)
            data = extract(kind, archive, member)
        except (subprocess.CalledProcessError, RuntimeError, KeyError, OSError, tarfile.TarError, zipfile.BadZipFile) as e:
            print(f"  FAILED: {e}")
            failures += 1
            continue
        got = sha256(data)
        if got != want:
            print(f"  MISMATCH: sha256 {got}, expected {want}; not written")
            failures += 1
            continue
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
        print(f"  ok ({len(data)} bytes)")
    if not args.cache:
        print(f"(downloads left in {cache})")
    print(f"{len(docs) - failures} ok, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
