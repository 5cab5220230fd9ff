#!/usr/bin/env python3
"""Golden token ids for the Swift SentencePiece-style tokenizer (GGUF `tokenizer.ggml.model` =
"llama": scores-based merges, "▁" for spaces, <0xNN> byte fallback), from llama.cpp itself.

Writes Tests/JarvisEngineTests/Fixtures/spm/:
  spm_llama.gguf  a Llama-2-style vocabulary (<unk> <s> </s>, a space before the text) with
                  Phi-3's turn tokens appended as control tokens, and a Phi-3 chat template.
  spm_phi3.gguf   the same, named for Phi-3: llama.cpp then drops white space after its special
                  tokens (but <unk>, <s>, <|endoftext|>).
  spm_gemma.gguf  the same pieces in Gemma's layout (<pad> <eos> <bos> <unk> <start_of_turn>
                  <end_of_turn> first, no space before the text), and a Gemma chat template.
  spm.json        for each vocabulary, llama.cpp's ids of every string of the shared corpus
                  (CORPUS and SPECIAL_OFF of tools/make_tokenizer_fixtures.py), i.e.
                  llama_tokenize(text, add_special=false, parse_special=...); and the prompts
                  llama.cpp's own chat templates (llama_chat_apply_template: "phi3", "gemma")
                  render for a few conversations, with their ids (parse_special=true).
  phi3_spm.gguf, gemma3_spm.gguf
                  the tiny phi3 and gemma3 models of tools/make_family_fixtures.py with these
                  vocabularies and chat templates instead of their byte-level test vocabulary
                  (new random token embeddings), for jarvisd end to end (FamilyModelTests).

The pieces come from a SentencePiece BPE model (byte_fallback) trained here, with the pinned
`sentencepiece`, on the corpus itself; characters it leaves out fall back to bytes. Both files
are tensor-less GGUFs (vocabulary only), written with llama.cpp's own gguf-py.

Pinned reference: sentencepiece==0.2.3 in ~/.cache/jarvis/family-venv (see
tools/make_family_fixtures.py), and llama.cpp of llama-cpp-python==0.3.36, unpacked and built by
tools/build_llama_bench.sh; a small C helper linked against its static libraries tokenizes.
Usage:
    ~/.cache/jarvis/family-venv/bin/python tools/make_spm_tokenizer_fixtures.py
"""
import ast
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

PINS = {"sentencepiece": "0.2.3"}
for name, pin in PINS.items():
    if version(name) != pin:
        sys.exit(f"expected {name}=={pin}, found {version(name)}")
import sentencepiece as spm  # noqa: E402

