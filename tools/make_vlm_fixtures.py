#!/usr/bin/env python3
"""Writes Tests/JarvisEngineTests/Fixtures/vlm/: a tiny random-weight Idefics3 (SmolVLM-shaped)
model in both HF and llama.cpp layouts, two test images, and float32 reference tensors from
transformers for parity tests of the Swift VLM path.

Pinned reference (already on the development machines; nothing is fetched from a model hub):
    pip install torch==2.15.0 transformers==4.57.6 tokenizers==0.22.2 safetensors==0.8.0 \
                gguf==0.19.0 numpy==2.4.6 pillow==13.0.0
Optional cross-check against llama.cpp itself (prints numbers, writes nothing):
    pip install llama-cpp-python==0.3.36   # built from source, ships libmtmd
Usage:
    tools/make_vlm_fixtures.py                    # write the fixtures
    tools/make_vlm_fixtures.py --check-llama-cpp  # write, then load the GGUF pair in llama.cpp

What is written (all deterministic: running twice gives identical bytes):
  hf/                    config.json, generation_config.json, model.safetensors (float32), and a
                         processor (tokenizer.json, tokenizer_config.json, special_tokens_map.json,
                         preprocessor_config.json, processor_config.json, chat_template.jinja);
                         AutoProcessor / Idefics3ForConditionalGeneration.from_pretrained load it.
  tiny-idefics3-F32.gguf         language model in llama.cpp's layout (arch "llama", Q/K rows
                                 permuted for adjacent-pair RoPE, byte-level BPE vocab).
  mmproj-tiny-idefics3-F32.gguf  vision tower + connector in llama.cpp's mmproj layout
                                 (arch "clip", projector_type "idefics3").
  image_split.png        128x64 RGB: split into 1 row x 2 cols of 64x64 crops + a global image.
  image_single.png       64x64 RGB: processed with size.longest_edge=64, so not split.
  reference.safetensors  per case ("split.", "single."): pixel_values, input_ids and every stage
                         of the forward pass down to logits of all positions (float32).
  reference.json         prompt text, expanded prompt, ids, special token ids, shapes, hashes.

The model mirrors SmolVLM's structure at toy size: SigLIP-style vision encoder without a pre-
layernorm (patch conv + learned positions, 2 layers, gelu-tanh MLP, post-layernorm), pixel
shuffle (scale 2), a bias-free linear connector, and a llama decoder (GQA, RoPE base 1e5,
untied lm_head). Every weight, bias and norm parameter is drawn from a seeded generator with
magnitudes that keep activations O(1), so a missing bias or a norm applied without its weight
shows up in the logits. Its token ids mirror SmolVLM's added-token layout (<global-img>, the 36
<row_r_col_c> tokens, <fake_token_around_image>, <image>, reserved tokens, <end_of_utterance>
last) above a byte-level base vocabulary with one merge ("\\n\\n"), which llama.cpp's mtmd looks
up as a single token.

Vision position ids: transformers 4.55-4.57 compute them with a float32 rounding regression
(huggingface/transformers#41190) that maps patch row/column i to i-1 for full crops. The
reference here uses the original ids 0..n-1 (what transformers <= 4.54.1 computed, what SmolVLM
was trained with, and what llama.cpp uses) by patching Idefics3VisionEmbeddings.forward; the ids
the stock library would use are recorded in reference.json.
"""
import argparse
import os
import shutil
import sys
from importlib.metadata import version

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_files import check_versions, llama_cpp_logits_for_embeds, png_bytes, write_reference  # noqa: E402

PINNED = {"torch": "2.15.0", "transformers": "4.57.6", "tokenizers": "0.22.2", "safetensors": "0.8.0",
          "gguf": "0.19.0", "numpy": "2.4.6", "pillow": "13.0.0"}

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "JarvisEngineTests", "Fixtures", "vlm")

