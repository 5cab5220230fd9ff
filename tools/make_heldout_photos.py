#!/usr/bin/env python3
"""Draws the HELD-OUT photo set for the patch-mining benchmark:

  bench/photos-heldout/   30 drawn scenes (PNG and JPEG) + photos.json

The 10 photos in Tests/JarvisEngineTests/Fixtures/photos/ (tools/make_vision_fixtures.py) are
used to tune the patch-mining algorithm; these 30 are never looked at while tuning, so they
measure it honestly. Each scene is a background (sky and grass, wall and floor, table top, or
a studio gradient, all with mild noise), one main subject drawn from simple shapes (cup, bag,
bottle, box, bicycle, house, car, book stack, plant pot, shop sign, shoe, laptop, toy robot,
suitcase, fridge), 2-5 clutter objects (at least one a small coloured shape that is NOT the
detail) and exactly one small detail a person would point at (sticker, tag with text, badge,
logo, label, keychain, number), 0.3%-3% of the photo area, on or hanging from the subject.

Usage (from the repository root; standard library + pillow==13.0.0 only):
    python3 tools/make_heldout_photos.py [--seed N] [--out bench/photos-heldout]

Everything comes from random.Random (one generator for the plan and one per scene, seeded
with strings derived from --seed), so with the pinned Pillow the files are byte-identical on
every run. Sizes: longest side 400-1200 px, 4:3, 16:9, 3:4, 9:16 and 1:1; 13 JPEG (quality
85-92) and 17 PNG, about 1.4 MB in all (PNG backgrounds get weaker, 8x8-cell noise to stay
small). Files are named NN_<subject>_<detail kind>.<ext>; stale images in --out are removed.

photos.json: {generator, pillow, seed, photos: [...]}; per photo: file, format, upright_size
[w, h], exif_orientation (always 1), subject, subject_box and detail_box ([x0, y0, x1, y1],
pixels, end exclusive), detail_kind, detail_label, clutter [{kind, box}] (kinds starting with
"shape_" are the small coloured distractors). Boxes are exact: subject and detail are drawn
on their own transparent layers and the boxes are the layers' alpha bounding boxes
(subject_box is the subject alone, without its shadow; a hanging tag or keychain may extend
below it). Clutter never overlaps the subject or the detail.
"""
import argparse
import functools
import json
import math
import random
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PILLOW = "13.0.0"
try:
    _found = version("pillow")
except PackageNotFoundError:
    _found = None
if _found != PILLOW:
    sys.exit(f"make_heldout_photos.py needs pillow=={PILLOW} (found {_found or 'none'}); "
             f"run: pip install pillow=={PILLOW}")

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont  # noqa: E402

N_SCENES = 30
DETAIL_MIN, DETAIL_MAX = 0.003, 0.03          # detail bbox area / photo area (spec)
COLOURS = {
    "red": (214, 48, 49), "orange": (240, 140, 30), "yellow": (246, 204, 40),
    "green": (46, 160, 67), "blue": (40, 100, 210), "purple": (130, 70, 180),
    "pink": (235, 120, 170), "teal": (30, 160, 160), "white": (245, 245, 240),
    "black": (32, 32, 36), "brown": (130, 85, 50), "grey": (140, 140, 145),
    "navy": (30, 45, 95), "cream": (238, 228, 200), "silver": (190, 192, 198),
}
BRIGHT = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "teal"]
WHITE, INK = (250, 250, 248), (20, 20, 24)


# ---------------------------------------------------------------- small helpers

@functools.lru_cache(maxsize=None)
def font(size):
    return ImageFont.load_default(size=max(6, int(size)))


def shade(c, f):
    return tuple(max(0, min(255, int(v * f))) for v in c[:3])


def jit(rng, c, k=14):
    return tuple(max(0, min(255, v + rng.randint(-k, k))) for v in c)


def an(word):
    return ("an " if word[0] in "aeiou" else "a ") + word


def ibox(b):
    return tuple(int(round(v)) for v in b)


def grow(b, m):
    return (b[0] - m, b[1] - m, b[2] + m, b[3] + m)


def overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def star(cx, cy, r, n=5, inner=0.45):
    return [(cx + (r if k % 2 == 0 else r * inner) * math.cos(math.radians(-90 + k * 180 / n)),
             cy + (r if k % 2 == 0 else r * inner) * math.sin(math.radians(-90 + k * 180 / n)))
            for k in range(2 * n)]


def heart(d, b, fill):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    d.ellipse((x0, y0, x0 + w * .55, y0 + h * .55), fill=fill)
    d.ellipse((x1 - w * .55, y0, x1, y0 + h * .55), fill=fill)
    d.polygon([(x0 + w * .02, y0 + h * .36), (x1 - w * .02, y0 + h * .36), ((x0 + x1) / 2, y1)],
              fill=fill)


def fit_text(d, b, text, fill, frac_h=0.62):
    """Centre text in box b, as large as fits (86% of the width, frac_h of the height)."""
    x0, y0, x1, y1 = b
    s = max(6, int((y1 - y0) * frac_h))
    while s > 6 and d.textlength(text, font=font(s)) > (x1 - x0) * 0.86:
        s -= 1
    d.text(((x0 + x1) / 2, (y0 + y1) / 2), text, fill=fill, font=font(s), anchor="mm")


