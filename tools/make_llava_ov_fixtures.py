#!/usr/bin/env python3
"""Writes Tests/JarvisEngineTests/Fixtures/llava-ov/: a tiny random-weight LLaVA-OneVision model
(transformers' LlavaOnevisionForConditionalGeneration: SigLIP tower, 2-layer GELU projector,
anyres tiling with unpadding, anyres_max interpolation and image_newline, Qwen2 decoder) as an HF
checkpoint and a llama.cpp text GGUF, three test images, and float32 reference tensors from
transformers for parity tests of the Swift LLaVA-OneVision path.

Pinned reference (nothing is fetched from a model hub; HF_HUB_OFFLINE is set):
    python3 -m venv ~/.cache/jarvis/fixture-venv
    ~/.cache/jarvis/fixture-venv/bin/pip install torch==2.15.0 transformers==4.57.6 \\
        tokenizers==0.22.2 safetensors==0.8.0 gguf==0.19.0 numpy==2.4.6 pillow==13.0.0 \\
        torchvision==0.29.2
torchvision is there only because transformers 4.57.6's LlavaOnevisionProcessor (and so
AutoProcessor) insists on a video processor, and LlavaOnevisionVideoProcessor needs torchvision;
images go through the slow, PIL + numpy LlavaOnevisionImageProcessor all the same.
The text GGUF is written by llama.cpp's own converter (vendor/llama.cpp/convert_hf_to_gguf.py and
its gguf-py) out of the llama-cpp-python 0.3.36 sdist, which this script unpacks itself after
checking its sha256. Fetch the sdist once (its metadata step needs CMake, so give pip a scratch
venv with scikit-build-core and cmake, and no build isolation):
    python3 -m venv /tmp/sdist-venv && /tmp/sdist-venv/bin/pip install scikit-build-core cmake
    PATH=/tmp/sdist-venv/bin:$PATH /tmp/sdist-venv/bin/pip download --no-binary :all: --no-deps \\
        --no-build-isolation llama-cpp-python==0.3.36 -d ~/.cache/jarvis
Optional cross-check of the GGUF in llama.cpp itself (prints, writes nothing):
    pip install llama-cpp-python==0.3.36   # built from source
Usage:
    ~/.cache/jarvis/fixture-venv/bin/python tools/make_llava_ov_fixtures.py
        [--llama-cpp-sdist PATH]   # default $LLAMA_CPP_SDIST or ~/.cache/jarvis/llama_cpp_python-0.3.36.tar.gz
        [--check-llama-cpp]        # also tokenize the prompts and run the text GGUF on the
                                   # reference inputs_embeds with llama-cpp-python's libllama

What is written (all deterministic: running twice gives identical bytes):
  hf/                 config.json, generation_config.json, model.safetensors (float32, in the
                      key layout save_pretrained writes in 4.57.6: vision_tower.*,
                      multi_modal_projector.*, image_newline, language_model.model.*,
                      language_model.lm_head.weight), and the processor: tokenizer.json (plus
                      Qwen2Tokenizer's vocab.json, merges.txt, added_tokens.json),
                      tokenizer_config.json, special_tokens_map.json, chat_template.jinja,
                      preprocessor_config.json (LlavaOnevisionImageProcessor, the slow one),
                      video_preprocessor_config.json (unused) and processor_config.json.
                      AutoProcessor.from_pretrained(hf, use_fast=False) and
                      LlavaOnevisionForConditionalGeneration.from_pretrained(hf) load them.
  tiny-llava-ov-qwen2-F32.gguf
                      the language model alone (written from hf/ as a Qwen2ForCausalLM by
                      tools/llava_ov_language_model.py, as a user would for a real checkpoint)
                      converted by llama.cpp's convert_hf_to_gguf.py
                      --outtype f32 (arch "qwen2"). Its BPE pre-tokenizer hash is unknown to the
                      converter (the vocabulary is a toy), so the run tells it "qwen2", the
                      pre-tokenizer the HF tokenizer here implements; and Qwen2Model.set_vocab
                      goes straight to its GPT-2 branch, so sentencepiece is not needed.
                      The converter has no LLaVA-OneVision support (neither the text model nor
                      --mmproj: "Model LlavaOnevisionForConditionalGeneration is not supported"),
                      so there is no mmproj GGUF; reference.json records what it says.
  image_wide.png      88x40: best resolution 64x96 (2x3 tiles); unpadding drops one token row
                      top and bottom (8 -> 6 rows); 6x12 tokens stay under anyres_max_4, no
                      interpolation. The only case with a grid whose rows != cols.
  image_large.png     90x120: best resolution 96x96 (3x3 tiles); unpadding drops one token column
                      each side (12 -> 10), then anyres_max_4 interpolates 12x10 to 8x7 (bilinear).
  image_small.png     20x26: best resolution 32x32 (1 tile + the base image); nothing is unpadded
                      at token level (the tile itself has 3+4 pixel columns of padding).
  reference.safetensors
                      per case ("wide.", "large.", "small."): pixel_values [tiles,3,32,32]
                      (base image first, then the tiles row-major), image_size int32 (h, w),
                      input_ids int32 [T], vision_hidden [tiles,16,32], tile_features
                      [tiles,16,64] (projector output, before packing), image_features [N,64]
                      (packed, as scattered over the <image> ids) and logits [T,304] (float32);
                      and "multi.": wide and large in one prompt, transformers' multi-image path
                      (no tiling: each image padded to a square of the mean colour, 127, then
                      resized to one tile; 16 features and the newline each): pixel_values
                      [2,3,32,32], input_ids, image_features [34,64], logits.
  reference.json      prompts, ids, the anyres arithmetic per case, special ids, shapes, the
                      checkpoint's and the GGUF's tensor names, converter findings, hashes.

The model is LLaVA-OneVision at toy size: SigLIP vision tower (patch conv with bias + learned
positions, 2 pre-LN layers with biased attention and a gelu-tanh MLP; no pooling head; features
are hidden_states[-1], i.e. before post_layernorm), a Linear-GELU(erf)-Linear projector with
biases, a learned image_newline, and a Qwen2 decoder (q/k/v biases, GQA 4/2, RoPE base 1e6,
untied lm_head). Every weight, bias and norm parameter is drawn from a seeded generator with O(1)
magnitudes, so a missing bias or a norm applied without its weight shows up in the outputs.
Measured on these fixtures (max |logit diff| over the three cases): zeroing the decoder's q/k/v
biases moves logits by 0.45-0.53, the projector's biases 0.51-0.59, the vision biases 1.2-1.8,
image_newline 1.0-1.1; taking post_layernorm's output 0.76-0.80; align_corners=True or
antialias=True in the interpolation 0.39 / 0.66 (large only). A tanh GELU in the projector
moves logits by only ~5e-4 but tile_features by ~1e-3: check that stage tightly.
With --check-llama-cpp, llama.cpp's logits for the reference inputs_embeds agree to <1e-6 with
an f32 KV cache, ~6e-4 with f16 K/V, and up to 1.3e-3 with its defaults (flash attention).
The tokenizer is a byte-level BPE laid out like Qwen2's (256 byte tokens in GPT-2 order, a few
merges, then <|endoftext|> <|im_start|> <|im_end|> <image> <video>); the embedding matrix is
padded past the tokenizer to a multiple of 16 rows, as Qwen2 checkpoints are.
"""
import argparse
import hashlib
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import PackageNotFoundError, version

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_files import check_versions, llama_cpp_logits_for_embeds, png_bytes, write_reference  # noqa: E402
from llava_ov_language_model import extract  # noqa: E402