# ---- sizes -------------------------------------------------------------------------------
VISION = dict(hidden_size=32, intermediate_size=80, num_hidden_layers=2, num_attention_heads=2,
              num_channels=3, image_size=64, patch_size=8, hidden_act="gelu_pytorch_tanh",
              layer_norm_eps=1e-6, attention_dropout=0.0, initializer_range=0.02)
SCALE_FACTOR = 2
TEXT_DIM, TEXT_FFN, TEXT_LAYERS, TEXT_HEADS, TEXT_KV_HEADS, HEAD_DIM = 64, 96, 2, 4, 2, 16
ROPE_THETA, RMS_EPS, CONTEXT = 100000.0, 1e-5, 512
IMAGE_SEQ_LEN = (VISION["image_size"] // VISION["patch_size"]) ** 2 // SCALE_FACTOR ** 2  # 16
LONGEST_EDGE, CROP_EDGE = 128, 64  # size.longest_edge, max_image_size.longest_edge

# ---- vocabulary (mirrors SmolVLM: 49152 -> 260) ------------------------------------------
BASE_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]          # 0, 1, 2
BYTE_OFFSET = len(BASE_SPECIALS)                                         # bytes at 3..258
MERGED = "\u010a\u010a"                                                  # "\n\n" -> 259
BASE_VOCAB = BYTE_OFFSET + 256 + 1                                       # 260
ADDED = (["<global-img>"]
         + [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
         + ["<fake_token_around_image>", "<image>"]
         + [f"<|reserved_special_token_{i}|>" for i in range(20)]
         + ["<end_of_utterance>"])
VOCAB_SIZE = BASE_VOCAB + len(ADDED)                                     # 320
TOKEN_ID = {t: BASE_VOCAB + i for i, t in enumerate(ADDED)}
TOKEN_ID.update({t: i for i, t in enumerate(BASE_SPECIALS)})
IMAGE_TOKEN_ID = TOKEN_ID["<image>"]

CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}")
QUESTION = "What is in this image?"
SEED = 20240613
# The lm_head is drawn smaller than the other matrices so that logits have std ~0.4 (max ~1.7).
# llama.cpp, and the Swift engine that matches it, keep K/V in fp16 and round queries and
# attention weights to fp16; that alone moves these logits by up to ~6e-4 (measured with
# --check-llama-cpp), inside the 1e-3 parity budget. Wrong biases, norms, position or shuffle
# orders move them by 0.07-1.2; a GELU of the wrong kind only shows in the vision stages.
LM_HEAD_GAIN = 0.4


def original_position_ids(patch_attention_mask, num_patches_per_side):
    """Vision position ids as transformers <= 4.54.1 computed them (and as the model was trained,
    and as llama.cpp uses them): 0..n-1 in row-major patch order for a full crop.

    transformers 4.55.0 .. 4.57.x compute `arange(n) / n * (1 - 1e-6)` in float32 instead, which
    bucketizes row/column i to i-1 (0, 0, 1, ..., n-2) for full crops: a known regression,
    huggingface/transformers#41190. The fixtures use the original ids (see patch_vision_positions).
    """
    boundaries = torch.arange(1 / num_patches_per_side, 1.0, 1 / num_patches_per_side)
    batch, h, w = patch_attention_mask.shape
    ids = torch.zeros((batch, h * w), dtype=torch.long)
    for b, m in enumerate(patch_attention_mask):
        nh, nw = int(m[:, 0].sum()), int(m[0].sum())
        ch = torch.bucketize(torch.arange(0, 1 - 1e-6, 1 / nh), boundaries, right=True)
        cw = torch.bucketize(torch.arange(0, 1 - 1e-6, 1 / nw), boundaries, right=True)
        ids[b][m.view(-1)] = (ch[:, None] * num_patches_per_side + cw).flatten()
    return ids


def patch_vision_positions():
    """Makes Idefics3VisionEmbeddings use original_position_ids (undoing #41190's regression)."""
    from transformers.models.idefics3 import modeling_idefics3 as mi

    def forward(self, pixel_values, patch_attention_mask):
        embeddings = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        ids = original_position_ids(patch_attention_mask, self.num_patches_per_side)
        return embeddings + self.position_embedding(ids)

    stock = mi.Idefics3VisionEmbeddings.forward
    mi.Idefics3VisionEmbeddings.forward = forward
    return stock


