"""`normalize_text` over a batch of texts with one compiled (numba) pass: a table lookup per character.

Why: NFKC, lowercasing and stripping punctuation/whitespace took a quarter of the dedup stage's
CPU as five regex passes per text. For most texts the three steps act character by character:

- `nfkc` of a text without "hard" characters (its own test: composition, Hangul, surrogates) is
  the concatenation of each character's NFKC (schemas/nfkc.py); astral characters are left out
  here too;
- `str.lower` maps each character on its own, except capital sigma (final-sigma rule), so a
  character whose NFKC holds a `Σ` counts as hard here;
- `_strip` deletes single characters.

So for a text of such characters `normalize_text(text)` is the concatenation of
`normalize_text(c)` over its characters: a table built from `normalize_text` itself for every BMP
character. A text holding any other character is normalised by `normalize_text` as before.
Tests compare both on every BMP character, on random mixes and on real texts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from curation.text.normalize import normalize_text
from schemas.nfkc import _tables as nfkc_tables  # its test of the characters nfkc handles one by one
from schemas.nfkc import nfkc

_BMP = 0x10000


@functools.cache
def char_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hard uint8[0x10000], offsets int64[0x10001], data uint32): BMP character c normalises to
    data[offsets[c]:offsets[c+1]] unless hard[c]."""
    hard_re = nfkc_tables()[0]
    hard = np.zeros(_BMP, dtype=np.uint8)
    pieces: list[str] = []
    for cp in range(_BMP):
        ch = chr(cp)
        if hard_re.match(ch) is not None or "Σ" in nfkc(ch):
            hard[cp] = 1
            pieces.append("")
        else:
            pieces.append(normalize_text(ch))
    offsets = np.zeros(_BMP + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, pieces), dtype=np.int64, count=_BMP), out=offsets[1:])
    data = np.frombuffer("".join(pieces).encode("utf-32-le"), dtype=np.uint32).copy()
    return hard, offsets, data


@functools.cache
def load() -> Callable[..., Any] | None:
    """The compiled kernel `(cps, lengths, hard, offsets, data) -> (out, out_lengths)`, or None
    without numba. `out_lengths[i]` is -1 for a text that must take `normalize_text`."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency; kept for slim installs
        return None

    @numba.njit(cache=True, nogil=True)
    def normalize(cps: Any, lengths: Any, hard: Any, offsets: Any, data: Any) -> tuple[Any, Any]:
        out_lengths = np.zeros(lengths.shape[0], dtype=np.int64)
        start = 0
        total = 0
        for i in range(lengths.shape[0]):
            size = 0
            for j in range(start, start + lengths[i]):
                c = cps[j]
                if c >= 0x10000 or hard[c]:
                    size = -1
                    break
                size += offsets[c + 1] - offsets[c]
            out_lengths[i] = size
            if size > 0:
                total += size
            start += lengths[i]
        out = np.empty(total, dtype=np.uint32)
        start = 0
        at = 0
        for i in range(lengths.shape[0]):
            if out_lengths[i] > 0:
                for j in range(start, start + lengths[i]):
                    c = cps[j]
                    for k in range(offsets[c], offsets[c + 1]):
                        out[at] = data[k]
                        at += 1
            start += lengths[i]
        return out, out_lengths

    return normalize


def normalize_texts(texts: Sequence[str]) -> list[str]:
    """`[normalize_text(t) for t in texts]`, the same strings, mostly by the compiled pass."""
    kernel = load()
    if kernel is None or not texts:
        return [normalize_text(t) for t in texts]
    hard, offsets, data = char_table()
    cps = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    out, out_lengths = kernel(cps, lengths, hard, offsets, data)
    joined = out.tobytes().decode("utf-32-le")
    ends = np.cumsum(np.maximum(out_lengths, 0)).tolist()
    result = []
    start = 0
    for text, size, end in zip(texts, out_lengths.tolist(), ends, strict=True):
        result.append(joined[start:end] if size >= 0 else normalize_text(text))
        start = end
    return result


def warm() -> bool:
    """Build the table and load the kernel in this process (forked workers inherit both)."""
    if load() is None:
        return False
    char_table()
    normalize_texts(["Ａ漢字"])
    return True