PINNED = {"torch": "2.15.0", "transformers": "4.57.6", "tokenizers": "0.22.2", "safetensors": "0.8.0",
          "gguf": "0.19.0", "numpy": "2.4.6", "pillow": "13.0.0", "torchvision": "0.29.2"}
LLAMA_CPP_SDIST_NAME = "llama_cpp_python-0.3.36.tar.gz"
LLAMA_CPP_SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
LLAMA_CPP_SRC = "llama_cpp_python-0.3.36/vendor/llama.cpp/"

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "JarvisEngineTests", "Fixtures", "llava-ov")
GENERATOR = "tools/make_llava_ov_fixtures.py"

# ---- sizes -------------------------------------------------------------------------------
VISION = dict(hidden_size=32, intermediate_size=80, num_hidden_layers=2, num_attention_heads=2,
              num_channels=3, image_size=32, patch_size=8, hidden_act="gelu_pytorch_tanh",
              layer_norm_eps=1e-6, attention_dropout=0.0, vision_use_head=False)
TILE = VISION["image_size"]                                   # 32 px tiles
TILE_SIDE = TILE // VISION["patch_size"]                      # 4 tokens per tile side
TILE_TOKENS = TILE_SIDE * TILE_SIDE                           # 16
TEXT_DIM, TEXT_FFN, TEXT_LAYERS, TEXT_HEADS, TEXT_KV_HEADS, HEAD_DIM = 64, 96, 2, 4, 2, 16
ROPE_THETA, RMS_EPS, CONTEXT = 1000000.0, 1e-6, 1024
GRID_PINPOINTS = [[32, 32], [32, 64], [64, 32], [64, 64], [32, 96], [96, 32], [64, 96], [96, 64], [96, 96]]
ASPECT_RATIO = "anyres_max_4"
MAX_TILES = 4

# ---- vocabulary (Qwen2's layout at toy size) ---------------------------------------------
# Merges: each word below is built left to right, one merge per extra character.
MERGE_WORDS = ["user", "assistant", "system", "What", "\u0120is", "\u0120in", "\u0120this", "\u0120image",
               "\u0120the", "\u010a\u010a"]
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"]
# Qwen2's pre-tokenizer split (tokenizer.json "Split" regex; llama.cpp pre-tokenizer "qwen2").
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
# The same split as llama.cpp's llama-vocab.cpp writes it (case-insensitive group spelled out).
LLAMA_CPP_QWEN2_SPLIT = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+"
                         r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ '<image>\n' }}"
    "{% elif part['type'] == 'video' %}{{ '<video>\n' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
QUESTIONS = {"wide": "What is in this image?", "large": "Describe the image.", "small": "What is this?",
             "multi": "Compare them."}
# Several images in one prompt (the multi-image path: no tiling, each padded to a square).
MULTI = ["wide", "large"]
# (name, width, height); the k-th image's noise is seeded with SEED + k. See the docstring for
# what each one exercises.
IMAGES = [("wide", 88, 40), ("large", 90, 120), ("small", 20, 26)]
SEED = 20250612
# Same reasoning as make_vlm_fixtures.py: a smaller lm_head keeps logits O(0.5) (std ~0.4, max ~1.6)
# so that fp16 K/V rounding (~6e-4) stays inside a 1e-3 parity budget while real mistakes move
# logits by 0.4 or more (see the docstring).
LM_HEAD_GAIN = 0.4


def byte_alphabet():
    """Byte-level BPE's byte -> character table, in GPT-2's (and Qwen2's) vocabulary order:
    the 188 printable bytes keep their own code point, the other 68 map to U+0100 onwards."""
    printable = (list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100)))
    order, chars, extra = [], [], 0
    for b in printable:
        order.append(b)
        chars.append(chr(b))
    for b in range(256):
        if b not in printable:
            order.append(b)
            chars.append(chr(0x100 + extra))
            extra += 1
    return order, chars          # vocabulary id i is byte order[i], written chars[i]


def vocabulary():
    order, chars = byte_alphabet()
    vocab = {c: i for i, c in enumerate(chars)}
    merges = []
    for word in MERGE_WORDS:
        for k in range(2, len(word) + 1):
            left, right = word[:k - 1], word[k - 1]
            if word[:k] in vocab:
                continue
            merges.append((left, right))
            vocab[word[:k]] = len(vocab)
    base = len(vocab)
    token_id = {t: base + i for i, t in enumerate(SPECIALS)}
    n_tokens = base + len(SPECIALS)
    padded = (n_tokens + 15) // 16 * 16
    return vocab, merges, token_id, n_tokens, padded


