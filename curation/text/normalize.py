"""Text normalization used only for duplicate keys and shingles (never written back).

Why strip punctuation and whitespace: Chinese near-duplicates mostly differ in full/half-width
punctuation, stray spaces from PDF extraction and zero-width characters. NFKC folds the widths,
then every punctuation, separator and format character is removed and Latin letters are lowercased.

Why fold script: the same answer posted in traditional and in simplified characters (or with
Taiwan phrasing: 軟體/软件, 滑鼠/鼠标) shares almost no character n-grams, so without folding it
scores Jaccard ~0. `fold_script` maps such text to simplified mainland phrasing with OpenCC.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from schemas.nfkc import ASTRAL, nfkc

DEFAULT_FIELDS: tuple[str, ...] = ("instruction", "input", "output")


@functools.cache
def _strip_res() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Codepoints to delete: punctuation (P*), separators (Z*), controls and format chars (Cc, Cf),
    as character classes for the BMP and for astral planes apart (a BMP-only class is a fast
    table lookup in `re`; `str.translate` with a dict pays a failed lookup per kept character)."""
    bmp: list[list[int]] = []
    astral: list[list[int]] = []
    for cp in range(sys.maxunicode + 1):
        cat = unicodedata.category(chr(cp))
        if cat[0] in "PZ" or cat in ("Cc", "Cf"):
            ranges = bmp if cp <= 0xFFFF else astral
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])

    def char_class(ranges: list[list[int]]) -> re.Pattern[str]:
        return re.compile("[" + "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
                                        for a, b in ranges) + "]+")

    return char_class(bmp), char_class(astral)


def _strip(text: str) -> str:
    bmp, astral = _strip_res()
    text = bmp.sub("", text)
    return astral.sub("", text) if ASTRAL.search(text) is not None else text


def normalize_text(text: str, *, fold: bool = False) -> str:
    """NFKC, lowercase, then drop punctuation/whitespace/format characters; `fold` also folds
    traditional script and Taiwan phrasing to simplified (see `fold_script`)."""
    norm = _strip(nfkc(text).lower())
    return fold_script(norm) if fold else norm


class _Converter(Protocol):
    def convert(self, text: str) -> str: ...


@functools.cache
def _converter(config: str) -> _Converter:
    """OpenCC converter for keys: the Rust build (opencc-pyo3, ~90x faster) when installed, else
    the pure-Python `opencc` package. Their dictionaries differ on a few rare characters, which
    does not matter here: keys are compared only with keys made by the same converter in one run."""
    try:
        from opencc_pyo3 import OpenCC as Pyo3OpenCC

        return Pyo3OpenCC(config)
    except ImportError:  # pragma: no cover - depends on the environment
        import opencc

        return opencc.OpenCC(config)


def script_backend() -> str:
    """Which OpenCC implementation `fold_script` uses (for run summaries)."""
    return "opencc-pyo3" if type(_converter("t2s")).__module__.startswith("opencc_pyo3") else "opencc"


def fold_script(text: str) -> str:
    """Traditional-script text -> simplified with mainland phrasing; simplified text unchanged.

    Only text that t2s changes (it holds traditional characters) gets the Taiwan phrase table
    (tw2sp): applied to simplified text, that table would turn mainland words into other words
    (程序 -> 进程), so the two sides of a pair would no longer meet.
    """
    if not text or text.isascii():
        return text
    simplified = _converter("t2s").convert(text)
    if simplified == text:
        return text
    return _converter("tw2sp").convert(text)


def record_text(record: Mapping[str, Any], fields: Sequence[str] = DEFAULT_FIELDS) -> str:
    """The raw text of a record's `record` dict over `fields`, newline-joined (empty fields skipped)."""
    return "\n".join(record[f] for f in fields if record.get(f))