def bytes_to_unicode():
    """GPT-2's byte -> printable character table (the alphabet of byte-level BPE)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) \
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def build_tokenizer():
    """A byte-level BPE with SmolLM2's pre-tokenizer, one merge, and SmolVLM's added tokens."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    table = bytes_to_unicode()
    vocab = {t: i for i, t in enumerate(BASE_SPECIALS)}
    for b in range(256):
        vocab[table[b]] = BYTE_OFFSET + b
    vocab[MERGED] = BASE_VOCAB - 1
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[("\u010a", "\u010a")], fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in BASE_SPECIALS + ADDED])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<end_of_utterance>",
        pad_token="<|im_end|>", unk_token="<|endoftext|>",
        additional_special_tokens=["<fake_token_around_image>", "<image>", "<end_of_utterance>"],
        model_max_length=CONTEXT, add_bos_token=False, add_eos_token=False, clean_up_tokenization_spaces=False)
    for t, i in TOKEN_ID.items():
        assert fast.convert_tokens_to_ids(t) == i, (t, fast.convert_tokens_to_ids(t), i)
    assert len(fast) == VOCAB_SIZE
    return fast


def build_processor(tokenizer):
    from transformers import Idefics3ImageProcessor, Idefics3Processor
    from transformers.image_utils import PILImageResampling

    image_processor = Idefics3ImageProcessor(
        do_convert_rgb=True, do_resize=True, size={"longest_edge": LONGEST_EDGE},
        resample=PILImageResampling.LANCZOS, do_image_splitting=True,
        max_image_size={"longest_edge": CROP_EDGE}, do_rescale=True, rescale_factor=1 / 255,
        do_normalize=True, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5], do_pad=True)
    return Idefics3Processor(image_processor=image_processor, tokenizer=tokenizer,
                             image_seq_len=IMAGE_SEQ_LEN, chat_template=CHAT_TEMPLATE)


def build_config():
    from transformers import Idefics3Config

    text = dict(model_type="llama", architectures=["VLlama3ForCausalLM"], vocab_size=VOCAB_SIZE,
                hidden_size=TEXT_DIM, intermediate_size=TEXT_FFN, num_hidden_layers=TEXT_LAYERS,
                num_attention_heads=TEXT_HEADS, num_key_value_heads=TEXT_KV_HEADS, head_dim=HEAD_DIM,
                max_position_embeddings=CONTEXT, rms_norm_eps=RMS_EPS, rope_theta=ROPE_THETA,
                hidden_act="silu", attention_bias=False, mlp_bias=False, tie_word_embeddings=False,
                pad_token_id=TOKEN_ID["<|im_end|>"], bos_token_id=TOKEN_ID["<|im_start|>"],
                eos_token_id=TOKEN_ID["<end_of_utterance>"], initializer_range=0.02)
    config = Idefics3Config(vision_config=dict(VISION), text_config=text, scale_factor=SCALE_FACTOR,
                            image_token_id=IMAGE_TOKEN_ID, pad_token_id=TOKEN_ID["<|im_end|>"],
                            tie_word_embeddings=False, architectures=["Idefics3ForConditionalGeneration"])
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
            if "norm" in name or "layernorm" in name:      # LayerNorm / RMSNorm weight and bias
                p.copy_(normal(p.shape, 0.1, 1.0) if name.endswith("weight") else normal(p.shape, 0.1))
            elif name.endswith("bias"):
                p.copy_(normal(p.shape, 0.1))
            elif "position_embedding" in name:
                p.copy_(normal(p.shape, 0.5))
            elif "embed_tokens" in name:
                p.copy_(normal(p.shape, 1.0))
            elif name == "lm_head.weight":                   # logits std ~0.4: see LM_HEAD_GAIN
                p.copy_(normal(p.shape, LM_HEAD_GAIN * p.shape[1] ** -0.5))
            elif p.dim() >= 2:                                # Linear [out, in] and Conv2d [out, in, kh, kw]
                fan_in = int(np.prod(p.shape[1:]))
                p.copy_(normal(p.shape, fan_in ** -0.5))
            else:
                raise AssertionError(f"unhandled parameter {name}")