VOCAB, MERGES, TOKEN_ID, N_TOKENS, VOCAB_SIZE = vocabulary()
IMAGE_TOKEN_ID, VIDEO_TOKEN_ID = TOKEN_ID["<image>"], TOKEN_ID["<video>"]


def build_tokenizer():
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import Qwen2TokenizerFast

    tok = Tokenizer(models.BPE(vocab=dict(VOCAB), merges=list(MERGES), fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    fast = Qwen2TokenizerFast(
        tokenizer_object=tok, unk_token=None, bos_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>", "<image>", "<video>"],
        model_max_length=CONTEXT, errors="replace", split_special_tokens=False, clean_up_tokenization_spaces=False)
    for t, i in TOKEN_ID.items():
        assert fast.convert_tokens_to_ids(t) == i, (t, fast.convert_tokens_to_ids(t), i)
    assert len(fast) == N_TOKENS
    return fast


def build_image_processor():
    from transformers import LlavaOnevisionImageProcessor
    from transformers.image_utils import PILImageResampling

    return LlavaOnevisionImageProcessor(
        do_resize=True, size={"height": TILE, "width": TILE}, image_grid_pinpoints=GRID_PINPOINTS,
        resample=PILImageResampling.BICUBIC, do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
        image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5], do_pad=True, do_convert_rgb=True)


def build_processor(tokenizer):
    from transformers import LlavaOnevisionProcessor, LlavaOnevisionVideoProcessor
    from transformers.image_utils import PILImageResampling

    # Never used here, but LlavaOnevisionProcessor (and so AutoProcessor) requires one.
    video_processor = LlavaOnevisionVideoProcessor(
        size={"height": TILE, "width": TILE}, resample=PILImageResampling.BICUBIC, rescale_factor=1 / 255,
        image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    return LlavaOnevisionProcessor(
        image_processor=build_image_processor(), tokenizer=tokenizer, video_processor=video_processor,
        num_image_tokens=TILE_TOKENS, vision_feature_select_strategy="full", chat_template=CHAT_TEMPLATE,
        image_token="<image>", video_token="<video>", vision_aspect_ratio=ASPECT_RATIO)


def text_config_dict():
    return dict(model_type="qwen2", vocab_size=VOCAB_SIZE, hidden_size=TEXT_DIM, intermediate_size=TEXT_FFN,
                num_hidden_layers=TEXT_LAYERS, num_attention_heads=TEXT_HEADS, num_key_value_heads=TEXT_KV_HEADS,
                hidden_act="silu", max_position_embeddings=CONTEXT, rms_norm_eps=RMS_EPS, rope_theta=ROPE_THETA,
                tie_word_embeddings=False, use_sliding_window=False, max_window_layers=TEXT_LAYERS,
                attention_dropout=0.0, initializer_range=0.02, bos_token_id=TOKEN_ID["<|endoftext|>"],
                eos_token_id=TOKEN_ID["<|im_end|>"], torch_dtype="float32")


def build_config():
    from transformers import LlavaOnevisionConfig

    config = LlavaOnevisionConfig(
        vision_config=dict(VISION, model_type="siglip_vision_model"), text_config=text_config_dict(),
        image_token_index=IMAGE_TOKEN_ID, video_token_index=VIDEO_TOKEN_ID, projector_hidden_act="gelu",
        vision_feature_select_strategy="full", vision_feature_layer=-1, vision_aspect_ratio=ASPECT_RATIO,
        image_grid_pinpoints=GRID_PINPOINTS, tie_word_embeddings=False, multimodal_projector_bias=True,
        pad_token_id=TOKEN_ID["<|endoftext|>"], architectures=["LlavaOnevisionForConditionalGeneration"])
    config._attn_implementation = "eager"
    config.vision_config._attn_implementation = "eager"
    config.text_config._attn_implementation = "eager"
    return config


def randomize(model):
    """Seeded weights with O(1) activations; norms and biases are random too, never 1 or 0."""
    g = torch.Generator().manual_seed(SEED)

    def normal(shape, std, mean=0.0):
        return torch.randn(shape, generator=g, dtype=torch.float32) * std + mean

    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if "norm" in name:                                  # LayerNorm / RMSNorm weight and bias
                p.copy_(normal(p.shape, 0.1, 1.0) if name.endswith("weight") else normal(p.shape, 0.1))
            elif name.endswith("bias"):
                p.copy_(normal(p.shape, 0.2))
            elif name.endswith("image_newline"):
                p.copy_(normal(p.shape, 1.0))
            elif "position_embedding" in name:
                p.copy_(normal(p.shape, 0.5))
            elif "embed_tokens" in name:
                p.copy_(normal(p.shape, 1.0))
            elif name == "lm_head.weight":
                p.copy_(normal(p.shape, LM_HEAD_GAIN * p.shape[1] ** -0.5))
            elif p.dim() >= 2:                                   # Linear [out, in] and Conv2d [out, in, kh, kw]
                p.copy_(normal(p.shape, int(np.prod(p.shape[1:])) ** -0.5))
            else:
                raise AssertionError(f"unhandled parameter {name}")


def make_image(width, height, seed):
    """Seeded synthetic RGB: smooth gradients, a hard-edged disk, a stripe, and pixel noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / (width - 1), y / (height - 1)
    r = 40 + 180 * u
    g = 220 - 170 * v
    b = 128 + 100 * np.sin(2 * np.pi * (u + v))
    disk = (x - 0.62 * width) ** 2 + (y - 0.4 * height) ** 2 < (0.22 * min(width, height)) ** 2
    stripe = np.abs((x - 0.3 * width) - 0.5 * (y - 0.5 * height)) < 1.5
    r, g, b = np.where(disk, 245.0, r), np.where(disk, 30.0, g), np.where(stripe, 10.0, b)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0.0, 14.0, size=(height, width, 3))
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), mode="RGB")


# ---- the anyres arithmetic, written out (asserted against transformers below) -------------
def best_resolution(height, width):
    """select_best_resolution: most kept pixels after an aspect-preserving fit, then least waste."""
    best, best_eff, best_waste = None, 0, float("inf")
    for ph, pw in GRID_PINPOINTS:
        scale = min(pw / width, ph / height)
        eff = min(int(width * scale) * int(height * scale), width * height)
        waste = pw * ph - eff
        if eff > best_eff or (eff == best_eff and waste < best_waste):
            best, best_eff, best_waste = (ph, pw), eff, waste
    return best


def fitted_size(height, width, target_h, target_w):
    """get_patch_output_size: the image's size inside the canvas (ceil on the short side)."""
    sw, sh = target_w / width, target_h / height
    if sw < sh:
        return min(math.ceil(height * sw), target_h), target_w
    return target_h, min(math.ceil(width * sh), target_w)


def canvas_u8(img, target_h, target_w):
    """The processor's tile canvas: PIL bicubic resize of the uint8 image, then zero (black)
    padding centered with the odd pixel at the bottom/right (_get_padding_size)."""
    w, h = img.size
    nh, nw = fitted_size(h, w, target_h, target_w)
    resized = np.array(img.resize((nw, nh), resample=Image.Resampling.BICUBIC))
    out = np.zeros((target_h, target_w, 3), dtype=np.uint8)
    top, left = (target_h - nh) // 2, (target_w - nw) // 2
    out[top:top + nh, left:left + nw] = resized
    return out, (nh, nw), (top, left)


def normalize_u8(u8):
    """rescale (float64 multiply by 1/255, cast to float32) then (x - 0.5) / 0.5 in float32; CHW."""
    x = (u8.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.float32(0.5)) / np.float32(0.5)
    return x.transpose(2, 0, 1)


def unpadded_grid(height, width, rows, cols):
    """unpad_image on a [rows*4, cols*4] token grid; returns (kept rows, kept cols, offsets)."""
    cur_h, cur_w = rows * TILE_SIDE, cols * TILE_SIDE
    if width / height > cur_w / cur_h:
        new_h = int(round(height * (cur_w / width), 7))
        pad = (cur_h - new_h) // 2
        return cur_h - 2 * pad, cur_w, (pad, 0)
    new_w = int(round(width * (cur_h / height), 7))
    pad = (cur_w - new_w) // 2
    return cur_h, cur_w - 2 * pad, (0, pad)


def interpolated_size(h, w):
    ratio = math.sqrt(h * w / (MAX_TILES * TILE_SIDE ** 2))
    if ratio > 1.1:
        return int(h // ratio), int(w // ratio), ratio
    return None, None, ratio


def bilinear_half_pixel(x, out_h, out_w):
    """torch.nn.functional.interpolate(mode="bilinear", align_corners=False, antialias=False) on
    [C, H, W] written out: src = (dst + 0.5) * in/out - 0.5, clamped at 0; float32 throughout."""
    c, h, w = x.shape

    def axis(n_in, n_out):
        scale = np.float32(n_in / n_out)
        src = np.maximum((np.arange(n_out, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5), 0)
        i0 = np.floor(src).astype(np.int64)
        i0 = np.minimum(i0, n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        lam = (src - i0).astype(np.float32)
        return i0, i1, lam

    y0, y1, ly = axis(h, out_h)
    x0, x1, lx = axis(w, out_w)
    top = x[:, y0][:, :, x0] * (1 - lx) + x[:, y0][:, :, x1] * lx
    bot = x[:, y1][:, :, x0] * (1 - lx) + x[:, y1][:, :, x1] * lx
    return (top * (1 - ly)[None, :, None] + bot * ly[None, :, None]).astype(np.float32)


def pack(tile_features, height, width, newline):
    """pack_image_features written out: base tile, then the tile grid as one token image
    (row-major tiles, row-major tokens), unpadded, maybe interpolated, a newline after each row."""
    rows, cols = (d // TILE for d in best_resolution(height, width))
    base, tiles = tile_features[0], tile_features[1:]
    d = tiles.shape[-1]
    grid = tiles.reshape(rows, cols, TILE_SIDE, TILE_SIDE, d).transpose(4, 0, 2, 1, 3)
    grid = grid.reshape(d, rows * TILE_SIDE, cols * TILE_SIDE)
    kh, kw, (oy, ox) = unpadded_grid(height, width, rows, cols)
    grid = grid[:, oy:oy + kh, ox:ox + kw]
    ih, iw, _ = interpolated_size(kh, kw)
    if ih is not None:
        grid = bilinear_half_pixel(grid, ih, iw)
    gh, gw = grid.shape[1:]
    with_nl = np.concatenate([grid, np.broadcast_to(newline[:, None, None], (d, gh, 1))], axis=2)
    return np.concatenate([base, with_nl.reshape(d, -1).T], axis=0)


def run_case(model, processor, name, image):
    """Processes one image + chat prompt with the real processor and records every stage."""
    from transformers.models.llava_onevision import modeling_llava_onevision as mlo

    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTIONS[name]}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    inputs = processor(images=[image], text=prompt, return_tensors="pt")
    ids = inputs["input_ids"][0]
    pv5 = inputs["pixel_values"]                                 # [1, tiles, 3, 32, 32]
    sizes = inputs["image_sizes"]                                # [1, 2] (height, width)
    width, height = image.size
    assert sizes[0].tolist() == [height, width]
    pv = pv5[0].contiguous()
    n_tiles = pv.shape[0]

    # Preprocessing, written out with PIL + numpy.
    bh, bw = best_resolution(height, width)
    rows, cols = bh // TILE, bw // TILE
    assert n_tiles == 1 + rows * cols
    canvas, fitted, offset = canvas_u8(image, bh, bw)
    base_u8 = np.array(image.resize((TILE, TILE), resample=Image.Resampling.BICUBIC))
    expect = [normalize_u8(base_u8)] + [normalize_u8(canvas[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE])
                                        for r in range(rows) for c in range(cols)]
    assert np.array_equal(np.stack(expect), pv.numpy()), "pixel_values differ from the written-out preprocessing"

    m = model.model
    with torch.no_grad():
        tower = m.vision_tower(pv, output_hidden_states=True)
        vision_hidden = tower.hidden_states[-1]
        vm = m.vision_tower.vision_model
        h = vm.embeddings(pv)
        for layer in vm.encoder.layers:
            h = layer(h, attention_mask=None)
            h = h[0] if isinstance(h, tuple) else h
        assert torch.equal(h, vision_hidden), "hidden_states[-1] is not the last encoder layer's output"
        assert not torch.allclose(vm.post_layernorm(h), vision_hidden), "post_layernorm unexpectedly applied"
        assert torch.equal(vm.post_layernorm(h), tower.last_hidden_state)
        tile_features = m.multi_modal_projector(vision_hidden)
        lin1 = m.multi_modal_projector.linear_1(vision_hidden)
        erf = m.multi_modal_projector.linear_2(torch.nn.functional.gelu(lin1))
        tanh = m.multi_modal_projector.linear_2(torch.nn.functional.gelu(lin1, approximate="tanh"))
        assert torch.equal(erf, tile_features) and not torch.equal(tanh, tile_features)
        packed = m.get_image_features(pv5, sizes)
        assert len(packed) == 1
        image_features = packed[0]
        embeds = m.get_input_embeddings()(ids[None])
        mask = (ids == IMAGE_TOKEN_ID)[None, :, None].expand_as(embeds)
        merged = embeds.masked_scatter(mask, image_features)[0]
        out = model(input_ids=ids[None], attention_mask=inputs["attention_mask"], pixel_values=pv5,
                    image_sizes=sizes, use_cache=False)
        logits = out.logits[0]
        logits_from_embeds = model(inputs_embeds=merged[None], use_cache=False).logits[0]
    assert torch.allclose(logits, logits_from_embeds, atol=1e-5, rtol=0)

    # Packing, written out; and the helpers transformers itself uses.
    mine = pack(tile_features.numpy(), height, width, m.image_newline.detach().numpy())
    assert mine.shape == tuple(image_features.shape), (mine.shape, image_features.shape)
    pack_err = float(np.abs(mine - image_features.numpy()).max())
    assert pack_err < 1e-6, pack_err
    assert tuple(mlo.select_best_resolution([height, width], GRID_PINPOINTS)) == (bh, bw)
    assert mlo.get_anyres_image_grid_shape(sizes[0], GRID_PINPOINTS, TILE) == (rows, cols)
    kh, kw, (oy, ox) = unpadded_grid(height, width, rows, cols)
    probe = torch.zeros(1, rows * TILE_SIDE, cols * TILE_SIDE)
    assert tuple(mlo.unpad_image(probe, sizes[0]).shape[1:]) == (kh, kw)
    ih, iw, ratio = interpolated_size(kh, kw)
    gh, gw = (ih, iw) if ih is not None else (kh, kw)
    n_feat = TILE_TOKENS + gh * (gw + 1)
    n_img = int((ids == IMAGE_TOKEN_ID).sum())
    assert n_feat == image_features.shape[0] == n_img

    expanded = processor.tokenizer.decode(ids.tolist(), skip_special_tokens=False)
    tensors = {
        "pixel_values": pv.numpy(),                                   # [tiles, 3, 32, 32]
        "image_size": np.array([height, width], dtype=np.int32),      # [2] (height, width)
        "input_ids": ids.to(torch.int32).numpy(),                     # [T]
        "vision_hidden": vision_hidden.numpy(),                       # [tiles, 16, 32] before post_layernorm
        "tile_features": tile_features.numpy(),                       # [tiles, 16, 64] projector output
        "image_features": image_features.numpy(),                     # [N, 64] packed, as inserted
        "logits": logits.numpy(),                                     # [T, vocab]
    }
    # Not written (size); the text embeddings with image_features scattered over the <image> ids.
    extra = {"inputs_embeds": merged.numpy()}
    info = {
        "image_file": f"image_{name}.png",
        "question": QUESTIONS[name],
        "chat_prompt": prompt,
        "chat_prompt_ids": processor.tokenizer(prompt, add_special_tokens=False)["input_ids"],
        "expanded_prompt": expanded,
        "input_ids": ids.tolist(),
        "n_tokens": int(ids.numel()),
        "image_size_hw": [height, width],
        "best_resolution_hw": [bh, bw],
        "grid_rows_cols": [rows, cols],
        "n_tiles": int(n_tiles),
        "fitted_size_hw": list(fitted),
        "canvas_offset_top_left": list(offset),
        "token_grid_hw": [rows * TILE_SIDE, cols * TILE_SIDE],
        "unpadded_hw": [kh, kw],
        "unpad_offset_rows_cols": [oy, ox],
        "anyres_ratio": ratio,
        "interpolated": ih is not None,
        "interpolated_hw": [ih, iw] if ih is not None else None,
        "n_image_features": n_feat,
        "image_token_span": [int(torch.nonzero(ids == IMAGE_TOKEN_ID)[0]), int(torch.nonzero(ids == IMAGE_TOKEN_ID)[-1])],
        "pack_written_out_max_abs_diff": pack_err,
        "logits_abs_max": float(logits.abs().max()),
        "logits_std": float(logits.std()),
        "last_top5": [[int(i), float(logits[-1, i])] for i in torch.argsort(-logits[-1], stable=True)[:5]],
    }
    return tensors, info, extra


def run_multi_case(model, processor, images):
    """MULTI's images in one prompt: transformers' multi-image path. No tiling: each image is
    padded to a square of the mean colour (centred), resized to one tile, and gives its 16
    features and the newline."""
    content = [{"type": "image"} for _ in MULTI] + [{"type": "text", "text": QUESTIONS["multi"]}]
    prompt = processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)
    inputs = processor(images=[[images[n] for n in MULTI]], text=prompt, return_tensors="pt")
    ids = inputs["input_ids"][0]
    count = inputs["batch_num_images"]
    assert count.tolist() == [len(MULTI)]
    pv, sizes = inputs["pixel_values"], inputs["image_sizes"]
    frames = pv.reshape(-1, 3, TILE, TILE)[:len(MULTI)] if pv.dim() == 4 else pv[:, 0]
    # Written out: pad to a square of 127 (int(0.5 * 255)), centred, then one bicubic resize.
    for k, n in enumerate(MULTI):
        u8 = np.array(images[n])
        h, w, _ = u8.shape
        side = max(h, w)
        square = np.full((side, side, 3), 127, dtype=np.uint8)
        top, left = (side - h) // 2, (side - w) // 2
        square[top:top + h, left:left + w] = u8
        tile = np.array(Image.fromarray(square).resize((TILE, TILE), resample=Image.Resampling.BICUBIC))
        assert np.array_equal(normalize_u8(tile), frames[k].numpy()), f"multi: image {n} differs from the written-out padding"
    with torch.no_grad():
        features = model.model.get_image_features(pv, sizes, batch_num_images=count)
        features = torch.cat(list(features), dim=0)
        logits = model(input_ids=ids[None], attention_mask=inputs["attention_mask"], pixel_values=pv, image_sizes=sizes,
                       batch_num_images=count, use_cache=False).logits[0]
    assert features.shape[0] == len(MULTI) * (TILE_TOKENS + 1) == int((ids == IMAGE_TOKEN_ID).sum())
    tensors = {"pixel_values": frames.contiguous().numpy(), "input_ids": ids.to(torch.int32).numpy(),
               "image_features": features.numpy(), "logits": logits.numpy()}
    info = {"images": [f"image_{n}.png" for n in MULTI], "question": QUESTIONS["multi"], "chat_prompt": prompt,
            "input_ids": ids.tolist(), "n_tokens": int(ids.numel()), "n_image_features": int(features.shape[0])}
    return tensors, info


# ---- llama.cpp converter --------------------------------------------------------------------
CONVERTER_DRIVER = r"""
import sys
src, argv = sys.argv[1], sys.argv[2:]
sys.path.insert(0, src)
sys.argv = ["convert_hf_to_gguf.py"] + argv
import convert_hf_to_gguf as converter   # puts its own gguf-py first on sys.path
from conversion import base, qwen

# Qwen2Model.set_vocab tries SentencePiece first, importing the sentencepiece package before it
# looks for tokenizer.model; with no tokenizer.model it falls back to _set_vocab_gpt2. Go there
# directly, so that sentencepiece need not be installed.
qwen.Qwen2Model.set_vocab = lambda self: self._set_vocab_gpt2()

stock = base.TextModel.get_vocab_base_pre

def get_vocab_base_pre(self, tokenizer):
    # The toy vocabulary hashes to nothing the converter knows; its pre-tokenizer is Qwen2's.
    try:
        return stock(self, tokenizer)
    except NotImplementedError:
        print("pre-tokenizer hash not recognized; using 'qwen2'", file=sys.stderr)
        return "qwen2"

base.TextModel.get_vocab_base_pre = get_vocab_base_pre
converter.main()
"""


def unpack_converter(sdist, dest):
    with open(sdist, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != LLAMA_CPP_SDIST_SHA256:
        sys.exit(f"{sdist}: sha256 {digest}, expected {LLAMA_CPP_SDIST_SHA256}")
    keep = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")
    with tarfile.open(sdist, "r:gz") as tar:
        members = [m for m in tar.getmembers()
                   if m.name.startswith(LLAMA_CPP_SRC) and m.name[len(LLAMA_CPP_SRC):].startswith(keep)]
        tar.extractall(dest, members=members, filter="data")
    return os.path.join(dest, LLAMA_CPP_SRC)


def run_converter(src, args):
    env = dict(os.environ)
    env.pop("NO_LOCAL_GGUF", None)
    p = subprocess.run([sys.executable, "-c", CONVERTER_DRIVER, src] + args, capture_output=True, text=True, env=env)
    return p.returncode, p.stdout + p.stderr


def check_text_gguf(path, tokenizer, hf_text_sd, cases):
    """Reads the GGUF back: metadata, tensors against the HF weights, and its vocabulary re-run
    through a BPE built only from the GGUF (tokens, merges, llama.cpp's qwen2 split)."""
    from gguf import GGUFReader
    from tokenizers import AddedToken, Regex, Tokenizer, models, pre_tokenizers

    r = GGUFReader(path)

    kv = {k: f.contents() for k, f in r.fields.items() if not k.startswith("GGUF.")}
    tokens, types, merges = kv["tokenizer.ggml.tokens"], kv["tokenizer.ggml.token_type"], kv["tokenizer.ggml.merges"]
    assert kv["general.architecture"] == "qwen2" and kv["tokenizer.ggml.pre"] == "qwen2"
    assert len(tokens) == VOCAB_SIZE
    inv = {i: t for t, i in tokenizer.get_vocab().items()}
    for i in range(VOCAB_SIZE):
        assert tokens[i] == inv.get(i, f"[PAD{i}]"), (i, tokens[i])
    vocab = {t: i for i, t in enumerate(tokens) if types[i] == 1}
    bpe = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], fuse_unk=False))
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA_CPP_QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    bpe.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for i, t in enumerate(tokens) if types[i] == 3])
    matches = {}
    for name, info in cases.items():
        for key in ("chat_prompt", "expanded_prompt"):
            hf_ids = tokenizer(info[key], add_special_tokens=False)["input_ids"]
            assert hf_ids == info["input_ids" if key == "expanded_prompt" else "chat_prompt_ids"]
            got = bpe.encode(info[key], add_special_tokens=False).ids
            matches[f"{name}.{key}"] = got == hf_ids
            assert got == hf_ids, (name, key, got, hf_ids)

    names = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    per_layer = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
                 "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
                 "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
                 "ffn_down": "mlp.down_proj"}
    for i in range(TEXT_LAYERS):
        for gg, hf in per_layer.items():
            for suffix in ("weight", "bias"):
                names[f"blk.{i}.{gg}.{suffix}"] = f"model.layers.{i}.{hf}.{suffix}"
    tensor_info = {}
    for t in r.tensors:
        hf = names[t.name]
        ref = hf_text_sd[hf].numpy()
        data = np.asarray(t.data).reshape(ref.shape)
        assert t.tensor_type.name == "F32" and np.array_equal(data, ref), t.name
        tensor_info[t.name] = {"hf": hf, "ne": [int(x) for x in t.shape]}
    assert len(tensor_info) == len(hf_text_sd)
    meta = {k: v for k, v in kv.items() if k not in ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
                                                      "tokenizer.ggml.merges")}
    meta["tokenizer.ggml.merges (count)"] = len(merges)
    meta["tokenizer.ggml.token_type (counts)"] = {str(k): int(v) for k, v in zip(*np.unique(types, return_counts=True))}
    return {"metadata": meta, "tensors": tensor_info, "prompt_ids_match_hf": matches}