LLAMA_CPP_VERSION = "0.3.36"
CACHE = Path(os.environ.get("JARVIS_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jarvis")
LLAMA_CPP = CACHE / f"llama.cpp-{LLAMA_CPP_VERSION}"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/JarvisEngineTests/Fixtures/spm"
FAMILIES = ROOT / "Tests/JarvisEngineTests/Fixtures/families"
sys.path.insert(0, str(LLAMA_CPP / "src/gguf-py"))
import gguf  # noqa: E402


def shared_corpus():
    """CORPUS and SPECIAL_OFF from make_tokenizer_fixtures.py (read, not imported: that script
    needs llama-cpp-python)."""
    tree = ast.parse((ROOT / "tools/make_tokenizer_fixtures.py").read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in ("CORPUS", "SPECIAL_OFF"):
            found[node.targets[0].id] = eval(compile(ast.Expression(node.value), "corpus", "eval"), {})
    return found["CORPUS"], found["SPECIAL_OFF"]


# Strings that only a SentencePiece vocabulary treats specially: its own markers and byte tokens
# written out, spaces at the ends, and the turn tokens of Phi-3 and Gemma.
EXTRA = [
    " leading space", "trailing space ", "  two leading", "\u2581already\u2581escaped", "<0x41><0xE2>",
    "<s>", "</s>", "<unk>", "<bos>", "<eos>", "<pad>", "text<s>text", "a</s>b",
    "<|user|>\nHi<|end|>\n<|assistant|>\n", "<|system|> sys<|end|>", "<|end|>",
    "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n", "<start_of_turn>", "<start_of_turn model>",
    "\n", "\n\n", "   ", "\t", "x\n y\n\n  z",
]

PHI3_SPECIALS = ["<|endoftext|>", "<|assistant|>", "<|system|>", "<|end|>", "<|user|>"]
GEMMA_HEAD = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]

# Jinja stand-ins that carry each family's markers (the engine recognises templates by these).
PHI3_TEMPLATE = ("{% for message in messages %}{{'<|' + message['role'] + '|>' + '\\n' + message['content'] + '<|end|>\\n'}}"
                 "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}")
GEMMA_TEMPLATE = ("{{ bos_token }}{% for message in messages %}{% set role = 'model' if message['role'] == 'assistant' "
                  "else message['role'] %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
                  "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}")

CONVERSATIONS = [
    [("user", "What colour is Rex's collar?")],
    [("system", "You are Jarvis. Answer from the notes."), ("user", "Where does Anna live?")],
    [("system", "Be brief."), ("user", "Hi <|end|> <end_of_turn> there"), ("assistant", "Hello!"), ("user", "  Und jetzt?  ")],
]


def train(texts):
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model, model_type="bpe", vocab_size=900, hard_vocab_limit=False,
        byte_fallback=True, character_coverage=0.98, split_digits=True, allow_whitespace_only_pieces=True,
        remove_extra_whitespaces=False, normalization_rule_name="identity", add_dummy_prefix=True, num_threads=1,
        max_sentence_length=100000, minloglevel=2)
    return spm.SentencePieceProcessor(model_proto=model.getvalue())


def pieces(sp):
    """(text, score, GGUF token type) of every ordinary piece, the model's own specials left out."""
    out = []
    for i in range(sp.get_piece_size()):
        if sp.is_unknown(i) or sp.is_control(i):
            continue
        kind = gguf.TokenType.BYTE if sp.is_byte(i) else gguf.TokenType.NORMAL
        out.append((sp.id_to_piece(i), sp.get_score(i), kind))
    return out


