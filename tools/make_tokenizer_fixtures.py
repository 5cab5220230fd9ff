#!/usr/bin/env python3
"""Golden token ids for the Swift BPE tokenizer, from llama.cpp itself.

Writes Tests/JarvisEngineTests/Fixtures/tokenizer_smollm2.json: the ids llama.cpp gives for
every string of the corpus below with the shipped SmolLM2 vocabulary, i.e.
llama_tokenize(text, add_special=false, parse_special=...). The same vocabulary is also
re-labelled with the other pre-tokenizers the engine implements (gpt-2, llama-bpe, qwen2,
gpt-4o) by rewriting `tokenizer.ggml.pre` in a tensor-less copy of the file's metadata, so that
each pre-tokenizer is checked against llama.cpp, not against a reading of its source.

Requires the pinned reference implementation:
    pip install llama-cpp-python==0.3.36
Usage:
    python3 tools/make_tokenizer_fixtures.py [path/to/SmolLM2-135M-Instruct.Q4_1.gguf]
The model is looked up in $JARVIS_MODELS, then ~/.local/share/jarvis/models.
"""

import json
import os
import struct
import sys
import tempfile

import llama_cpp

PINNED_VERSION = "0.3.36"
MODEL_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "JarvisEngineTests", "Fixtures", "tokenizer_smollm2.json")

# Pre-tokenizers besides the model's own ("smollm") checked on the same vocabulary.
OTHER_PRE_TOKENIZERS = ["gpt-2", "llama-bpe", "qwen2", "gpt-4o"]

# --------------------------------------------------------------------------------------------
# The corpus. Each entry is tokenized with special tokens parsed; SPECIAL_OFF below also
# without.

