"""schemas.nfkc.nfkc must equal unicodedata.normalize("NFKC") on every input: single characters
of the whole BMP, random mixes of the characters that take each path, and real sample text."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

from schemas.nfkc import _PUNCTUATION, nfkc


def test_every_bmp_character_alone_and_after_a_letter() -> None:
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        for text in (chr(cp), "a" + chr(cp), chr(cp) + "\u0301", "中" + chr(cp) + "ｂ"):
            assert nfkc(text) == unicodedata.normalize("NFKC", text), hex(cp)


def test_random_mixes_of_changing_stable_and_composing_characters() -> None:
    rng = random.Random(7)
    pool = (
        list("中文的一是，。！？（）：；“”、ＡＢｃ１２３　 \n\tabcXYZ019")  # Chinese, full-width, ASCII
        + ["\u00a0", "\u2460", "\u3250", "\u32ff", "\uf900", "\ufa10", "\u2fa1", "\u00bd", "\ufb01", "\u2126"]
        + ["\u0301", "\u0308", "\u3099", "\u309a", "\u0b3e", "\u1161", "\u11a8", "\uac00", "\u1100"]  # composing
        + ["e", "\u304b", "\u30cf", "\uff76", "\uff9e", "\U0001d400", "\U0002f800", "😀", "\u0627", "\u0653"]
    )
    for _ in range(30_000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 12)))
        assert nfkc(text) == unicodedata.normalize("NFKC", text), ascii(text)


def test_sample_records(samples_dir: Path) -> None:
    import json

    rows = json.loads((samples_dir / "instruct_zh" / "llama-factory__alpaca_zh_demo.json").read_text("utf-8"))
    for row in rows:
        for text in (row["instruction"], row["input"], row["output"]):
            assert nfkc(text) == unicodedata.normalize("NFKC", text)


def test_punctuation_pass_replaces_by_full_decompositions_next_to_marks() -> None:
    # the first pass is exact because each replacement is the character's own full NFKD
    for char, plain in _PUNCTUATION:
        assert plain == unicodedata.normalize("NFKD", char) == unicodedata.normalize("NFKD", plain)
        for text in (char + "\u0338", "e" + char + "\u0301", "\u1100" + char + "\u1161", char * 3 + "ｂ" + "\u0301",
                     "中文" + char + "\uf900" + char):
            assert nfkc(text) == unicodedata.normalize("NFKC", text), ascii(text)
