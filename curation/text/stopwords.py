"""The Chinese stopword list shipped with cqia (curation/text/data/stopwords_zh.txt)."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def zh_stopwords() -> frozenset[str]:
    text = resources.files("curation.text.data").joinpath("stopwords_zh.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))