CORPUS = [
    # empty and plain English
    "",
    "a",
    "Hello",
    "Hello world",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "Jarvis is a personal assistant that runs on your own machine.",
    "What did I say about the blue bicycle last week?",
    "Remember that my sister's birthday is on the 3rd of May.",
    "I think, therefore I am.",
    "To be, or not to be: that is the question.",
    "Once upon a time, in a land far, far away, there lived a tokenizer.",
    "antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "supercalifragilisticexpialidocious and floccinaucinihilipilification",
    "camelCaseIdentifier snake_case_identifier kebab-case-identifier SCREAMING_CASE",
    "iPhone eBay McDonald's O'Neill",
    # case changes inside words (GPT-4o's pre-tokenizer splits at them)
    "HTTPServer XMLHttpRequest getHTTPResponseCode ABCdef abcDEF aBcDeF",
    "ÉCOLE école Élan naïve ÀBc aÉb ΑΘΗΝΑ Αθήνα ǅemal",
    "e\u0301 a\u0300b cafe\u0301s",
    "path/to/file/ a//b\n/ ?/\n",
    "e.g. i.e. etc. vs. Mr. Mrs. Dr. St.",
    "a b c d e f g h i j k l m n o p q r s t u v w x y z",
    "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z",
    # punctuation
    "!",
    "?!",
    "...",
    "…",
    "Wait... what?!",
    "(parentheses) [brackets] {braces} <angles>",
    "\"double quotes\" 'single quotes' `backticks`",
    "“curly double” ‘curly single’ «guillemets» „low“",
    "em—dash en–dash hyphen-minus − minus",
    "@user #hashtag $100 50% a&b *star* ~tilde^ |pipe| \\backslash/",
    "!!!???",
    "a,b;c:d.e!f?g",
    " , . ; :",
    "-- --- ---- ===== ***** _____",
    "<>=!+-*/%&|^~",
    # contractions
    "it's",
    "It's",
    "IT'S",
    "we're they're you're",
    "WE'RE THEY'RE",
    "I'll you'll she'll",
    "I'LL",
    "I've we've",
    "I'VE",
    "I'm I'M",
    "I'd you'd",
    "don't can't won't shouldn't",
    "DON'T CAN'T",
    "John's car's wheel's",
    "JOHN'S",
    "'s 't 're 've 'm 'll 'd",
    "'S 'T 'RE 'VE 'M 'LL 'D",
    "'tis 'twas rock'n'roll",
    "the '90s and the 2000's",
    "he said 'hello'",
    "''",
    "'",
    "x'",
    "'x",
    "'re'",
    "it’s (curly apostrophe)",
    # accents and Latin extensions
    "café",
    "naïve résumé façade",
    "Crème brûlée à la mode",
    "Ångström Øresund Æsir",
    "straße Straße STRASSE",
    "Łódź Gdańsk Kraków",
    "Ελληνικά: καλημέρα κόσμε",
    "İstanbul ıi",
    "e\u0301 (e + combining acute)",
    "a\u0308\u0301 stacked combining marks",
    "ﬁ ﬂ ligatures",
    "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ",
    # emoji
    "😀",
    "😀😃😄",
    "I love pizza 🍕!",
    "👍🏽",
    "👨‍👩‍👧‍👦",
    "👩🏻‍💻 working",
    "🏳️‍🌈",
    "🇫🇷🇩🇪🇯🇵",
    "flags: 🇺🇸 🇬🇧",
    "❤️",
    "☃ ★ ♥ ✓ ✗",
    "1️⃣ 2️⃣",
    "🧑‍🚀🚀 to the moon",
    "emoji😀inside😀words",
    # CJK
    "你好",
    "你好，世界！",
    "我喜欢吃苹果。",
    "こんにちは世界",
    "カタカナとひらがな",
    "東京タワーは333メートルです。",
    "안녕하세요 세계",
    "한국어 텍스트와 English mixed",
    "中文English混合123",
    # other scripts
    "مرحبا بالعالم",
    "السلام عليكم ورحمة الله",
    "العدد ١٢٣ بالأرقام العربية",
    "नमस्ते दुनिया",
    "हिन्दी में एक वाक्य।",
    "संख्या १२३४",
    "Привет, мир!",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "МОСКВА",
    "שלום עולם",
    "สวัสดีชาวโลก",
    "Γειά σου Κόσμε",
    "ሰላም ልዑል",
    "ᚠᚢᚦᚨᚱᚲ",
    # numbers
    "1",
    "12",
    "123",
    "1234",
    "12345",
    "1234567",
    "1234567890123456789",
    "3.14159",
    "-42",
    "+1 (555) 123-4567",
    "2026-11-27",
    "12:30:45",
    "1,000,000",
    "1.000.000,50",
    "1e10 6.02e23 0x1F 0b1010 0o777",
    "v1.2.3",
    "$19.99",
    "100%",
    "4th 21st 32nd 43rd",
    "room 101, floor 7",
    "a1b2c3",
    "abc123def456",
    " 1 2 3",
    "  12  34",
    "²³ ½ ¾ Ⅻ ⅷ",
    "٠١٢٣٤٥٦٧٨٩",
    "०१२३४५६७८९",
    "１２３",
    "①②③",
    # whitespace
    " ",
    "  ",
    "   ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "\r\n\r\n",
    " \n ",
    "\t\t\n",
    "     \n\n\n     ",
    " leading space",
    "  two leading spaces",
    "trailing space ",
    "trailing spaces   ",
    "multiple   spaces   between   words",
    "tab\tseparated\tvalues",
    "line one\nline two\nline three",
    "windows\r\nline\r\nendings",
    "mixed \t \n whitespace",
    "word\n\n\nword",
    "a \nb",
    "a  \n  b",
    "a\n  b",
    "end with newline\n",
    "\nstart with newline",
    "indent:\n    four\n\teight",
    "non\u00a0breaking\u00a0space",
    "ideographic\u3000space",
    "em\u2003space thin\u2009space",
    "next\u0085line",
    "line\u2028separator para\u2029separator",
    "zero\u200bwidth\u200cjoiner\u200dhere",
    "vertical\x0btab form\x0cfeed",
    "a" + " " * 40 + "b",
    "Hi!\n\nThere",
    "end.\r\n",
    "?!\n\n\n",
    "  \t\n x",
    "x \n\n y",
    "(\n)",
    " \r\n\t",
    "\n" * 12,
    # code
    "func encode(_ text: String) -> [Int32] {\n    return []\n}",
    "let x = 42 // the answer",
    "struct Point: Equatable { var x, y: Double }",
    "guard let value = optional else { throw EngineError(.invalidFile, \"bad\") }",
    "for (i, v) in array.enumerated() where v > 0 {\n\tprint(\"\\(i): \\(v)\")\n}",
    "@MainActor final class ViewModel: ObservableObject {}",
    "def main():\n    print(\"Hello, world!\")\n\nif __name__ == \"__main__\":\n    main()",
    "import numpy as np\nx = np.arange(10) ** 2",
    "lambda x: x[::-1]",
    "class Foo(Bar):\n    def __init__(self, *args, **kwargs):\n        super().__init__(*args, **kwargs)",
    "{\"name\": \"Jarvis\", \"version\": 1, \"tags\": [\"ai\", \"local\"], \"ok\": true, \"n\": null}",
    "[1, 2, 3, {\"a\": -1.5e-3}]",
    "{\n  \"nested\": {\n    \"key\": \"value\"\n  }\n}",
    "#!/bin/sh\nset -eu\nfor f in *.gguf; do echo \"$f\"; done",
    "ls -la ~/.local/share/jarvis/models | grep -E '\\.gguf$' > /tmp/out.txt 2>&1",
    "curl -sSL https://example.com/install.sh | bash -s -- --prefix=/usr/local",
    "if [[ -z \"${HOME:-}\" ]]; then exit 1; fi",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "<html><body><p class=\"x\">Hi</p></body></html>",
    "#include <stdio.h>\nint main(void) { return 0; }",
    "x += 1; y -= 2; z *= 3; w /= 4; a != b && c == d || e <= f",
    "https://github.com/ggml-org/llama.cpp/blob/master/src/llama-vocab.cpp#L42",
    "user@example.com",
    "C:\\Users\\Name\\Documents\\file.txt",
    "/usr/local/bin/jarvisd --socket=/run/user/1000/jarvis.sock",
    "$ swift build -c release && .build/release/jarvis-run --help",
    "```swift\nprint(1)\n```",
    "# Heading\n\n* item one\n* item two\n\n> quote",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    # special tokens
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are Jarvis.<|im_end|>\n<|im_start|>user\nWhat time is it?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|><|im_end|>",
    "<|im_start|><|im_start|><|im_start|>",
    "text before<|endoftext|>text after",
    " <|im_start|> spaced ",
    "<|im_start|>assistant\nSure! Here's the answer.<|im_end|><|endoftext|>",
    "<repo_name>jarvis<file_sep>main.swift<filename>x<gh_stars>10",
    "<issue_start>bug<issue_comment>fixed<issue_closed>",
    "<jupyter_start><jupyter_text>hi<jupyter_code>x=1<jupyter_output>1<jupyter_script><empty_output>",
    "<reponame>",
    "<|im_start",
    "im_start|>",
    "<|im_end",
    "<|im_start|",
    "|im_start|",
    "< |im_start| >",
    "<|IM_START|>",
    "<|im_start|><|im_end",
    "<<|im_start|>>",
    "<|<|im_end|>|>",
    "<|endoftext|",
    "<|endoftext>",
    "<|unknown_special|>",
    "<s></s><unk>",
    "[INST] hello [/INST]",
    "<|start_header_id|>user<|end_header_id|>",
    # mixed
    "Café ☕ costs €3.50 (≈$3.80) — cheap!",
    "Tokyo 東京 2026 🗼",
    "Meeting @ 10:30am w/ Dr. Müller re: Q3 results (+12.5% YoY)",
    "Ünïcödé wïth ëvërÿthïng and 123 numbers ⁴⁵⁶",
    "ALL CAPS with numbers 123 and symbols !@#",
    "mIxEd CaSe WoRdS",
    "hello\u00a0world\u2003and\tmore  spaces\n",
    "Ωmega ∑ ∫ √ ∞ ≠ ≤ ≥ ∂",
    "Math: E = mc² and a² + b² = c²",
    "→ ← ↑ ↓ ⇒ ⇔",
    "©2026 Jarvis™ — All rights reserved®",
    "tab\t\ttab  space\t \tmix",
    "'quoted' \"words\" and 's inside",
    "3 apples, 12 oranges and 123 bananas",
    "The year 1999 was followed by 2000.",
    "Temperatures: -5°C to +35°C",
    "\ufeffbyte order mark",
    "replacement \ufffd char",
    "private use \ue000\uf8ff",
    "unassigned \U000e0080 \u0378",
    "control \x01\x02\x7f chars",
    "null \x00 byte",
    "astral 𝕳𝖊𝖑𝖑𝖔 𝒜𝒷𝒸 𐍈",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "ab" * 40,
    "The " * 30,
    "abcdefghijklmnopqrstuvwxyz" * 4,
    "0123456789" * 5,
    "!?" * 25,
    "🎉" * 10,
    "你" * 20,
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.",
]

