"""The compiled dedup kernels give exactly what the Python/numpy references give: MinHash
signatures (minhash_jit.py vs `MinHasher.signatures_numpy`) and normalized texts (normalize_jit.py
vs `normalize_text`), on every BMP character, random mixes and real Chinese instruction data."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from curation.stages.dedup import minhash_jit, normalize_jit
from curation.stages.dedup.minhash import MinHasher
from curation.text.normalize import fold_script, normalize_text

pytestmark = pytest.mark.skipif(minhash_jit.load() is None, reason="numba not installed")

# Characters that send a text off the per-character path (combining marks, Hangul jamo, final
# sigma, astral, a lone surrogate, an 18-character NFKC expansion) mixed with ordinary ones.
HARD = ["Σ", "ς", "ϹΣ", "İ", "\ufdfa", "\U0001f600", "\U00020000", "\ud800", "ᄀ", "가", "\u0301", "e\u0301",
        "Ａ", "ｶ", "\u3000", "\u200b", "\t", "\n", "＂", "㍿"]


def _random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pool = [chr(c) for c in range(0x20, 0x3100)] + [chr(c) for c in range(0x4E00, 0x4F00)] + HARD
    return ["".join(rng.choice(pool) for _ in range(rng.randint(0, 40))) for _ in range(count)]


@pytest.fixture(scope="module")
def real_texts(samples_dir: Path) -> list[str]:
    rows = json.loads((samples_dir / "instruct_zh/llama-factory__alpaca_zh_demo.json").read_text("utf-8"))
    return ["\n".join(r[k] for k in ("instruction", "input", "output") if r.get(k)) for r in rows]


def test_normalize_every_bmp_character() -> None:
    chars = [chr(c) for c in range(0x10000)]
    assert normalize_jit.normalize_texts(chars) == [normalize_text(c) for c in chars]


def test_normalize_random_mixes_and_real_texts(real_texts: list[str]) -> None:
    for texts in (_random_texts(5000, 1), real_texts, [""], ["", "ａＢｃ", ""]):
        assert normalize_jit.normalize_texts(texts) == [normalize_text(t) for t in texts]
    # The hard characters really take the fallback, and still come out right.
    hard = normalize_jit.char_table()[0]
    assert hard[ord("Σ")] and hard[ord("\u0301")] and not hard[ord("中")] and not hard[ord("Ａ")]


@pytest.mark.parametrize("ngram", [1, 2, 5, 9])
def test_minhash_kernel_equals_numpy_on_random_texts(ngram: int) -> None:
    # (MinHasher encodes to UTF-32: lone surrogates are refused on both paths, so none here.)
    texts = [t.replace("\ud800", "") for t in _random_texts(3000, ngram)] + ["", "a", "ab", "abcd", "abcde",
                                                                             "\U0010ffff" * 7]
    hasher = MinHasher(num_perm=256, ngram=ngram, seed=42)
    fast = hasher.signatures(texts)
    assert fast.dtype == np.uint32 and fast.shape == (len(texts), 256)
    np.testing.assert_array_equal(fast, hasher.signatures_numpy(texts))
    assert (fast[texts.index("")] == 0xFFFFFFFF).all()


def test_minhash_kernel_equals_numpy_on_real_texts(real_texts: list[str]) -> None:
    texts = [fold_script(t) for t in normalize_jit.normalize_texts(real_texts)]
    for hasher in (MinHasher(num_perm=256, ngram=5, seed=42), MinHasher(num_perm=64, ngram=3, seed=7)):
        np.testing.assert_array_equal(hasher.signatures(texts), hasher.signatures_numpy(texts))


def test_minhash_kernel_equals_numpy_on_word_shingles(real_texts: list[str]) -> None:
    from curation.text.segment import get_segmenter

    hasher = MinHasher(num_perm=128, ngram=2, tokenizer=get_segmenter("rjieba").cut)
    texts = real_texts[:300] + ["", "一"]
    np.testing.assert_array_equal(hasher.signatures(texts), hasher.signatures_numpy(texts))


def test_warm_loads_both_kernels() -> None:
    assert minhash_jit.warm() and normalize_jit.warm()