def gradient(size, c0, c1, mode="v"):
    """c0 -> c1 top to bottom ("v"), left to right ("h") or centre to edge ("r")."""
    m = Image.radial_gradient("L") if mode == "r" else Image.linear_gradient("L")
    if mode == "h":
        m = m.transpose(Image.Transpose.ROTATE_90).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    m = m.resize(size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", size, c1), Image.new("RGB", size, c0), m)


def noise(img, rng, amp, cell, png=False):
    """Adds luminance noise in [-amp, amp], smooth over cells of `cell` pixels (JPEG), or
    at most +-3 and constant over 8x8 cells for PNG (smooth noise costs PNG ~3x the bytes)."""
    if png:
        amp, cell = min(amp, 3), 8
    w, h = img.size
    nw, nh = max(2, w // cell), max(2, h // cell)
    n = Image.frombytes("L", (nw, nh), bytes(b * (2 * amp + 1) >> 8 for b in rng.randbytes(nw * nh)))
    rs = Image.Resampling.NEAREST if png else Image.Resampling.BILINEAR
    n = n.resize((w, h), rs).convert(img.mode)
    return ImageChops.add(img, n, 1.0, -amp)


# ---------------------------------------------------------------- backgrounds
# Each returns (RGB image, ground_y, air_y): subjects stand below ground_y; "air" clutter
# (clouds, picture frames) goes above air_y (0 = no air region).

def bg_outdoor(W, H, rng, png):
    hz = int(H * rng.uniform(.4, .58))
    img = Image.new("RGB", (W, H))
    img.paste(noise(gradient((W, hz), jit(rng, (80, 140, 215)), jit(rng, (195, 218, 240))), rng, 3, 24, png))
    d = ImageDraw.Draw(img)
    if rng.random() < .5:
        r = H * .05
        sx, sy = rng.uniform(.1, .9) * W, rng.uniform(.08, .2) * H
        d.ellipse((sx - r, sy - r, sx + r, sy + r), fill=(255, 240, 170))
    for _ in range(rng.randint(1, 3)):
        hx, hw, hh = rng.uniform(0, W), rng.uniform(.3, .7) * W, rng.uniform(.04, .1) * H
        d.ellipse((hx - hw, hz - hh, hx + hw, hz + hh), fill=jit(rng, (95, 140, 90), 10))
    img.paste(noise(gradient((W, H - hz), jit(rng, (120, 175, 85)), jit(rng, (60, 120, 45))),
                    rng, 6, 4, png), (0, hz))
    return img, hz, hz


def bg_wall(W, H, rng, png):
    fy = int(H * rng.uniform(.58, .74))
    wall = jit(rng, rng.choice([(225, 215, 195), (200, 210, 220), (205, 220, 200), (230, 200, 190)]))
    floor = jit(rng, rng.choice([(170, 120, 75), (140, 100, 70), (190, 175, 150), (120, 120, 125)]))
    img = Image.new("RGB", (W, H))
    img.paste(noise(gradient((W, fy), shade(wall, 1.06), shade(wall, .9)), rng, 4, 8, png))
    img.paste(noise(gradient((W, H - fy), shade(floor, .9), floor), rng, 6, 4, png), (0, fy))
    d = ImageDraw.Draw(img)
    y, step = fy, H * .03
    while y < H:                                  # planks, wider towards the camera
        d.line((0, int(y), W, int(y)), fill=shade(floor, .75), width=2)
        y += step
        step *= 1.35
    d.rectangle((0, fy - int(H * .025), W, fy), fill=(240, 238, 232))
    return img, fy, fy - int(H * .03)


def bg_table(W, H, rng, png):
    ty = int(H * rng.uniform(.2, .4))
    wood = jit(rng, rng.choice([(185, 135, 85), (150, 100, 60), (215, 190, 150), (110, 75, 50)]))
    img = Image.new("RGB", (W, H))
    img.paste(noise(gradient((W, ty), jit(rng, (215, 210, 200)), jit(rng, (170, 165, 160))), rng, 4, 8, png))
    top = noise(gradient((W, H - ty), shade(wood, .85), wood), rng, 7, 4, png)
    d = ImageDraw.Draw(top)
    for _ in range(max(6, W // 25)):               # grain
        y, x = rng.uniform(0, H - ty), rng.uniform(-W * .2, W)
        d.line((x, y, x + rng.uniform(.2, .6) * W, y + rng.uniform(-4, 4)), fill=shade(wood, .8), width=1)
    img.paste(top, (0, ty))
    ImageDraw.Draw(img).rectangle((0, ty, W, ty + max(2, H // 120)), fill=shade(wood, 1.15))
    return img, ty + int(H * .05), ty - int(H * .02)


def bg_gradient(W, H, rng, png):
    c0 = jit(rng, rng.choice([(235, 225, 210), (210, 225, 240), (240, 215, 220), (220, 235, 215)]), 20)
    c1 = shade(jit(rng, c0, 30), rng.uniform(.6, .8))
    img = noise(gradient((W, H), c0, c1, rng.choice("vhr")), rng, 6, rng.choice([2, 4, 8]), png)
    return img, int(H * rng.uniform(.5, .7)), 0


BACKGROUNDS = {"outdoor": bg_outdoor, "wall": bg_wall, "table": bg_table, "gradient": bg_gradient}


# ---------------------------------------------------------------- subjects
# s_<name>(draw, box, rng, colour) draws inside box and returns (spot, hang): spot is
# (cx, cy, w, h), the part of the subject where a flat detail goes; hang is a point a tag or
# keychain can hang from, or None.

def s_cup(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    bx, t = x0 + w * .76, max(3, w / 14)
    d.ellipse((bx - 2 * t, y0 + h * .25, x1, y0 + h * .75), outline=shade(c, .85), width=int(t))
    d.rounded_rectangle((x0, y0 + h / 12, bx, y1), radius=max(2, w / 12), fill=c)
    d.ellipse((x0, y0, bx, y0 + h / 6), fill=shade(c, 1.12))
    d.ellipse((x0 + t, y0 + t / 2, bx - t, y0 + h / 6 - t / 2), fill=(70, 45, 30))
    return ((x0 + bx) / 2, y0 + h * .56, (bx - x0) * .7, h * .55), None


def s_bag(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    top, t = y0 + h * .38, max(3, w / 20)
    d.arc((x0 + w * .25, y0, x1 - w * .25, 2 * top - y0), 180, 360, fill=shade(c, .7), width=int(t))
    d.polygon([(x0 + w * .08, top), (x1 - w * .08, top), (x1, y1), (x0, y1)], fill=c)
    d.rectangle((x0 + w * .08, top, x1 - w * .08, top + h * .06), fill=shade(c, .82))
    return ((x0 + x1) / 2, (top + y1) / 2 + h * .05, w * .55, (y1 - top) * .55), (x1 - w * .25 - t / 2, top + h * .04)


def s_bottle(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    cx, nw = (x0 + x1) / 2, w * .18
    d.rectangle((cx - nw - w * .04, y0, cx + nw + w * .04, y0 + h * .08), fill=jit(rng, (60, 60, 60), 40))
    d.rectangle((cx - nw, y0 + h * .07, cx + nw, y0 + h * .3), fill=c)
    d.ellipse((x0, y0 + h * .2, x1, y0 + h * .42), fill=c)
    d.rounded_rectangle((x0, y0 + h * .3, x1, y1), radius=w / 5, fill=c)
    d.rectangle((x0 + w * .14, y0 + h * .36, x0 + w * .24, y1 - h * .08), fill=shade(c, 1.25))
    return (cx + w * .05, y0 + h * .62, w * .8, h * .3), (cx + nw, y0 + h * .2)


def s_box(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    dx, dy = w * .18, h * .2
    fx = (x0 + x1 - dx) / 2
    d.polygon([(x0, y0 + dy), (x0 + dx, y0), (x1, y0), (x1 - dx, y0 + dy)], fill=shade(c, 1.12))
    d.polygon([(x1 - dx, y0 + dy), (x1, y0), (x1, y1 - dy), (x1 - dx, y1)], fill=shade(c, .78))
    d.rectangle((x0, y0 + dy, x1 - dx, y1), fill=c)
    tape = shade(c, 1.3)
    d.polygon([(fx - w * .05, y0 + dy), (fx + dx - w * .05, y0), (fx + dx + w * .05, y0), (fx + w * .05, y0 + dy)], fill=tape)
    d.rectangle((fx - w * .05, y0 + dy, fx + w * .05, y0 + dy + h * .22), fill=tape)
    return (fx, y0 + dy + (h - dy) * .62, (w - dx) * .7, (h - dy) * .5), None


def s_bicycle(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    r = h * .36
    t, ft = max(3, r / 8), max(3, r / 7)
    R, F = (x0 + r, y1 - r), (x1 - r, y1 - r)
    B, S, Hd = (x0 + w * .45, y1 - r), (x0 + w * .36, y0 + h * .2), (x1 - w * .3, y0 + h * .22)
    for cx, cy in (R, F):
        d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(30, 30, 30), width=int(t))
        for k in range(6):
            a = math.radians(k * 30)
            d.line((cx - r * math.cos(a), cy - r * math.sin(a), cx + r * math.cos(a), cy + r * math.sin(a)),
                   fill=(150, 150, 150), width=1)
        d.ellipse((cx - t, cy - t, cx + t, cy + t), fill=(90, 90, 90))
    for p, q in ((R, B), (B, S), (S, R), (S, Hd), (B, Hd), (Hd, F)):
        d.line((p, q), fill=c, width=int(ft))
    d.rounded_rectangle((S[0] - w * .06, S[1] - h * .06, S[0] + w * .05, S[1] - h * .01), radius=3, fill=INK)
    d.line((Hd, (Hd[0] + w * .03, y0 + h * .04)), fill=(60, 60, 60), width=int(ft))
    d.line(((Hd[0] - w * .02, y0 + h * .04), (Hd[0] + w * .08, y0 + h * .04)), fill=INK, width=int(ft * 1.3))
    cx, cy = (S[0] + B[0] + Hd[0]) / 3, (S[1] + B[1] + Hd[1]) / 3
    return (cx, cy, w * .2, h * .25), (Hd[0] + w * .06, y0 + h * .05)


def s_house(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    roof = jit(rng, rng.choice([(150, 60, 50), (70, 70, 80), (110, 80, 60)]))
    d.rectangle((x1 - w * .3, y0 + h * .05, x1 - w * .2, y0 + h * .3), fill=shade(roof, .8))
    d.polygon([(x0, y0 + h * .4), ((x0 + x1) / 2, y0), (x1, y0 + h * .4)], fill=roof)
    d.rectangle((x0 + w * .06, y0 + h * .39, x1 - w * .06, y1), fill=c)
    dx0, dx1 = x0 + w * .18, x0 + w * .34
    d.rectangle((dx0, y1 - h * .4, dx1, y1), fill=jit(rng, (90, 55, 35)))
    d.ellipse((dx1 - w * .04, y1 - h * .21, dx1 - w * .02, y1 - h * .19), fill=(230, 200, 90))
    for wx in (x0 + w * .55, x0 + w * .75):
        wb = (wx - w * .08, y1 - h * .42, wx + w * .08, y1 - h * .2)
        d.rectangle(wb, fill=(170, 205, 230), outline=WHITE, width=max(2, int(w / 80)))
        d.line((wx, wb[1], wx, wb[3]), fill=WHITE, width=max(2, int(w / 100)))
    return (dx1 + w * .08, y1 - h * .34, w * .12, h * .14), None


def s_car(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    for wx in (x0 + w * .05, x1 - w * .2):
        d.rounded_rectangle((wx, y1 - h * .2, wx + w * .15, y1), radius=h * .04, fill=(25, 25, 25))
    d.polygon([(x0 + w * .15, y0 + h * .44), (x0 + w * .25, y0), (x1 - w * .25, y0), (x1 - w * .15, y0 + h * .44)], fill=c)
    d.polygon([(x0 + w * .2, y0 + h * .4), (x0 + w * .28, y0 + h * .06), (x1 - w * .28, y0 + h * .06),
               (x1 - w * .2, y0 + h * .4)], fill=(160, 190, 210))
    d.rounded_rectangle((x0, y0 + h * .4, x1, y1 - h * .1), radius=h * .1, fill=c)
    for lx in (x0 + w * .05, x1 - w * .2):
        d.ellipse((lx, y0 + h * .47, lx + w * .15, y0 + h * .6), fill=(250, 245, 210))
    d.rectangle((x0 + w * .3, y0 + h * .48, x1 - w * .3, y0 + h * .6), fill=(55, 55, 60))
    for k in range(1, 4):
        gy = y0 + h * (.48 + .03 * k)
        d.line((x0 + w * .3, gy, x1 - w * .3, gy), fill=(120, 120, 125), width=max(1, int(h / 100)))
    d.rectangle((x0 + w * .02, y1 - h * .2, x1 - w * .02, y1 - h * .12), fill=(110, 110, 115))
    return (cx, y0 + h * .7, w * .26, h * .11), None


def s_books(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    n = rng.randint(3, 5)
    bh, boxes = h / n, []
    for k in range(n):
        bw = w * rng.uniform(.78, 1)
        bx = x0 + rng.uniform(0, w - bw)
        by1 = y1 - k * bh
        col = c if k == n // 2 else COLOURS[rng.choice(BRIGHT + ["navy", "brown", "cream"])]
        d.rectangle((bx, by1 - bh, bx + bw, by1), fill=col)
        d.rectangle((bx + bw * .9, by1 - bh * .85, bx + bw - 2, by1 - bh * .15), fill=(240, 235, 220))
        d.line((bx + bw * .06, by1 - bh, bx + bw * .06, by1), fill=shade(col, .7), width=max(2, int(w / 120)))
        boxes.append((bx, by1 - bh, bx + bw, by1))
    bx0, by0, bx1, by1 = boxes[n // 2]
    return ((bx0 + bx1) / 2 - w * .04, (by0 + by1) / 2, (bx1 - bx0) * .5, bh * .85), None


def s_plant(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    for _ in range(rng.randint(5, 8)):
        lx, ly = cx + rng.uniform(-.3, .3) * w, y0 + rng.uniform(.08, .35) * h
        lw, lh = w * rng.uniform(.12, .2), h * rng.uniform(.1, .16)
        d.line((cx, y0 + h * .52, lx, ly), fill=(40, 100, 40), width=max(2, int(w / 60)))
        d.ellipse((lx - lw, ly - lh, lx + lw, ly + lh), fill=jit(rng, (50, 140, 60), 20))
    d.polygon([(x0 + w * .1, y0 + h * .55), (x1 - w * .1, y0 + h * .55), (x1 - w * .2, y1), (x0 + w * .2, y1)], fill=c)
    d.rectangle((x0 + w * .05, y0 + h * .5, x1 - w * .05, y0 + h * .6), fill=shade(c, .85))
    return (cx, y0 + h * .77, w * .45, h * .28), (x0 + w * .2, y0 + h * .52)


SHOP_NAMES = ["BAKERY", "CAFE", "BOOKS", "FLOWERS", "MARKET", "REPAIRS", "DELI"]


def s_sign(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    for px in (x0 + w * .15, x1 - w * .17):
        d.rectangle((px, y0 + h * .6, px + w * .02, y1), fill=(80, 70, 60))
    d.rounded_rectangle((x0, y0, x1, y0 + h * .7), radius=h * .05, fill=c,
                        outline=shade(c, .6), width=max(2, int(h / 40)))
    light = sum(c) > 450
    fit_text(d, (x0 + w * .05, y0 + h * .1, x0 + w * .68, y0 + h * .6), rng.choice(SHOP_NAMES),
             INK if light else WHITE, frac_h=.5)
    return (x0 + w * .84, y0 + h * .35, w * .2, h * .45), None


def s_shoe(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    d.polygon([(x0 + w * .02, y1 - h * .15), (x0 + w * .02, y0 + h * .2), (x0 + w * .22, y0),
               (x0 + w * .42, y0 + h * .06), (x0 + w * .56, y0 + h * .4), (x1 - w * .06, y0 + h * .52),
               (x1, y1 - h * .15)], fill=c)
    d.ellipse((x1 - w * .26, y0 + h * .45, x1, y1 - h * .05), fill=shade(c, 1.15))
    for k in range(4):
        lx, ly = x0 + w * (.42 + .035 * k), y0 + h * (.12 + .08 * k)
        d.line((lx - w * .04, ly + h * .04, lx + w * .04, ly - h * .02), fill=WHITE, width=max(2, int(h / 40)))
    d.rounded_rectangle((x0, y1 - h * .2, x1, y1), radius=h * .08, fill=(235, 235, 230))
    return (x0 + w * .3, y0 + h * .58, w * .28, h * .3), (x0 + w * .08, y0 + h * .12)


def s_laptop(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    d.polygon([(x0 + w * .03, y1 - h * .1), (x1 - w * .03, y1 - h * .1), (x1, y1), (x0, y1)], fill=shade(c, .75))
    d.rounded_rectangle((x0 + w * .03, y0, x1 - w * .03, y1 - h * .08), radius=w * .03, fill=c)
    d.line((x0 + w * .05, y1 - h * .1, x1 - w * .05, y1 - h * .1), fill=shade(c, .6), width=max(2, int(h / 60)))
    return ((x0 + x1) / 2 + w * rng.uniform(-.12, .12), y0 + h * .45, w * .5, h * .5), None


def s_robot(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    cx, dark = (x0 + x1) / 2, shade(c, .7)
    d.line((cx, y0 + h * .03, cx, y0 + h * .12), fill=(80, 80, 80), width=max(2, int(w / 40)))
    d.ellipse((cx - w * .04, y0, cx + w * .04, y0 + h * .05), fill=(230, 60, 60))
    d.rectangle((cx - w * .16, y0 + h * .76, cx - w * .04, y1), fill=dark)
    d.rectangle((cx + w * .04, y0 + h * .76, cx + w * .16, y1), fill=dark)
    for ax in (x0, x1 - w * .13):
        d.rounded_rectangle((ax, y0 + h * .4, ax + w * .13, y0 + h * .68), radius=w * .04, fill=dark)
    d.rounded_rectangle((x0 + w * .15, y0 + h * .37, x1 - w * .15, y0 + h * .77), radius=w * .05, fill=c)
    d.rounded_rectangle((cx - w * .3, y0 + h * .1, cx + w * .3, y0 + h * .35), radius=w * .06, fill=c)
    for ex in (cx - w * .14, cx + w * .14):
        d.ellipse((ex - w * .06, y0 + h * .15, ex + w * .06, y0 + h * .23), fill=WHITE)
        d.ellipse((ex - w * .025, y0 + h * .17, ex + w * .025, y0 + h * .21), fill=INK)
    d.rectangle((cx - w * .12, y0 + h * .27, cx + w * .12, y0 + h * .31), fill=dark)
    return (cx, y0 + h * .57, w * .5, h * .3), None


def s_suitcase(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    cx, t = (x0 + x1) / 2, max(3, w / 25)
    d.rounded_rectangle((cx - w * .18, y0, cx + w * .18, y0 + h * .14), radius=w * .05, outline=INK, width=int(t))
    for wx in (x0 + w * .12, x1 - w * .12):
        d.ellipse((wx - w * .06, y1 - h * .07, wx + w * .06, y1), fill=INK)
    d.rounded_rectangle((x0, y0 + h * .1, x1, y1 - h * .04), radius=w * .08, fill=c)
    for k in (1, 2, 3):
        rx = x0 + w * k / 4
        d.line((rx, y0 + h * .14, rx, y1 - h * .08), fill=shade(c, .8), width=max(2, int(w / 50)))
    return (cx, y0 + h * .52, w * .7, h * .5), (cx + w * .12, y0 + h * .12)


def s_fridge(d, b, rng, c):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    for fx in (x0 + w * .08, x1 - w * .16):
        d.rectangle((fx, y1 - h * .03, fx + w * .08, y1), fill=INK)
    d.rounded_rectangle((x0, y0, x1, y1 - h * .02), radius=w * .05, fill=c)
    d.line((x0, y0 + h * .33, x1, y0 + h * .33), fill=shade(c, .65), width=max(2, int(h / 150)))
    for hy0, hy1 in ((y0 + h * .16, y0 + h * .3), (y0 + h * .36, y0 + h * .56)):
        d.rounded_rectangle((x0 + w * .07, hy0, x0 + w * .11, hy1), radius=3, fill=(120, 120, 125))
    return ((x0 + x1) / 2 + w * .07, y0 + h * .55, w * .65, h * .3), None


# name: (draw function, subject w/h, backgrounds, detail kinds, colours, label name)
RECIPES = {
    "cup": (s_cup, 1.05, ["table", "gradient", "wall"], ["sticker", "badge", "logo", "label"],
            ["white", "red", "blue", "yellow", "teal", "black"], "cup"),
    "bag": (s_bag, 1.1, ["wall", "gradient", "outdoor", "table"], ["keychain", "tag", "badge", "logo"],
            ["brown", "red", "navy", "cream", "black", "teal"], "bag"),
    "bottle": (s_bottle, .34, ["table", "gradient", "outdoor"], ["label", "sticker", "tag"],
               ["green", "blue", "brown", "teal", "grey"], "bottle"),
    "box": (s_box, 1.25, ["wall", "gradient", "table"], ["label", "sticker", "number"],
            ["brown", "cream"], "cardboard box"),
    "bicycle": (s_bicycle, 1.75, ["outdoor", "wall", "gradient"], ["number", "sticker", "tag"],
                ["red", "blue", "green", "black", "orange", "teal"], "bicycle"),
    "house": (s_house, 1.1, ["outdoor", "gradient"], ["number", "label"],
              ["cream", "white", "yellow", "pink", "grey"], "house"),
    "car": (s_car, 1.6, ["outdoor", "gradient"], ["number", "sticker", "badge"],
            ["red", "blue", "silver", "green", "yellow", "black"], "car"),
    "books": (s_books, 1.25, ["table", "gradient", "wall"], ["sticker", "label"],
              ["navy", "red", "green", "purple", "brown"], "book stack"),
    "plant": (s_plant, .8, ["table", "wall", "outdoor", "gradient"], ["tag", "label", "sticker"],
              ["orange", "brown", "white", "blue", "cream"], "plant pot"),
    "sign": (s_sign, 2.2, ["outdoor", "wall", "gradient"], ["logo", "badge", "label"],
             ["navy", "green", "cream", "red", "black"], "shop sign"),
    "shoe": (s_shoe, 2.2, ["wall", "gradient", "outdoor", "table"], ["logo", "tag", "label"],
             ["red", "blue", "black", "white", "green", "purple"], "shoe"),
    "laptop": (s_laptop, 1.35, ["table", "gradient"], ["sticker", "logo", "label"],
               ["silver", "grey", "black", "pink"], "laptop"),
    "robot": (s_robot, .7, ["table", "gradient", "wall"], ["badge", "number", "logo"],
              ["grey", "blue", "red", "yellow", "silver", "teal"], "toy robot"),
    "suitcase": (s_suitcase, .72, ["wall", "gradient", "outdoor"], ["tag", "sticker", "keychain"],
                 ["red", "blue", "navy", "silver", "green", "orange"], "suitcase"),
    "fridge": (s_fridge, .55, ["wall", "gradient"], ["sticker", "label", "badge", "number"],
               ["white", "silver", "cream", "teal", "red"], "fridge"),
}


# ---------------------------------------------------------------- details
# detail_params picks everything random up front (ar = width / height of the whole detail);
# d_<kind>(draw, box, params, hanging) draws it to fill box; the label describes it.

LABEL_WORDS = {None: ["FRAGILE", "ORGANIC", "SALE", "FRESH", "LOT 12", "NO. 5", "EXTRA", "MINT"],
               "house": ["NO. 5", "NO. 12", "HOME", "VILLA"], "fridge": ["MILK", "TODO", "EGGS", "NOTE"]}


def detail_params(kind, rng, exclude, subj):
    cname = rng.choice([n for n in BRIGHT if n not in exclude])
    p = {"cname": cname, "rgb": COLOURS[cname]}
    if kind == "sticker":
        p.update(shape=rng.choice(["round", "star", "square", "heart"]), ar=1.0)
        p["label"] = f"{cname} {p['shape']} sticker on the {subj}"
    elif kind == "badge":
        inner = rng.choice([n for n in BRIGHT + ["white", "navy"] if n != cname])
        p.update(inner=COLOURS[inner], sym=rng.choice(["star", "letter"]), letter=rng.choice("ABKMRZ"), ar=1.0)
        what = "a star" if p["sym"] == "star" else f"the letter {p['letter']}"
        p["label"] = f"round {cname} badge with {what} on {an(inner)} disc, on the {subj}"
    elif kind == "logo":
        p.update(shape=rng.choice(["square", "circle"]), glyph=rng.choice(["triangle", "bolt", "letter"]),
                 letter=rng.choice("GHNQSW"), ar=1.0)
        g = f"letter {p['letter']}" if p["glyph"] == "letter" else p["glyph"]
        p["label"] = f"small {cname} {p['shape']} logo with a white {g} on the {subj}"
    elif kind == "label":
        p.update(text=rng.choice(LABEL_WORDS.get(subj, LABEL_WORDS[None])))
        p["ar"] = min(3.4, 1.0 + .32 * len(p["text"]))
        p["label"] = f"white label with {an(cname)} border reading {p['text']} on the {subj}"
    elif kind == "number":
        if subj == "car":
            txt = "".join(rng.choice("ABCDEFGHJKLMNPRSTVXYZ") for _ in range(3)) + f" {rng.randint(10, 999)}"
            p.update(text=txt, ar=3.6 * len(txt) / 7, plate=rng.choice(["yellow", "white"]))
        else:
            txt = str(rng.randint(2, 199))
            p.update(text=txt, ar=.7 + .35 * len(txt), plate=rng.choice(["blue", "white", "black"]))
        pc = p["plate"]
        p["label"] = f"{pc} plate with the number {p['text']} on the {subj}"
    elif kind == "tag":
        p.update(text=rng.choice(["$12", "SALE", "-30%", "No 7", "NEW", "15%", "$4.99"]), ar=.62)
        p["label"] = f"{cname} tag reading {p['text']} on the {subj}"
    elif kind == "keychain":
        p.update(shape=rng.choice(["star", "heart", "disc"]), ar=.55)
        p["label"] = f"{cname} {p['shape']} keychain hanging from the {subj}"
    return p


def d_sticker(d, b, p, hang):
    x0, y0, x1, y1 = b
    cx, cy, r, col = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, p["rgb"]
    e = max(2, r * .12)
    if p["shape"] == "round":
        d.ellipse(b, fill=WHITE)
        d.ellipse(grow(b, -e), fill=col)
        for ex in (cx - r * .3, cx + r * .3):
            d.ellipse((ex - r * .1, cy - r * .35, ex + r * .1, cy - r * .1), fill=INK)
        d.arc((cx - r * .45, cy - r * .4, cx + r * .45, cy + r * .5), 20, 160, fill=INK, width=max(2, int(r * .1)))
    elif p["shape"] == "star":
        d.polygon(star(cx, cy + r * .1, r * 1.05), fill=WHITE)
        d.polygon(star(cx, cy + r * .1, r * .8), fill=col)
    elif p["shape"] == "square":
        d.rounded_rectangle(b, radius=r * .3, fill=WHITE)
        d.rounded_rectangle(grow(b, -e), radius=r * .25, fill=col)
        d.polygon([(cx + r * .15, cy - r * .65), (cx - r * .35, cy + r * .1), (cx, cy + r * .1),
                   (cx - r * .15, cy + r * .65), (cx + r * .35, cy - r * .1), (cx, cy - r * .1)], fill=WHITE)
    else:
        heart(d, b, WHITE)
        heart(d, grow(b, -e), col)


def d_badge(d, b, p, hang):
    x0, y0, x1, y1 = b
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    d.ellipse(b, fill=p["rgb"])
    d.ellipse(grow(b, -r * .15), fill=WHITE)
    d.ellipse(grow(b, -r * .25), fill=p["inner"])
    fg = INK if sum(p["inner"]) > 600 else WHITE
    if p["sym"] == "star":
        d.polygon(star(cx, cy + r * .05, r * .55), fill=fg)
    else:
        fit_text(d, grow(b, -r * .4), p["letter"], fg, .9)


def d_logo(d, b, p, hang):
    x0, y0, x1, y1 = b
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    if p["shape"] == "square":
        d.rounded_rectangle(b, radius=r * .25, fill=p["rgb"])
    else:
        d.ellipse(b, fill=p["rgb"])
    if p["glyph"] == "triangle":
        d.polygon([(cx, cy - r * .5), (cx + r * .5, cy + r * .4), (cx - r * .5, cy + r * .4)], fill=WHITE)
    elif p["glyph"] == "bolt":
        d.polygon([(cx + r * .12, cy - r * .6), (cx - r * .35, cy + r * .08), (cx, cy + r * .08),
                   (cx - r * .12, cy + r * .6), (cx + r * .35, cy - r * .08), (cx, cy - r * .08)], fill=WHITE)
    else:
        fit_text(d, grow(b, -r * .25), p["letter"], WHITE, .9)


def d_label(d, b, p, hang):
    h = b[3] - b[1]
    d.rectangle(b, fill=p["rgb"])
    inner = grow(b, -max(2, h * .1))
    d.rectangle(inner, fill=WHITE)
    fit_text(d, inner, p["text"], INK)


def d_number(d, b, p, hang):
    h = b[3] - b[1]
    bg = COLOURS[p["plate"]] if p["plate"] != "white" else WHITE
    d.rounded_rectangle(b, radius=h * .12, fill=INK if p["plate"] == "white" else WHITE)
    d.rounded_rectangle(grow(b, -max(2, h * .07)), radius=h * .1, fill=bg)
    fit_text(d, grow(b, -max(2, h * .07)), p["text"], WHITE if p["plate"] in ("blue", "black") else INK, .7)


def d_tag(d, b, p, hang):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    ty = y0 + h * .3 if hang else y0                  # string above the tag when it hangs
    if hang:
        d.line(((x0 + x1) / 2, y0, (x0 + x1) / 2, ty + w * .2), fill=(60, 60, 60), width=max(2, int(w / 25)))
    c = w * .22
    d.polygon([(x0 + c, ty), (x1 - c, ty), (x1, ty + c), (x1, y1), (x0, y1), (x0, ty + c)], fill=p["rgb"])
    d.ellipse(((x0 + x1) / 2 - w * .08, ty + w * .12, (x0 + x1) / 2 + w * .08, ty + w * .28), fill=WHITE)
    d.ellipse(((x0 + x1) / 2 - w * .04, ty + w * .16, (x0 + x1) / 2 + w * .04, ty + w * .24), fill=(60, 60, 60))
    fit_text(d, (x0 + w * .04, ty + w * .35, x1 - w * .04, y1 - w * .05), p["text"],
             INK if p["cname"] in ("yellow", "orange", "pink") else WHITE, .45)


def d_keychain(d, b, p, hang):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    cx, rr = (x0 + x1) / 2, w * .22
    d.ellipse((cx - rr, y0, cx + rr, y0 + 2 * rr), outline=(170, 170, 175), width=max(2, int(w / 12)))
    d.line((cx, y0 + 2 * rr, cx, y0 + h * .45), fill=(150, 150, 155), width=max(2, int(w / 14)))
    pb = (x0, y0 + h * .42, x1, y1)
    if p["shape"] == "star":
        d.polygon(star(cx, (pb[1] + pb[3]) / 2 + w * .05, w / 2, inner=.5), fill=p["rgb"])
    elif p["shape"] == "heart":
        heart(d, pb, p["rgb"])
    else:
        d.ellipse((x0, y1 - w, x1, y1), fill=p["rgb"])
        d.ellipse((x0 + w * .25, y1 - w * .75, x1 - w * .25, y1 - w * .25), fill=WHITE)


DETAILS = {"sticker": d_sticker, "badge": d_badge, "logo": d_logo, "label": d_label,
           "number": d_number, "tag": d_tag, "keychain": d_keychain}


def place_detail(kind, p, spot, hang, W, H, target):
    """Draws the detail on a transparent layer, rescaling until its alpha bbox is
    0.3%-3% of the photo (aiming at `target`); returns (layer, bbox)."""
    area, hangs = target * W * H, hang is not None and kind in ("tag", "keychain")
    for _ in range(10):
        w = math.sqrt(area * p["ar"])
        h = area / w
        if hangs:
            x0, y0 = hang[0] - w / 2, hang[1] - h * (.04 if kind == "tag" else .1)
        else:
            x0, y0 = spot[0] - w / 2, spot[1] - h / 2
        x0, y0 = min(max(x0, 4), W - w - 4), min(max(y0, 4), H - h - 4)
        layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
        DETAILS[kind](ImageDraw.Draw(layer), ibox((x0, y0, x0 + w, y0 + h)), p, hangs)
        bb = layer.getchannel("A").getbbox()
        frac = (bb[2] - bb[0]) * (bb[3] - bb[1]) / (W * H)
        if DETAIL_MIN * 1.1 <= frac <= DETAIL_MAX * .95:
            return layer, bb
        area *= min(max(target, DETAIL_MIN * 1.3), DETAIL_MAX * .85) / frac
    raise RuntimeError(f"could not size detail {kind}")


# ---------------------------------------------------------------- clutter

def c_ball(d, b, rng):
    col = COLOURS[rng.choice(BRIGHT)]
    d.ellipse(b, fill=col)
    d.arc(grow(b, -(b[2] - b[0]) * .15), 200, 340, fill=WHITE, width=max(2, (b[2] - b[0]) // 12))


def c_block(d, b, rng):
    x0, y0, x1, y1 = b
    col = COLOURS[rng.choice(BRIGHT + ["brown", "grey"])]
    d.rectangle((x0, y0 + (y1 - y0) * .2, x1, y1), fill=col)
    d.polygon([(x0, y0 + (y1 - y0) * .2), (x0 + (x1 - x0) * .15, y0), (x1, y0), (x1, y0 + (y1 - y0) * .2)],
              fill=shade(col, 1.2))


def c_cone(d, b, rng):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    d.polygon([((x0 + x1) / 2, y0), (x1 - w * .12, y1 - h * .08), (x0 + w * .12, y1 - h * .08)], fill=(240, 110, 30))
    d.polygon([(x0 + w * .37, y0 + h * .4), (x1 - w * .37, y0 + h * .4), (x1 - w * .31, y0 + h * .55),
               (x0 + w * .31, y0 + h * .55)], fill=WHITE)
    d.rectangle((x0, y1 - h * .1, x1, y1), fill=(200, 90, 25))


def c_rock(d, b, rng):
    d.ellipse(b, fill=jit(rng, (125, 120, 115), 20))
    x0, y0, x1, y1 = b
    d.ellipse((x0 + (x1 - x0) * .2, y0 + (y1 - y0) * .15, x0 + (x1 - x0) * .5, y0 + (y1 - y0) * .4),
              fill=jit(rng, (160, 155, 150), 10))


def c_tree(d, b, rng):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    d.rectangle(((x0 + x1) / 2 - w * .08, y0 + h * .5, (x0 + x1) / 2 + w * .08, y1), fill=(100, 70, 40))
    d.ellipse((x0, y0, x1, y0 + h * .65), fill=jit(rng, (40, 110, 50), 15))


def c_cloud(d, b, rng):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    for fx, fy, fr in ((.25, .6, .4), (.5, .45, .55), (.75, .6, .4)):
        d.ellipse((x0 + w * fx - h * fr, y0 + h * fy - h * fr * .8, x0 + w * fx + h * fr, y1), fill=(250, 250, 252))


def c_frame(d, b, rng):
    d.rectangle(b, fill=jit(rng, (110, 80, 50)))
    x0, y0, x1, y1 = grow(b, -max(3, (b[2] - b[0]) // 10))
    d.rectangle((x0, y0, x1, y1), fill=(170, 205, 235))
    d.polygon([(x0, y1), (x0 + (x1 - x0) * .4, y0 + (y1 - y0) * .35), (x1, y1)], fill=(80, 140, 90))


def c_clock(d, b, rng):
    d.ellipse(b, fill=WHITE, outline=INK, width=max(2, (b[2] - b[0]) // 14))
    cx, cy, r = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, (b[2] - b[0]) / 2
    d.line((cx, cy, cx, cy - r * .6), fill=INK, width=max(2, int(r / 8)))
    d.line((cx, cy, cx + r * .45, cy + r * .1), fill=INK, width=max(2, int(r / 8)))


def c_vase(d, b, rng):
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    col = COLOURS[rng.choice(["blue", "teal", "white", "purple", "cream"])]
    d.rectangle((x0 + w * .3, y0, x1 - w * .3, y0 + h * .4), fill=shade(col, .9))
    d.ellipse((x0, y0 + h * .25, x1, y1), fill=col)


def c_shape(d, b, rng, kind):
    col = COLOURS[rng.choice(BRIGHT)]
    x0, y0, x1, y1 = b
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if kind == "circle":
        d.ellipse(b, fill=col)
    elif kind == "square":
        d.rectangle(b, fill=col)
    elif kind == "triangle":
        d.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=col)
    elif kind == "diamond":
        d.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=col)
    else:
        d.ellipse(b, outline=col, width=max(2, (x1 - x0) // 5))


# kind: (function, w/h, height range as a fraction of H, where: ground / air)
CLUTTER = {
    "ball": (c_ball, 1, (.06, .14), "ground"), "block": (c_block, 1.2, (.06, .14), "ground"),
    "cone": (c_cone, .7, (.08, .16), "ground"), "rock": (c_rock, 1.7, (.04, .09), "ground"),
    "tree": (c_tree, .6, (.25, .4), "ground"), "cloud": (c_cloud, 2.4, (.06, .1), "air"),
    "frame": (c_frame, 1.3, (.12, .2), "air"), "clock": (c_clock, 1, (.08, .13), "air"),
    "vase": (c_vase, .6, (.1, .18), "ground"),
}
CLUTTER_FOR = {"outdoor": ["ball", "rock", "tree", "cone", "cloud", "cloud"],
               "wall": ["ball", "block", "vase", "frame", "clock"],
               "table": ["block", "vase", "ball", "frame", "clock"],
               "gradient": ["ball", "block", "vase", "cone"]}
SHAPES = ["circle", "square", "triangle", "diamond", "ring"]


def add_clutter(img, rng, bg, ground, air, taken):
    W, H = img.size
    d = ImageDraw.Draw(img)
    m = int(.02 * min(W, H))
    n = rng.randint(2, 5)
    kinds = [f"shape_{rng.choice(SHAPES)}" for _ in range(rng.randint(1, max(1, n - 2)))]
    kinds += rng.sample(CLUTTER_FOR[bg], n - len(kinds))
    placed = []
    for kind in kinds:
        for _ in range(200):
            if kind.startswith("shape_"):
                s = math.sqrt(rng.uniform(.0015, .008) * W * H)
                w = h = s
                x0, y0 = rng.uniform(m, W - s - m), rng.uniform(m, H - s - m)
            else:
                _, ar, (lo, hi), where = CLUTTER[kind]
                h = H * rng.uniform(lo, hi)
                w = h * ar
                if where == "air" and air - h < 2 * m:
                    break
                x0 = rng.uniform(m - w * .3, W - w * .7 - m)
                if where == "ground":
                    y0 = rng.uniform(max(ground, h + m), H - m * .5) - h
                else:
                    y0 = rng.uniform(m, air - h - m)
            b = ibox((x0, y0, x0 + w, y0 + h))
            if not any(overlaps(grow(b, m), t) for t in taken):
                if kind.startswith("shape_"):
                    c_shape(d, b, rng, kind[6:])
                else:
                    CLUTTER[kind][0](d, b, rng)
                bb = ibox((max(0, b[0]), max(0, b[1]), min(W, b[2]), min(H, b[3])))
                taken.append(bb)
                placed.append({"kind": kind, "box": list(bb)})
                break
    return placed


# ---------------------------------------------------------------- scenes

ASPECTS = {"4:3": (4, 3), "16:9": (16, 9), "3:4": (3, 4), "9:16": (9, 16), "1:1": (1, 1)}


def plan_scenes(seed):
    """Subject, detail kind, background, aspect and format for every scene: each of the 15
    subjects twice, with two different detail kinds and backgrounds (the least used so far)."""
    rng = random.Random(f"heldout-plan-{seed}")
    aspects = ["4:3"] * 8 + ["16:9"] * 6 + ["3:4"] * 6 + ["9:16"] * 4 + ["1:1"] * 6
    formats = ["jpg"] * 13 + ["png"] * 17
    rng.shuffle(aspects)
    rng.shuffle(formats)
    plan, used = [], {}

    def least_used(options):                    # two options, balancing counts over scenes
        best = sorted(options, key=lambda o: (used.get(o, 0), rng.random()))[:2]
        for o in best:
            used[o] = used.get(o, 0) + 1
        return best

    for name in rng.sample(list(RECIPES), len(RECIPES)):
        _, _, bgs, dets, _, _ = RECIPES[name]
        for bg, det in zip(least_used(bgs), least_used(dets)):
            plan.append((name, det, bg))
    rng.shuffle(plan)
    return [(*p, a, f) for p, a, f in zip(plan, aspects, formats)]


def make_scene(seed, i, name, kind, bg, aspect, fmt):
    rng = random.Random(f"heldout-{seed}-{i}")
    draw, sar, _, _, colours, subj = RECIPES[name]
    aw, ah = ASPECTS[aspect]
    r = max(aw, ah) / min(aw, ah)
    long = rng.randint(math.ceil(max(400, 400 * r)), 1200)
    W, H = (long, round(long * ah / aw)) if aw >= ah else (round(long * aw / ah), long)
    img, ground, air = BACKGROUNDS[bg](W, H, rng, fmt == "png")
    img = img.convert("RGBA")

    hs = H * rng.uniform(.38, .62)
    ws = hs * sar
    if ws > .72 * W:
        ws, hs = .72 * W, .72 * W / sar
    cx = rng.uniform(ws / 2 + .04 * W, W - ws / 2 - .04 * W)
    lo, hi = max(ground + .03 * H, hs + .04 * H), .96 * H
    y1 = rng.uniform(min(lo, hi), hi)
    sbox = (cx - ws / 2, y1 - hs, cx + ws / 2, y1)

    shadow = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    ImageDraw.Draw(shadow).ellipse((sbox[0] + ws * .02, y1 - hs * .04, sbox[2] + ws * .06, y1 + hs * .04),
                                   fill=(0, 0, 0, 90))
    img.alpha_composite(shadow.filter(ImageFilter.GaussianBlur(max(2, hs / 40))))

    cname = rng.choice(colours)
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    spot, hang = draw(ImageDraw.Draw(layer), sbox, rng, COLOURS[cname])
    subject_box = layer.getchannel("A").getbbox()
    img.alpha_composite(layer)

    p = detail_params(kind, rng, {cname}, subj)
    target = math.exp(rng.uniform(math.log(.005), math.log(.024)))
    target = max(.0045, min(target, spot[2] * spot[3] * .85 / (W * H)))
    dlayer, detail_box = place_detail(kind, p, spot, hang, W, H, target)
    img.alpha_composite(dlayer)

    m = int(.02 * min(W, H))
    clutter = add_clutter(img, rng, bg, ground, air, [grow(subject_box, m), grow(detail_box, m)])
    img = img.convert("RGB")
    return img, {
        "file": f"{i:02d}_{name}_{kind}.{fmt}", "format": "jpeg" if fmt == "jpg" else "png",
        "upright_size": [W, H], "exif_orientation": 1, "subject": subj,
        "subject_box": list(subject_box), "detail_box": list(detail_box), "detail_kind": kind,
        "detail_label": p["label"], "clutter": clutter,
    }, rng


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=20250614)
    ap.add_argument("--out", default="bench/photos-heldout")
    args = ap.parse_args()
    if not Path("tools/make_heldout_photos.py").is_file():
        sys.exit("run from the repository root: python3 tools/make_heldout_photos.py")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    photos = []
    plan = plan_scenes(args.seed)
    assert len(plan) == N_SCENES
    for i, scene in enumerate(plan):
        img, meta, rng = make_scene(args.seed, i, *scene)
        W, H = meta["upright_size"]
        b = meta["detail_box"]
        frac = (b[2] - b[0]) * (b[3] - b[1]) / (W * H)
        assert DETAIL_MIN <= frac <= DETAIL_MAX, (meta["file"], frac)
        assert len(meta["clutter"]) >= 2, meta["file"]
        assert any(c["kind"].startswith("shape_") for c in meta["clutter"]), meta["file"]
        if meta["format"] == "jpeg":
            img.save(out / meta["file"], "JPEG", quality=rng.randint(85, 92))
        else:
            img.save(out / meta["file"], "PNG", optimize=True)
        photos.append(meta)
    names = {p["file"] for p in photos}
    for stale in out.iterdir():
        if stale.suffix in (".png", ".jpg") and stale.name not in names:
            stale.unlink()
    with open(out / "photos.json", "w") as f:
        json.dump({"generator": "tools/make_heldout_photos.py", "pillow": PILLOW, "seed": args.seed,
                   "photos": photos}, f, indent=1)
        f.write("\n")
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"wrote {len(photos)} photos + photos.json to {out} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