# Tokenized a second time with special tokens treated as plain text.
SPECIAL_OFF = [
    "",
    "Hello world",
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are Jarvis.<|im_end|>\n<|im_start|>assistant\n",
    "text before<|endoftext|>text after",
    "<repo_name>jarvis<file_sep>main.swift",
    "<|im_start",
    "<<|im_start|>>",
    "don't 123 🍕",
]


# --------------------------------------------------------------------------------------------
# A copy of the model's metadata with another pre-tokenizer name and no tensors.

GGUF_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def _skip_value(data, off, vtype):
    if vtype in GGUF_SCALAR_SIZES:
        return off + GGUF_SCALAR_SIZES[vtype]
    if vtype == 8:
        (n,) = struct.unpack_from("<Q", data, off)
        return off + 8 + n
    if vtype == 9:
        etype, n = struct.unpack_from("<IQ", data, off)
        off += 12
        if etype in GGUF_SCALAR_SIZES:
            return off + n * GGUF_SCALAR_SIZES[etype]
        for _ in range(n):
            off = _skip_value(data, off, etype)
        return off
    raise ValueError(f"unknown GGUF value type {vtype}")


def _gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def letter_pair_merges(tokens):
    """Merges of every two ASCII letters whose pair is a token, in a fixed order (first letter,
    then second, A-Z before a-z) and nothing else: a word's tokens are then pairs of letters
    from its start, so the ids show where the pre-tokenizer cut the text. TokenizerTests builds
    the same list."""
    vocab = set(tokens)
    return [f"{a} {b}" for a in LETTERS for b in LETTERS if a + b in vocab]


