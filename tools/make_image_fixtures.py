#!/usr/bin/env python3
"""Writes Tests/JarvisEngineTests/Fixtures/images/: small JPEG and PNG files covering what the
image decoder must handle, each with the upright RGB pixels Pillow decodes from it, plus files
it must refuse.

Pinned reference: pip install pillow==13.0.0 (which bundles its own libjpeg-turbo and libpng;
JPEG pixels may differ from the system libjpeg-turbo's by a few levels, so the tests compare
JPEGs with a tolerance and PNGs exactly).

Layout: expected.json lists every case: {"file", "width", "height", "pixels" (the upright RGB
file next to it, raw bytes, row-major), "exact" (PNG) } for images that decode, and
{"file", "error"} with the EngineError code for ones that must be refused.
"""
import io
import json
import os
import struct
import sys
import zlib
from importlib.metadata import version

from PIL import Image, ImageDraw, ImageOps

PINNED = "13.0.0"
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "JarvisEngineTests", "Fixtures", "images")


def scene(w=40, h=30):
    """Four coloured quadrants and a dot, so every flip and rotation looks different."""
    im = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, w // 2 - 1, h // 2 - 1], fill=(220, 30, 30))
    d.rectangle([w // 2, 0, w - 1, h // 2 - 1], fill=(30, 200, 40))
    d.rectangle([0, h // 2, w // 2 - 1, h - 1], fill=(40, 40, 220))
    d.rectangle([w // 2, h // 2, w - 1, h - 1], fill=(230, 220, 40))
    d.rectangle([2, 2, 5, 5], fill=(255, 255, 255))
    return im


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width, height):
    """A valid-looking PNG header claiming width×height RGB pixels, with a few bytes of data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def main():
    if version("pillow") != PINNED:
        sys.exit(f"make_image_fixtures.py: needs pillow=={PINNED} (found {version('pillow')})")
    os.makedirs(OUT, exist_ok=True)
    cases = []

    def save(name, data, upright=None, exact=False, error=None):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        if error:
            cases.append({"file": name, "error": error})
            return
        rgb = upright.convert("RGB")
        raw = name + ".rgb"
        with open(os.path.join(OUT, raw), "wb") as f:
            f.write(rgb.tobytes())
        cases.append({"file": name, "width": rgb.width, "height": rgb.height, "pixels": raw, "exact": exact})

    def upright_of(data):
        im = Image.open(io.BytesIO(data))
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "P", "PA") or "transparency" in im.info:
            im = im.convert("RGBA")
            white = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, im)
        return im.convert("RGB")

    base = scene()
    # JPEG: every EXIF orientation (the stored pixels are the upright scene transformed back).
    inverse = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
               4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
               7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}
    for o in range(1, 9):
        stored = base if inverse[o] is None else base.transpose(inverse[o])
        exif = Image.Exif()
        exif[0x0112] = o
        buf = io.BytesIO()
        stored.save(buf, "JPEG", quality=95, subsampling=0, exif=exif.tobytes())
        save(f"orientation-{o}.jpg", buf.getvalue(), upright_of(buf.getvalue()))

    buf = io.BytesIO(); base.convert("L").save(buf, "JPEG", quality=95)
    save("gray.jpg", buf.getvalue(), upright_of(buf.getvalue()))
    buf = io.BytesIO(); base.save(buf, "JPEG", quality=90, progressive=True)
    save("progressive.jpg", buf.getvalue(), upright_of(buf.getvalue()))
    buf = io.BytesIO(); base.convert("CMYK").save(buf, "JPEG")
    save("cmyk.jpg", buf.getvalue(), error="invalid_image")

    # PNG: 8-bit RGB, gray, palette with a transparent entry, RGBA, 16-bit, interlaced.
    for name, im, kw in [
        ("rgb.png", base, {}),
        ("gray.png", base.convert("L"), {}),
        ("rgba.png", base.convert("RGBA"), {}),
        ("interlaced.png", base, {"interlace": 1}),
    ]:
        if name == "rgba.png":
            im = im.copy()
            im.putalpha(Image.linear_gradient("L").resize(im.size))
        buf = io.BytesIO(); im.save(buf, "PNG", **kw)
        save(name, buf.getvalue(), upright_of(buf.getvalue()), exact=True)
    pal = base.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    buf = io.BytesIO(); pal.save(buf, "PNG", transparency=0)
    save("palette-transparent.png", buf.getvalue(), upright_of(buf.getvalue()), exact=True)
    im16 = Image.frombytes("I;16B", base.size, b"".join(struct.pack(">H", v * 257) for v in base.convert("L").tobytes()))
    buf = io.BytesIO(); im16.save(buf, "PNG")
    # Pillow reads 16-bit gray as 32-bit integers; the expected 8-bit value is the high byte.
    save("gray16.png", buf.getvalue(), base.convert("L"), exact=True)

    # Refused: not an image, truncated, a bomb header, a zero-size header.
    save("not-an-image.jpg", b"this is a text file, not a photo\n", error="invalid_image")
    rgb_png = open(os.path.join(OUT, "rgb.png"), "rb").read()
    save("truncated.png", rgb_png[: len(rgb_png) // 2], error="invalid_image")
    save("bomb-100000x100000.png", bomb_png(100_000, 100_000), error="too_large")
    save("zero-width.png", bomb_png(0, 10), error="invalid_image")
    jpeg = open(os.path.join(OUT, "orientation-1.jpg"), "rb").read()
    save("header-only.jpg", jpeg[:20], error="invalid_image")

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