def write_vocab(path, name, tokens, bos, eos, unk, space_prefix, template):
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(name)
    w.add_context_length(256)
    w.add_embedding_length(32)
    w.add_block_count(1)
    w.add_feed_forward_length(64)
    w.add_head_count(2)
    w.add_layer_norm_rms_eps(1e-5)
    add_tokenizer(w, tokens, bos, eos, unk, space_prefix, template)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_chat_model(family_gguf, path, seed, tokens, bos, eos, unk, space_prefix, template):
    """A family's tiny model (tools/make_family_fixtures.py) given this vocabulary and chat
    template, for jarvisd end to end: its metadata and weights as they are, but the token
    embeddings (tied output) new random rows (sd 0.25) for the new vocabulary size."""
    import numpy as np
    reader = gguf.GGUFReader(str(family_gguf))
    arch = reader.fields["general.architecture"].contents()
    old_vocab = len(reader.fields["tokenizer.ggml.tokens"].contents())
    w = gguf.GGUFWriter(str(path), arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key.startswith("tokenizer.") or key == "general.architecture":
            continue
        w.add_key_value(key, field.contents(), field.types[0], field.types[1] if len(field.types) > 1 else None)
    add_tokenizer(w, tokens, bos, eos, unk, space_prefix, template)
    rng = np.random.default_rng(seed)
    for t in reader.tensors:
        data = np.array(t.data)
        if data.ndim == 2 and data.shape[0] == old_vocab:
            data = (0.25 * rng.standard_normal((len(tokens), data.shape[1]))).astype(np.float32)
        w.add_tensor(t.name, data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def add_tokenizer(w, tokens, bos, eos, unk, space_prefix, template):
    w.add_tokenizer_model("llama")
    w.add_token_list([t for t, _, _ in tokens])
    w.add_token_scores([s for _, s, _ in tokens])
    w.add_token_types([int(k) for _, _, k in tokens])
    w.add_bos_token_id(bos)
    w.add_eos_token_id(eos)
    w.add_unk_token_id(unk)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(space_prefix)
    w.add_chat_template(template)


HELPER = r"""
#include "llama.h"
#include <cstdio>
#include <cstdint>
#include <string>
#include <vector>
// usage: spm_tokenize VOCAB.gguf CASES
// CASES: records of (u8 kind, u32 length, bytes). kind 0/1: tokenize with parse_special 0/1.
// kind 2: a chat template name, followed by messages (kind 3: role, then kind 4: content) and
// kind 5 (render with the assistant prefix, then tokenize with parse_special).
// Prints one line per tokenized case: ids; for a rendered prompt, its hex first.
int main(int argc, char **argv) {
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) return 1;
    const llama_vocab *vocab = llama_model_get_vocab(model);
    FILE *f = fopen(argv[2], "rb");
    std::string tmpl, role;
    std::vector<std::string> roles, contents;
    auto tokenize = [&](const std::string &text, bool special) {
        std::vector<llama_token> ids(text.size() * 2 + 8);
        int n = llama_tokenize(vocab, text.data(), (int)text.size(), ids.data(), (int)ids.size(), false, special);
        if (n < 0) { fprintf(stderr, "too many tokens\n"); exit(1); }
        for (int i = 0; i < n; i++) printf("%d ", ids[i]);
        printf("\n");
    };
    uint8_t kind;
    while (fread(&kind, 1, 1, f) == 1) {
        uint32_t len; fread(&len, 4, 1, f);
        std::string s(len, '\0'); if (len) fread(&s[0], 1, len, f);
        if (kind <= 1) tokenize(s, kind == 1);
        else if (kind == 2) { tmpl = s; roles.clear(); contents.clear(); }
        else if (kind == 3) roles.push_back(s);
        else if (kind == 4) contents.push_back(s);
        else {
            std::vector<llama_chat_message> msgs;
            for (size_t i = 0; i < roles.size(); i++) msgs.push_back({roles[i].c_str(), contents[i].c_str()});
            std::vector<char> buf(65536);
            int n = llama_chat_apply_template(tmpl.c_str(), msgs.data(), msgs.size(), true, buf.data(), (int)buf.size());
            if (n < 0) { fprintf(stderr, "template %s failed\n", tmpl.c_str()); return 1; }
            std::string out(buf.data(), n);
            for (unsigned char c : out) printf("%02x", c);
            printf("\n");
            tokenize(out, true);
        }
    }
    llama_model_free(model);
    return 0;
}
"""


def helper(work):
    build, src = LLAMA_CPP / "build", LLAMA_CPP / "src"
    libs = [build / "src/libllama.a", build / "ggml/src/libggml.a", build / "ggml/src/libggml-cpu.a", build / "ggml/src/libggml-base.a"]
    missing = [str(l) for l in libs if not l.is_file()]
    if missing:
        sys.exit(f"missing {missing}: run tools/build_llama_bench.sh")
    cpp, exe = Path(work) / "spm_tokenize.cpp", Path(work) / "spm_tokenize"
    cpp.write_text(HELPER)
    subprocess.run(["g++", "-O2", "-std=c++17", str(cpp), "-I", str(src / "include"), "-I", str(src / "ggml/include"),
                    *map(str, libs), "-fopenmp", "-lpthread", "-ldl", "-lm", "-o", str(exe)], check=True)
    return exe


def record(kind, s):
    b = s.encode()
    return struct.pack("<BI", kind, len(b)) + b


def run(exe, work, vocab_path, cases, template, conversations):
    data = b"".join(record(1 if special else 0, text) for text, special in cases)
    for conv in conversations:
        data += record(2, template) + b"".join(record(3, r) + record(4, c) for r, c in conv) + record(5, "")
    path = Path(work) / "cases.bin"
    path.write_bytes(data)
    lines = subprocess.run([str(exe), str(vocab_path), str(path)], check=True, capture_output=True).stdout.decode().split("\n")
    ids = [[int(t) for t in line.split()] for line in lines[:len(cases)]]
    out_cases = [{"text": t, "special": s, "ids": i} for (t, s), i in zip(cases, ids)]
    rendered = []
    rest = lines[len(cases):]
    for k, conv in enumerate(conversations):
        text = bytes.fromhex(rest[2 * k]).decode()
        rendered.append({"messages": [{"role": r, "content": c} for r, c in conv], "rendered": text,
                         "ids": [int(t) for t in rest[2 * k + 1].split()]})
    return out_cases, rendered


def main():
    corpus, special_off = shared_corpus()
    corpus = corpus + [t for t in EXTRA if t not in corpus]
    sp = train([t for t in corpus if t])
    ps = pieces(sp)
    OUT.mkdir(parents=True, exist_ok=True)
    llama_tokens = ([("<unk>", 0.0, gguf.TokenType.UNKNOWN), ("<s>", 0.0, gguf.TokenType.CONTROL), ("</s>", 0.0, gguf.TokenType.CONTROL)]
                    + ps + [(t, 0.0, gguf.TokenType.CONTROL) for t in PHI3_SPECIALS])
    gemma_tokens = ([(t, 0.0, gguf.TokenType.UNKNOWN if t == "<unk>" else gguf.TokenType.CONTROL) for t in GEMMA_HEAD] + ps)
    vocabs = {
        "spm_llama": dict(tokens=llama_tokens, bos=1, eos=2, unk=0, space_prefix=True, template=PHI3_TEMPLATE, chat="phi3", family="phi3"),
        # Named for Phi-3, which makes llama.cpp drop white space after its special tokens.
        "spm_phi3": dict(tokens=llama_tokens, bos=1, eos=2, unk=0, space_prefix=True, template=PHI3_TEMPLATE, chat="phi3"),
        "spm_gemma": dict(tokens=gemma_tokens, bos=2, eos=1, unk=3, space_prefix=False, template=GEMMA_TEMPLATE, chat="gemma", family="gemma3"),
    }
    cases = [(t, True) for t in corpus] + [(t, False) for t in special_off + EXTRA]
    result = {"generator": "tools/make_spm_tokenizer_fixtures.py",
              "reference": f"llama.cpp of llama-cpp-python {LLAMA_CPP_VERSION}, sentencepiece {PINS['sentencepiece']}",
              "vocabularies": {}}
    with tempfile.TemporaryDirectory() as work:
        exe = helper(work)
        for name, v in vocabs.items():
            path = OUT / f"{name}.gguf"
            write_vocab(path, name.replace("_", "-"), v["tokens"], v["bos"], v["eos"], v["unk"], v["space_prefix"], v["template"])
            if "family" in v:
                model = OUT / f"{v['family']}_spm.gguf"
                write_chat_model(FAMILIES / f"{v['family']}.gguf", model, 61, v["tokens"], v["bos"], v["eos"], v["unk"],
                                 v["space_prefix"], v["template"])
                print(f"{model.name}: {model.stat().st_size} bytes")
            out_cases, rendered = run(exe, work, path, cases, v["chat"], CONVERSATIONS)
            result["vocabularies"][name] = {"chat_template": v["chat"], "cases": out_cases, "prompts": rendered}
            fallback = sum(1 for c in out_cases for i in c["ids"] if v["tokens"][i][2] == gguf.TokenType.BYTE)
            print(f"{name}: {len(v['tokens'])} tokens, {path.stat().st_size} bytes, {len(out_cases)} cases, "
                  f"{fallback} byte-fallback tokens")
    with open(OUT / "spm.json", "w") as f:
        f.write(json.dumps({k: v for k, v in result.items() if k != "vocabularies"}, ensure_ascii=False)[:-1] + ', "vocabularies": {\n')
        names = list(result["vocabularies"])
        for n, name in enumerate(names):
            voc = result["vocabularies"][name]
            f.write(f' "{name}": {{"chat_template": "{voc["chat_template"]}", "prompts": {json.dumps(voc["prompts"], ensure_ascii=False)}, "cases": [\n')
            f.write(",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in voc["cases"]))
            f.write("\n ]}" + ("," if n + 1 < len(names) else "") + "\n")
        f.write("}}\n")


if __name__ == "__main__":
    main()