def _gguf_string_array(items):
    return struct.pack("<IQ", 8, len(items)) + b"".join(_gguf_string(x) for x in items)


def metadata_with_pre(model_path, pre, merges=None):
    """Bytes of a GGUF file holding the model's metadata, tokenizer.ggml.pre = pre, no tensors;
    with `merges`, those instead of the model's."""
    with open(model_path, "rb") as f:
        data = f.read(64 << 20)  # the metadata is a few MB at the front
    magic, version, _n_tensors, n_kv = struct.unpack_from("<4sIQQ", data, 0)
    assert magic == b"GGUF", "not a GGUF file"
    off = 24
    entries = []
    for _ in range(n_kv):
        start = off
        (klen,) = struct.unpack_from("<Q", data, off)
        key = data[off + 8: off + 8 + klen].decode("utf-8")
        off += 8 + klen
        (vtype,) = struct.unpack_from("<I", data, off)
        off = _skip_value(data, off + 4, vtype)
        if key == "tokenizer.ggml.pre":
            entries.append(_gguf_string(key) + struct.pack("<I", 8) + _gguf_string(pre))
        elif key == "tokenizer.ggml.merges" and merges is not None:
            entries.append(_gguf_string(key) + struct.pack("<I", 9) + _gguf_string_array(merges))
        else:
            entries.append(data[start:off])
    header = struct.pack("<4sIQQ", b"GGUF", version, 0, len(entries))
    return header + b"".join(entries)


# --------------------------------------------------------------------------------------------


def find_model():
    if len(sys.argv) > 1:
        return sys.argv[1]
    dirs = [os.environ.get("JARVIS_MODELS"), os.path.expanduser("~/.local/share/jarvis/models")]
    for d in dirs:
        if d and os.path.exists(os.path.join(d, MODEL_NAME)):
            return os.path.join(d, MODEL_NAME)
    sys.exit(f"{MODEL_NAME} not found in $JARVIS_MODELS or ~/.local/share/jarvis/models: run scripts/setup first")