def make_images():
    """Deterministic synthetic RGB images with smooth gradients and sharp edges."""
    def paint(w, h, phase):
        y, x = np.mgrid[0:h, 0:w].astype(np.float64)
        r = 127.5 + 127.5 * np.sin(2 * np.pi * (x / w + phase))
        g = 255.0 * y / (h - 1)
        b = np.where(((x // 8 + y // 8) % 2) == 0, 230.0, 25.0)
        disk = (x - w * 0.7) ** 2 + (y - h * 0.45) ** 2 < (h * 0.25) ** 2
        r = np.where(disk, 250.0, r)
        g = np.where(disk, 40.0, g)
        img = np.stack([r, g, b], axis=-1)
        return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), mode="RGB")
    return paint(128, 64, 0.0), paint(64, 64, 0.25)


def run_case(model, processor, image, images_kwargs):
    """Processes one image + chat prompt with the real processor and records every stage."""
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    inputs = processor(text=prompt, images=[image], return_tensors="pt", **images_kwargs)
    ids = inputs["input_ids"][0]
    pv5 = inputs["pixel_values"]                       # [1, n_images, 3, 64, 64]
    mask = inputs["pixel_attention_mask"]              # [1, n_images, 64, 64]
    assert bool(mask.all()), "crops are expected to be unpadded"
    pv = pv5[0].contiguous()
    n_img = pv.shape[0]

    m = model.model
    vm = m.vision_model
    with torch.no_grad():
        patch_mask = torch.ones((n_img, 8, 8), dtype=torch.bool)
        emb = vm.embeddings(pixel_values=pv, patch_attention_mask=patch_mask)
        conv = vm.embeddings.patch_embedding(pv).flatten(2).transpose(1, 2)
        vis = vm(pixel_values=pv, patch_attention_mask=patch_mask).last_hidden_state
        shuffled = m.connector.pixel_shuffle(vis, SCALE_FACTOR)
        feats = m.connector(vis)
        feats_ref = m.get_image_features(pv5, mask)
        assert torch.equal(feats, feats_ref)
        pos = vm.embeddings.position_embedding.weight
        assert torch.allclose(emb, conv + pos[None], atol=1e-6, rtol=0)
        embeds = m.get_input_embeddings()(ids[None])
        merged = m.inputs_merger(ids[None], embeds, feats)[0]
        out = model(input_ids=ids[None], attention_mask=inputs["attention_mask"], pixel_values=pv5,
                    pixel_attention_mask=mask, use_cache=False)
        logits = out.logits[0]
        logits_from_embeds = model(inputs_embeds=merged[None], use_cache=False).logits[0]
    assert torch.allclose(logits, logits_from_embeds, atol=1e-5, rtol=0)
    expanded = processor.tokenizer.decode(ids.tolist(), skip_special_tokens=False)
    tensors = {
        "pixel_values": pv.numpy(),                         # [n_images, 3, 64, 64]
        "input_ids": ids.to(torch.int32).numpy(),           # [T]
        "patch_embeddings": conv.numpy(),                   # [n_images, 64, 32]  conv only
        "vision_embeddings": emb.numpy(),                   # [n_images, 64, 32]  conv + positions
        "vision_hidden": vis.numpy(),                       # [n_images, 64, 32]  after post_layernorm
        "pixel_shuffle": shuffled.numpy(),                  # [n_images, 16, 128]
        "image_features": feats.numpy(),                    # [n_images, 16, 64]  connector output
        "inputs_embeds": merged.numpy(),                    # [T, 64]
        "logits": logits.numpy(),                           # [T, 320]
    }
    info = {
        "chat_prompt": prompt,
        "expanded_prompt": expanded,
        "input_ids": ids.tolist(),
        "n_tokens": int(ids.numel()),
        "n_images": int(n_img),
        "image_token_positions": [int(i) for i in torch.nonzero(ids == IMAGE_TOKEN_ID).flatten()],
        "processor_kwargs": images_kwargs,
        "logits_abs_max": float(logits.abs().max()),
        "logits_std": float(logits.std()),
        "last_top5": [[int(i), float(logits[-1, i])] for i in torch.argsort(-logits[-1], stable=True)[:5]],
    }
    return tensors, info


def write_text_gguf(path, sd, tokenizer):
    """What convert_hf_to_gguf.py (LlamaModel, --outtype f32) writes for the text model."""
    import gguf

    def permute(w, n_head):                      # LlamaModel.permute
        return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

    w = gguf.GGUFWriter(path, "llama")
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name("Tiny Idefics3 Random")
    w.add_block_count(TEXT_LAYERS)
    w.add_context_length(CONTEXT)
    w.add_embedding_length(TEXT_DIM)
    w.add_feed_forward_length(TEXT_FFN)
    w.add_head_count(TEXT_HEADS)
    w.add_head_count_kv(TEXT_KV_HEADS)
    w.add_rope_freq_base(ROPE_THETA)
    w.add_layer_norm_rms_eps(RMS_EPS)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_vocab_size(VOCAB_SIZE)
    w.add_rope_dimension_count(HEAD_DIM)
    # tokenizer (TextModel._set_vocab_gpt2)
    inv = {i: t for t, i in tokenizer.get_vocab().items()}
    tokens = [inv[i] for i in range(VOCAB_SIZE)]
    types = [gguf.TokenType.CONTROL if t in BASE_SPECIALS or t in ADDED else gguf.TokenType.NORMAL for t in tokens]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(["\u010a \u010a"])
    w.add_bos_token_id(TOKEN_ID["<|im_start|>"])
    w.add_eos_token_id(TOKEN_ID["<end_of_utterance>"])
    w.add_unk_token_id(TOKEN_ID["<|endoftext|>"])
    w.add_pad_token_id(TOKEN_ID["<|im_end|>"])
    w.add_add_bos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    names = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
             "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down"}
    out = {"token_embd.weight": sd["model.text_model.embed_tokens.weight"],
           "output_norm.weight": sd["model.text_model.norm.weight"],
           "output.weight": sd["lm_head.weight"]}
    for i in range(TEXT_LAYERS):
        for hf, gg in names.items():
            t = sd[f"model.text_model.layers.{i}.{hf}.weight"]
            if hf == "self_attn.q_proj":
                t = permute(t, TEXT_HEADS)
            elif hf == "self_attn.k_proj":
                t = permute(t, TEXT_KV_HEADS)
            out[f"blk.{i}.{gg}.weight"] = t
    for name in sorted(out):
        w.add_tensor(name, np.ascontiguousarray(out[name], dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return sorted(out)


def write_mmproj_gguf(path, sd):
    """What convert_hf_to_gguf.py --mmproj (SmolVLMModel, --outtype f32) writes."""
    import gguf

    w = gguf.GGUFWriter(path, "clip")
    w.add_type(gguf.GGUFType.MMPROJ)
    w.add_name("Tiny Idefics3 Random")
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_clip_has_vision_encoder(True)
    w.add_vision_projection_dim(TEXT_DIM)
    w.add_vision_image_size(VISION["image_size"])
    w.add_vision_patch_size(VISION["patch_size"])
    w.add_vision_embedding_length(VISION["hidden_size"])
    w.add_vision_feed_forward_length(VISION["intermediate_size"])
    w.add_vision_block_count(VISION["num_hidden_layers"])
    w.add_vision_head_count(VISION["num_attention_heads"])
    w.add_vision_image_mean([0.5, 0.5, 0.5])
    w.add_vision_image_std([0.5, 0.5, 0.5])
    w.add_clip_projector_type(gguf.VisionProjectorType.IDEFICS3)
    w.add_vision_attention_layernorm_eps(VISION["layer_norm_eps"])
    w.add_vision_projector_scale_factor(SCALE_FACTOR)
    w.add_vision_use_gelu(True)
    w.add_vision_preproc_image_size(LONGEST_EDGE)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.MMPROJ, VISION["num_hidden_layers"])
    out = {}
    for name, t in sd.items():
        if not (name.startswith("model.vision_model.") or name.startswith("model.connector.")):
            continue
        new = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
        assert new is not None, name
        out[new] = t
    for name in sorted(out):
        w.add_tensor(name, np.ascontiguousarray(out[name], dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return sorted(out)


def check_llama_cpp(out, tensors, cases):
    """Loads the GGUF pair with llama.cpp (llama-cpp-python's libllama + libmtmd) and compares:
    its tokenization of the expanded prompts, its logits for the reference inputs_embeds (fp16 KV
    cache, as llama.cpp runs by default), and its image embeddings for the same image."""
    import ctypes
    if version("llama-cpp-python") != "0.3.36":
        sys.exit(f"--check-llama-cpp expects llama-cpp-python==0.3.36, found {version('llama-cpp-python')}")
    import llama_cpp as L
    from llama_cpp import mtmd_cpp as M

    L.llama_backend_init()
    mp = L.llama_model_default_params()
    model = L.llama_model_load_from_file(os.path.join(out, "tiny-idefics3-F32.gguf").encode(), mp)
    assert model, "llama.cpp could not load the text GGUF"
    vocab = L.llama_model_get_vocab(model)
    n_vocab = L.llama_vocab_n_tokens(vocab)

    def tokenize(text, parse_special=True):
        b = text.encode()
        buf = (L.llama_token * 4096)()
        n = L.llama_tokenize(vocab, b, len(b), buf, 4096, False, parse_special)
        return list(buf[:n])


    for case, info in cases.items():
        ids = tokenize(info["expanded_prompt"])
        print(f"llama.cpp tokenization of the expanded {case} prompt matches: {ids == info['input_ids']}")
    # (type_k = type_v, flash_attn_type): fp32 cache; fp16 cache without flash attention (what the
    # Swift engine reproduces); llama.cpp's defaults (fp16 cache, flash attention auto = on, CPU).
    for label, kv, fa in (("f32 KV, no FA", 0, 0), ("f16 KV, no FA", 1, 0), ("defaults", None, None)):
        cp = L.llama_context_default_params()
        cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_threads, cp.n_threads_batch = 256, 256, 256, 2, 2
        if kv is not None:
            cp.type_k = cp.type_v = kv
            cp.flash_attn_type = fa
        ctx = L.llama_init_from_model(model, cp)
        for case in cases:
            ref = tensors[f"{case}.logits"]
            got = llama_cpp_logits_for_embeds(L, ctx, tensors[f"{case}.inputs_embeds"], n_vocab)
            print(f"llama.cpp logits from reference inputs_embeds, {label}, {case}: max |diff| all rows "
                  f"{np.abs(got - ref).max():.3e}, last row {np.abs(got[-1] - ref[-1]).max():.3e}; "
                  f"|ref| max {np.abs(ref).max():.3f}")
        L.llama_free(ctx)

    params = M.mtmd_context_params_default()
    params.use_gpu = False
    params.n_threads = 2
    params.print_timings = False
    params.warmup = False
    mctx = M.mtmd_init_from_file(os.path.join(out, "mmproj-tiny-idefics3-F32.gguf").encode(), model, params)
    assert mctx, "mtmd could not load the mmproj GGUF"
    marker = M.mtmd_default_marker().decode()
    for case, info in cases.items():
        img = np.array(Image.open(os.path.join(out, f"image_{case}.png")).convert("RGB"))
        h, w, _ = img.shape
        data = (ctypes.c_uint8 * img.size).from_buffer_copy(img.tobytes())
        bitmap = M.mtmd_bitmap_init(w, h, data)
        text = M.mtmd_input_text()
        prompt = info["chat_prompt"].replace("<image>", marker).encode()
        text.text, text.text_len, text.add_special, text.parse_special = prompt, len(prompt), False, True
        chunks = M.mtmd_input_chunks_init()
        bitmaps = (M.mtmd_bitmap_p_ctypes * 1)(bitmap)
        assert M.mtmd_tokenize(mctx, chunks, ctypes.byref(text), bitmaps, 1) == 0
        seq, embeds = [], []
        for i in range(M.mtmd_input_chunks_size(chunks)):
            ch = M.mtmd_input_chunks_get(chunks, i)
            if M.mtmd_input_chunk_get_type(ch) == 0:
                n = ctypes.c_size_t()
                p = M.mtmd_input_chunk_get_tokens_text(ch, ctypes.byref(n))
                seq += [int(p[j]) for j in range(n.value)]
            else:
                n = M.mtmd_input_chunk_get_n_tokens(ch)
                assert M.mtmd_encode_chunk(mctx, ch) == 0
                e = np.ctypeslib.as_array(M.mtmd_get_output_embd(mctx), shape=(n * TEXT_DIM,)).reshape(n, TEXT_DIM).copy()
                embeds.append(e)
                seq += [IMAGE_TOKEN_ID] * n
        print(f"mtmd sequence for {case} matches the processor's ids: {seq == info['input_ids']} "
              f"({len(seq)} vs {len(info['input_ids'])} tokens; image chunks of {[len(e) for e in embeds]} tokens)")
        if seq != info["input_ids"]:
            print("  mtmd:", seq)
            print("  hf:  ", info["input_ids"])
        feats = tensors[f"{case}.image_features"].reshape(-1, IMAGE_SEQ_LEN, TEXT_DIM)
        flat = np.concatenate(embeds).reshape(-1, IMAGE_SEQ_LEN, TEXT_DIM)
        for k, e in enumerate(flat):
            diffs = [float(np.abs(e - f).max()) for f in feats]
            print(f"  llama.cpp image block {k}: max |diff| to HF crop {int(np.argmin(diffs))} = {min(diffs):.3e} "
                  f"(to each crop: {', '.join(f'{d:.2e}' for d in diffs)}), |feat| max {np.abs(e).max():.3f}")
        M.mtmd_input_chunks_free(chunks)
        M.mtmd_bitmap_free(bitmap)
    M.mtmd_free(mctx)
    L.llama_model_free(model)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check-llama-cpp", action="store_true", help="load the GGUF pair in llama.cpp and compare")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    check_versions(PINNED)
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    from safetensors.numpy import save_file
    from transformers import Idefics3ForConditionalGeneration

    tokenizer = build_tokenizer()
    processor = build_processor(tokenizer)
    config = build_config()
    model = Idefics3ForConditionalGeneration(config).eval()
    randomize(model)

    out = args.out
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    hf = os.path.join(out, "hf")
    model.save_pretrained(hf, safe_serialization=True)
    processor.save_pretrained(hf)

    img_split, img_single = make_images()
    for name, img in (("image_split.png", img_split), ("image_single.png", img_single)):
        with open(os.path.join(out, name), "wb") as f:
            f.write(png_bytes(img))
    # Reload the images from the PNG files, as a user's would be.
    img_split = Image.open(os.path.join(out, "image_split.png")).convert("RGB")
    img_single = Image.open(os.path.join(out, "image_single.png")).convert("RGB")

    # The reference comes from the model reloaded from disk, i.e. from exactly the saved weights.
    model = Idefics3ForConditionalGeneration.from_pretrained(hf, dtype=torch.float32,
                                                             attn_implementation="eager").eval()
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}

    # Record which vision position ids the installed transformers uses for a full crop, then
    # switch to the original ones (see original_position_ids).
    n_side = VISION["image_size"] // VISION["patch_size"]
    seen = {}
    hook = model.model.vision_model.embeddings.position_embedding.register_forward_hook(
        lambda mod, inp, out: seen.update(ids=inp[0].clone()))
    with torch.no_grad():
        model.model.vision_model(pixel_values=torch.zeros(1, 3, VISION["image_size"], VISION["image_size"]))
    hook.remove()
    stock_ids = seen["ids"][0].tolist()
    patch_vision_positions()
    full = torch.ones((1, n_side, n_side), dtype=torch.bool)
    assert original_position_ids(full, n_side)[0].tolist() == list(range(n_side * n_side))

    tensors, cases = {}, {}
    for case, img, kwargs in (("split", img_split, {}),
                              ("single", img_single, {"size": {"longest_edge": CROP_EDGE}})):
        t, info = run_case(model, processor, img, kwargs)
        tensors.update({f"{case}.{k}": v for k, v in t.items()})
        cases[case] = info
    # The global image of the split case, as the processor resized it (uint8, HWC), for testing a
    # Lanczos resize on its own.
    global_u8 = np.array(img_split.resize((CROP_EDGE, CROP_EDGE), resample=Image.Resampling.LANCZOS))
    tensors["split.global_image_u8"] = global_u8
    expect = (global_u8.astype(np.float32).transpose(2, 0, 1) / np.float32(255) - np.float32(0.5)) / np.float32(0.5)
    assert np.abs(expect - tensors["split.pixel_values"][-1]).max() < 1e-6

    save_file({k: np.ascontiguousarray(v) for k, v in sorted(tensors.items())},
              os.path.join(out, "reference.safetensors"), metadata={"generator": "tools/make_vlm_fixtures.py"})
    text_names = write_text_gguf(os.path.join(out, "tiny-idefics3-F32.gguf"), sd, tokenizer)
    mmproj_names = write_mmproj_gguf(os.path.join(out, "mmproj-tiny-idefics3-F32.gguf"), sd)

    ref = {
        "generator": "tools/make_vlm_fixtures.py",
        "reference": "transformers " + PINNED["transformers"] + ", torch " + PINNED["torch"] + ", float32, eager attention",
        "seed": SEED,
        "config": {"vision": VISION, "scale_factor": SCALE_FACTOR, "image_seq_len": IMAGE_SEQ_LEN,
                   "text": {"dim": TEXT_DIM, "ffn": TEXT_FFN, "layers": TEXT_LAYERS, "heads": TEXT_HEADS,
                            "kv_heads": TEXT_KV_HEADS, "head_dim": HEAD_DIM, "rope_theta": ROPE_THETA,
                            "rms_norm_eps": RMS_EPS, "vocab_size": VOCAB_SIZE, "tied_output": False},
                   "processor": {"size.longest_edge": LONGEST_EDGE, "max_image_size.longest_edge": CROP_EDGE,
                                 "resample": "PIL LANCZOS", "rescale_factor": "1/255",
                                 "image_mean": [0.5] * 3, "image_std": [0.5] * 3}},
        "vision_position_ids": {
            "used": "0..63, row-major (transformers <= 4.54.1 and llama.cpp); stock " + PINNED["transformers"]
                    + " is patched, see huggingface/transformers#41190",
            "stock_transformers_ids": stock_ids},
        "token_ids": dict(sorted(TOKEN_ID.items(), key=lambda kv: kv[1])),
        "byte_token_offset": BYTE_OFFSET,
        "merged_tokens": {MERGED: BASE_VOCAB - 1},
        "chat_template": CHAT_TEMPLATE,
        "cases": cases,
        "reference_tensors": {k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in sorted(tensors.items())},
        "gguf_tensors": {"tiny-idefics3-F32.gguf": text_names, "mmproj-tiny-idefics3-F32.gguf": mmproj_names},
    }
    write_reference(out, ref)
    for case, info in cases.items():
        print(f"{case}: {info['n_tokens']} tokens, {info['n_images']} images, "
              f"|logits| max {info['logits_abs_max']:.3f}, std {info['logits_std']:.3f}")

    if args.check_llama_cpp:
        check_llama_cpp(out, tensors, cases)


if __name__ == "__main__":
    main()