def check_llama_cpp(gguf_path, cases, tensors, embeds):
    """Loads the text GGUF in llama.cpp (llama-cpp-python's libllama) and compares its tokenization
    of the prompts and its logits for the reference inputs_embeds with transformers'."""
    try:
        if version("llama-cpp-python") != "0.3.36":
            sys.exit(f"--check-llama-cpp expects llama-cpp-python==0.3.36, found {version('llama-cpp-python')}")
    except PackageNotFoundError:
        sys.exit("--check-llama-cpp needs llama-cpp-python==0.3.36")
    import llama_cpp as L

    L.llama_backend_init()
    model = L.llama_model_load_from_file(gguf_path.encode(), L.llama_model_default_params())
    assert model, "llama.cpp could not load the text GGUF"
    vocab = L.llama_model_get_vocab(model)
    n_vocab = L.llama_vocab_n_tokens(vocab)
    for name, info in cases.items():
        for key in ("chat_prompt", "expanded_prompt"):
            b = info[key].encode()
            buf = (L.llama_token * 4096)()
            n = L.llama_tokenize(vocab, b, len(b), buf, 4096, False, True)
            want = info["input_ids"] if key == "expanded_prompt" else info["chat_prompt_ids"]
            print(f"llama.cpp tokenization of the {name} {key} matches transformers': {list(buf[:n]) == want}")


    # (type_k = type_v, flash_attn_type): fp32 cache; fp16 cache without flash attention; defaults.
    for label, kv, fa in (("f32 KV, no FA", 0, 0), ("f16 KV, no FA", 1, 0), ("defaults", None, None)):
        cp = L.llama_context_default_params()
        cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_threads, cp.n_threads_batch = 256, 256, 256, 2, 2
        if kv is not None:
            cp.type_k = cp.type_v = kv
            cp.flash_attn_type = fa
        ctx = L.llama_init_from_model(model, cp)
        for name in cases:
            ref = tensors[f"{name}.logits"]
            got = llama_cpp_logits_for_embeds(L, ctx, embeds[name], n_vocab)
            print(f"llama.cpp logits from the reference inputs_embeds, {label}, {name}: max |diff| "
                  f"{np.abs(got - ref).max():.3e} (|ref| max {np.abs(ref).max():.3f})")
        L.llama_free(ctx)
    L.llama_model_free(model)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--llama-cpp-sdist", default=os.environ.get(
        "LLAMA_CPP_SDIST", os.path.expanduser(os.path.join("~", ".cache", "jarvis", LLAMA_CPP_SDIST_NAME))))
    ap.add_argument("--check-llama-cpp", action="store_true",
                    help="tokenize the prompts and run the text GGUF with llama-cpp-python")
    args = ap.parse_args()
    check_versions(PINNED)
    if not os.path.isfile(args.llama_cpp_sdist):
        sys.exit(f"{args.llama_cpp_sdist} not found: see the docstring for how to fetch the sdist")
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    from safetensors.numpy import save_file
    from safetensors import safe_open
    from transformers import AutoProcessor, LlavaOnevisionForConditionalGeneration

    tokenizer = build_tokenizer()
    processor = build_processor(tokenizer)
    config = build_config()
    model = LlavaOnevisionForConditionalGeneration(config).eval()
    randomize(model)
    assert model.lm_head.weight.data_ptr() != model.model.language_model.embed_tokens.weight.data_ptr()

    out = args.out
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    hf = os.path.join(out, "hf")
    model.save_pretrained(hf, safe_serialization=True)
    processor.save_pretrained(hf)

    images = {}
    for i, (name, w, h) in enumerate(IMAGES):
        with open(os.path.join(out, f"image_{name}.png"), "wb") as f:
            f.write(png_bytes(make_image(w, h, SEED + i)))
        # Reloaded from the PNG file, as a user's image would be.
        images[name] = Image.open(os.path.join(out, f"image_{name}.png")).convert("RGB")

    # The reference comes from the model and processor reloaded from disk.
    model = LlavaOnevisionForConditionalGeneration.from_pretrained(hf, dtype=torch.float32,
                                                                   attn_implementation="eager").eval()
    processor = AutoProcessor.from_pretrained(hf, use_fast=False)
    assert type(processor).__name__ == "LlavaOnevisionProcessor"
    assert type(processor.image_processor).__name__ == "LlavaOnevisionImageProcessor", type(processor.image_processor)
    assert processor.num_image_tokens == TILE_TOKENS and processor.vision_aspect_ratio == ASPECT_RATIO
    assert not torch.equal(model.lm_head.weight, model.model.language_model.embed_tokens.weight)
    with safe_open(os.path.join(hf, "model.safetensors"), "np") as f:
        checkpoint_keys = {k: list(f.get_slice(k).get_shape()) for k in sorted(f.keys())}

    tensors, cases, embeds = {}, {}, {}
    for name, _, _ in IMAGES:
        t, info, extra = run_case(model, processor, name, images[name])
        tensors.update({f"{name}.{k}": v for k, v in t.items()})
        cases[name] = info
        embeds[name] = extra["inputs_embeds"]
    t, info = run_multi_case(model, processor, images)
    tensors.update({f"multi.{k}": v for k, v in t.items()})
    multi = info
    save_file({k: np.ascontiguousarray(v) for k, v in sorted(tensors.items())},
              os.path.join(out, "reference.safetensors"), metadata={"generator": GENERATOR})

    # llama.cpp: the text model through convert_hf_to_gguf.py; then what it says about --mmproj.
    gguf_name = "tiny-llava-ov-qwen2-F32.gguf"
    with tempfile.TemporaryDirectory() as tmp:
        src = unpack_converter(args.llama_cpp_sdist, os.path.join(tmp, "src"))
        text_dir = os.path.join(tmp, "tiny-llava-ov-qwen2")
        # The decoder alone, by the same tool a user runs on a real checkpoint.
        from transformers import Qwen2ForCausalLM
        extract(hf, text_dir)
        lm = Qwen2ForCausalLM.from_pretrained(text_dir, dtype=torch.float32, attn_implementation="eager").eval()
        with torch.no_grad():       # same decoder: the text-only model reproduces the merged-embeds logits
            for name in cases:
                emb = torch.from_numpy(embeds[name])[None]
                assert torch.allclose(lm(inputs_embeds=emb).logits[0], torch.from_numpy(tensors[f"{name}.logits"]),
                                      atol=1e-5, rtol=0)
        rc, log = run_converter(src, [text_dir, "--outtype", "f32", "--outfile", os.path.join(out, gguf_name),
                                      "--model-name", "Tiny LLaVA-OneVision Qwen2 Random"])
        if rc != 0:
            sys.exit("convert_hf_to_gguf.py failed:\n" + log)
        # What the converter says about the LLaVA-OneVision checkpoint itself, vision and text.
        mm_rc, mm_log = run_converter(src, [hf, "--mmproj", "--outtype", "f32",
                                            "--outfile", os.path.join(tmp, "mmproj.gguf")])
        mm_lines = [ln for ln in mm_log.splitlines() if ln.strip()]
        lv_rc, lv_log = run_converter(src, [hf, "--outtype", "f32", "--outfile", os.path.join(tmp, "lv.gguf")])
        lv_lines = [ln for ln in lv_log.splitlines() if ln.strip()]
        assert not os.path.exists(os.path.join(tmp, "mmproj.gguf")), "the converter now writes an mmproj: look at it"
        gguf_report = check_text_gguf(os.path.join(out, gguf_name), tokenizer,
                                      {k: v for k, v in lm.state_dict().items()}, cases)
    converter = {
        "source": f"{LLAMA_CPP_SDIST_NAME} (sha256 {LLAMA_CPP_SDIST_SHA256}), {LLAMA_CPP_SRC}convert_hf_to_gguf.py",
        "text_gguf": gguf_name,
        "text_command": "convert_hf_to_gguf.py <Qwen2ForCausalLM dir> --outtype f32 --model-name "
                        "'Tiny LLaVA-OneVision Qwen2 Random' (pre-tokenizer forced to 'qwen2')",
        "mmproj_command": "convert_hf_to_gguf.py hf --mmproj --outtype f32",
        "mmproj_exit_code": mm_rc,
        "mmproj_last_lines": mm_lines[-2:],
        "llava_text_command": "convert_hf_to_gguf.py hf --outtype f32",
        "llava_text_exit_code": lv_rc,
        "llava_text_last_lines": lv_lines[-2:],
    }

    ref = {
        "generator": GENERATOR,
        "reference": f"transformers {PINNED['transformers']}, torch {PINNED['torch']}, float32, eager attention",
        "seed": SEED,
        "config": {
            "vision": VISION, "tile_tokens": TILE_TOKENS, "tile_side_tokens": TILE_SIDE,
            "vision_feature_layer": -1, "vision_feature_layer_meaning": "hidden_states[-1]: output of the last "
            "encoder layer, before post_layernorm (SiglipVisionModel uses tie_last_hidden_states=False)",
            "vision_feature_select_strategy": "full", "projector": "linear_1 -> GELU (erf) -> linear_2, with biases",
            "image_grid_pinpoints_hw": GRID_PINPOINTS, "vision_aspect_ratio": ASPECT_RATIO,
            "text": {"arch": "qwen2", "dim": TEXT_DIM, "ffn": TEXT_FFN, "layers": TEXT_LAYERS, "heads": TEXT_HEADS,
                     "kv_heads": TEXT_KV_HEADS, "head_dim": HEAD_DIM, "rope_theta": ROPE_THETA,
                     "rms_norm_eps": RMS_EPS, "qkv_bias": True, "vocab_size": VOCAB_SIZE,
                     "tokenizer_tokens": N_TOKENS, "tied_output": False},
            "processor": {"image_processor": "LlavaOnevisionImageProcessor (slow, PIL)",
                          "size_hw": [TILE, TILE], "resample": "PIL BICUBIC on uint8", "rescale_factor": "1/255",
                          "image_mean": [0.5] * 3, "image_std": [0.5] * 3, "pad_value": "0 (uint8), i.e. -1.0",
                          "num_image_tokens": TILE_TOKENS, "vision_aspect_ratio": ASPECT_RATIO}},
        "token_ids": dict(sorted(TOKEN_ID.items(), key=lambda kv: kv[1])),
        "image_token_id": IMAGE_TOKEN_ID,
        "eos_token_id": TOKEN_ID["<|im_end|>"],
        "pad_token_id": TOKEN_ID["<|endoftext|>"],
        "byte_tokens": "ids 0..255, GPT-2 byte order",
        "merges": [" ".join(m) for m in MERGES],
        "chat_template": CHAT_TEMPLATE,
        "cases": cases,
        "multi_image_case": multi,
        "reference_tensors": {k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in sorted(tensors.items())},
        "hf_checkpoint_tensors": checkpoint_keys,
        "text_gguf": gguf_report,
        "llama_cpp_converter": converter,
    }
    write_reference(out, ref)
    for name, info in cases.items():
        print(f"{name}: image {info['image_size_hw']} -> best {info['best_resolution_hw']}, grid {info['grid_rows_cols']}, "
              f"unpadded {info['unpadded_hw']}, interpolated {info['interpolated_hw']}, "
              f"N {info['n_image_features']}, T {info['n_tokens']}, |logits| max {info['logits_abs_max']:.3f}")
    print(f"convert_hf_to_gguf.py --mmproj on hf/: exit {mm_rc}: {' | '.join(mm_lines[-2:])}")
    print(f"convert_hf_to_gguf.py on hf/: exit {lv_rc}: {' | '.join(lv_lines[-2:])}")
    if args.check_llama_cpp:
        check_llama_cpp(os.path.join(out, gguf_name), cases, tensors, embeds)


if __name__ == "__main__":
    main()