def tokenize_all(model_path, cases):
    llm = llama_cpp.Llama(model_path=model_path, vocab_only=True, verbose=False)
    out = []
    for text, special in cases:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)
        out.append({"text": text, "special": special, "ids": ids})
    return out


def main():
    if llama_cpp.__version__ != PINNED_VERSION:
        sys.exit(f"llama-cpp-python {llama_cpp.__version__} found; the fixtures are pinned to {PINNED_VERSION}")
    model = find_model()
    assert len(CORPUS) == len(set(CORPUS)), "duplicate corpus entries"
    cases = [(t, True) for t in CORPUS] + [(t, False) for t in SPECIAL_OFF]

    fixture = {
        "generator": "tools/make_tokenizer_fixtures.py",
        "llama_cpp_python": llama_cpp.__version__,
        "model": MODEL_NAME,
        "add_special": False,
        "cases": tokenize_all(model, cases),
        "pre_tokenizers": {},
    }
    print(f"smollm: {len(fixture['cases'])} cases "
          f"({len(CORPUS)} with special tokens parsed, {len(SPECIAL_OFF)} without)")

    with tempfile.TemporaryDirectory() as tmp:
        for pre in OTHER_PRE_TOKENIZERS:
            path = os.path.join(tmp, f"vocab-{pre}.gguf")
            with open(path, "wb") as f:
                f.write(metadata_with_pre(model, pre))
            results = tokenize_all(path, [(t, True) for t in CORPUS])
            fixture["pre_tokenizers"][pre] = [{"text": r["text"], "ids": r["ids"]} for r in results]
            print(f"{pre}: {len(results)} cases (same vocabulary, tokenizer.ggml.pre = {pre!r})")

        # Letter-pair merges only: the ids then show the words' boundaries, which the shipped
        # merges often hide (pre-tokenizers that cut differently can still give the same ids).
        tokens = llama_cpp.Llama(model_path=model, vocab_only=True, verbose=False)
        tokens = [tokens.detokenize([i], special=True).decode("utf-8", "replace") for i in range(tokens.n_vocab())]
        merges = letter_pair_merges(tokens)
        fixture["letter_pair_merge_count"] = len(merges)
        fixture["letter_pair_merges"] = {}
        for pre in ["llama-bpe", "gpt-4o"]:
            path = os.path.join(tmp, f"pairs-{pre}.gguf")
            with open(path, "wb") as f:
                f.write(metadata_with_pre(model, pre, merges))
            results = tokenize_all(path, [(t, True) for t in CORPUS])
            fixture["letter_pair_merges"][pre] = [{"text": r["text"], "ids": r["ids"]} for r in results]
            print(f"{pre} with {len(merges)} letter-pair merges: {len(results)} cases")

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        # One case per line: small diffs when the corpus grows.
        f.write("{\n")
        keys = list(fixture)
        for i, key in enumerate(keys):
            value = fixture[key]
            comma = "," if i + 1 < len(keys) else ""
            if key == "cases":
                f.write(f'  "cases": [\n')
                f.write(",\n".join("    " + json.dumps(c, ensure_ascii=False) for c in value))
                f.write(f"\n  ]{comma}\n")
            elif key in ("pre_tokenizers", "letter_pair_merges"):
                f.write(f'  "{key}": {{\n')
                pres = list(value)
                for j, pre in enumerate(pres):
                    f.write(f"    {json.dumps(pre)}: [\n")
                    f.write(",\n".join("      " + json.dumps(c, ensure_ascii=False) for c in value[pre]))
                    f.write("\n    ]" + ("," if j + 1 < len(pres) else "") + "\n")
                f.write(f"  }}{comma}\n")
            else:
                f.write(f"  {json.dumps(key)}: {json.dumps(value)}{comma}\n")
        f.write("}\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} bytes) with llama-cpp-python {llama_cpp.__version__}")


if __name__ == "__main__":
    main()
