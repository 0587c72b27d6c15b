"""MinHash: shingles of Chinese text, determinism, and accuracy against exact Jaccard."""

from __future__ import annotations

import random

import numpy as np
import pytest

from curation.stages.dedup.minhash import MinHasher
from curation.text.normalize import normalize_text

BASE = "天下没有不散的筵席，那么我们相聚的意义又是什么？相聚让我们感受到彼此的关怀、支持和友情，也让我们珍惜与彼此相聚的时光。"


def _shingle_set(hasher: MinHasher, text: str) -> set[int]:
    hashes, counts = hasher.shingles([text])
    return set(hashes[: counts[0]].tolist())


def test_char_shingles_are_exact_5grams() -> None:
    hasher = MinHasher(num_perm=16, ngram=5)
    text = "我们相聚的意义我们相聚"
    grams = {text[i : i + 5] for i in range(len(text) - 4)}
    assert len(_shingle_set(hasher, text)) == len(grams)  # repeated 5-grams hash identically
    # Concatenated batch: no n-gram may bleed across documents.
    hashes, counts = hasher.shingles(["甲乙丙丁戊", "己庚辛壬癸"])
    assert counts.tolist() == [1, 1]
    assert hashes[0] != hashes[1]


def test_short_and_empty_documents() -> None:
    hasher = MinHasher(num_perm=32, ngram=5)
    sig = hasher.signatures(["你好", "你好", "再见", ""])
    assert (sig[0] == sig[1]).all()
    assert (sig[0] != sig[2]).any()
    assert (sig[3] == 0xFFFFFFFF).all()


def test_signatures_deterministic_and_batch_independent() -> None:
    texts = [BASE, BASE[5:], "完全不同的一句话，讲的是如何煮一锅好吃的红烧肉。"]
    a = MinHasher(num_perm=64).signatures(texts)
    b = np.vstack([MinHasher(num_perm=64).signatures([t]) for t in texts])
    assert (a == b).all()
    assert not (MinHasher(num_perm=64, seed=7).signatures(texts) == a).all()


def test_signature_agreement_estimates_jaccard() -> None:
    rng = random.Random(3)
    hasher = MinHasher(num_perm=256, ngram=5)
    errors = []
    for _ in range(200):
        chars = list(BASE)
        for _ in range(rng.randint(0, 10)):
            chars[rng.randrange(len(chars))] = rng.choice("的一是了我不人在他有这个上们来到时大地为子中你说")
        a, b = normalize_text(BASE), normalize_text("".join(chars))
        sa, sb = _shingle_set(hasher, a), _shingle_set(hasher, b)
        exact = len(sa & sb) / len(sa | sb)
        sig = hasher.signatures([a, b])
        errors.append(float((sig[0] == sig[1]).mean()) - exact)
    errors_arr = np.array(errors)
    assert abs(errors_arr.mean()) < 0.01  # unbiased
    assert errors_arr.std() < 0.04  # ~sqrt(J(1-J)/256)


def test_word_shingles_use_segmenter() -> None:
    pytest.importorskip("rjieba")
    from curation.text.segment import get_segmenter

    hasher = MinHasher(num_perm=64, ngram=2, tokenizer=get_segmenter("rjieba").cut)
    hashes, counts = hasher.shingles(["我们在北京大学学习"])  # 我们/在/北京大学/学习 -> 3 bigrams
    assert counts.tolist() == [3]


def test_normalize_folds_width_punctuation_and_spaces() -> None:
    assert normalize_text("你好，世界！ ＡＢＣ") == normalize_text("你好,世界!abc")
    assert normalize_text("中 文\u200b标点。") == "中文标点"
