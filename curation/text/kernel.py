"""Compiled (numba) counting over code points for the per-record metrics: character classes,
character n-gram repetition and the word metrics, each in one pass instead of a regex, a set of
Python slices or a Python loop per word.

Exact by construction, never approximate: n-grams and words are compared code point by code
point (hashes only pick the slot of an open-addressing table), character classes come from a
table built with the very regexes and `str` predicates the Python metrics use, and the kernels
return integer counts; the ratios are divided and rounded in Python, as before. Tested equal to
the Python reference on random and real texts (tests/curation/text/test_kernel.py).

Compiled functions are cached on disk (`cache=True`, numba's own cache next to this file or in
NUMBA_CACHE_DIR), so only the first process after a change pays the compile (a few seconds).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np
from numba import njit

from curation.text.cjk import IDEOGRAPH_RE, KANA_HANGUL_RE, PUNCT_RE, SPECIAL_RE, WHITESPACE_RE

# Class bits of a code point (one byte per code point below TABLE_END: the BMP and planes 1-2,
# where CJK text lives; a text with a code point beyond makes the kernels return -1 and the
# caller use the Python reference instead).
SPACE = 1  # `\s` (= str.isspace: the same Py_UNICODE_ISSPACE)
IDEOGRAPH = 2
KANA_HANGUL = 4
SPECIAL = 8
PUNCT = 16
ALNUM = 32  # str.isalnum (re's `[^\W_]`)
_ALNUM_RE = re.compile(r"[^\W_]")
TABLE_END = 0x30000


@cache
def class_table() -> np.ndarray:
    """uint8[TABLE_END]: the class bits of every code point there, from the metrics' own regexes (each a
    one-character class, so substituting its matches keeps positions)."""
    codes = np.arange(TABLE_END, dtype=np.uint32)
    text = codes.tobytes().decode("utf-32-le", "surrogatepass")
    table = np.zeros(TABLE_END, dtype=np.uint8)
    single_space = re.compile(WHITESPACE_RE.pattern.removesuffix("+"))
    for bit, pattern in ((SPACE, single_space), (IDEOGRAPH, IDEOGRAPH_RE), (KANA_HANGUL, KANA_HANGUL_RE),
                         (SPECIAL, SPECIAL_RE), (PUNCT, PUNCT_RE), (ALNUM, _ALNUM_RE)):
        marked = np.frombuffer(pattern.sub("\x00", text).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        hit = marked == 0
        hit[0] = pattern.match("\x00") is not None
        table[hit] |= bit
    return table


def code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


@njit(cache=True, nogil=True)
def class_counts(cp: Any, table: Any) -> tuple[int, int, int, int, int]:
    """(whitespace, ideographs, kana/hangul, special, punctuation) characters of `cp`; special and
    punctuation count only non-whitespace characters (as over the whitespace-free text).
    (-1, 0, 0, 0, 0) when a code point lies beyond the table."""
    space = ideo = kana = special = punct = 0
    end = len(table)
    for c in cp:
        if c >= end:
            return -1, 0, 0, 0, 0
        f = table[c]
        if f & 1:
            space += 1
        if f & 2:
            ideo += 1
        if f & 4:
            kana += 1
        if f & 8 and not f & 1:
            special += 1
        if f & 16 and not f & 1:
            punct += 1
    return space, ideo, kana, special, punct


@njit(cache=True, nogil=True)
def _table_size(n: int) -> int:
    size = 16
    while size < 2 * n:
        size *= 2
    return size


@njit(cache=True, nogil=True)
def _isqrt(n: int) -> int:
    r = int(np.sqrt(np.float64(n)))
    while r * r > n:
        r -= 1
    while (r + 1) * (r + 1) <= n:
        r += 1
    return r


@njit(cache=True, nogil=True)
def _gram_counts(keys: Any, n: int) -> Any:
    """Occurrences of every distinct n-gram of `keys` (int64 sequence), one entry per distinct
    n-gram (at its first position's index, zero elsewhere)."""
    total = len(keys) - n + 1
    size = _table_size(total)
    mask = size - 1
    slots = np.full(size, -1, dtype=np.int64)
    counts = np.zeros(total, dtype=np.int64)
    for i in range(total):
        h = np.uint64(1469598103934665603)
        for k in range(n):
            h = (h ^ np.uint64(keys[i + k])) * np.uint64(1099511628211)
        h ^= h >> np.uint64(29)
        j = np.int64(h & np.uint64(mask))
        while True:
            s = slots[j]
            if s == -1:
                slots[j] = i
                counts[i] = 1
                break
            same = True
            for k in range(n):
                if keys[s + k] != keys[i + k]:
                    same = False
                    break
            if same:
                counts[s] += 1
                break
            j = (j + 1) & mask
    return counts


@njit(cache=True, nogil=True)
def char_rep_numerator(cp: Any, n: int) -> int:
    """sum(freqs[:top]) of `metrics.char_rep_ratio` (0 when nothing repeats); the caller divides
    by len(text) - n + 1."""
    total = len(cp) - n + 1
    if total <= 0:
        return 0
    keys = cp.astype(np.int64)
    counts = _gram_counts(keys, n)
    freqs = counts[counts > 0]
    distinct = len(freqs)
    if distinct == total:
        return 0
    repeated = 0
    for f in freqs:
        if f > 1:
            repeated += 1
    top = min(_isqrt(distinct), repeated)
    if top <= 0:
        return 0
    freqs = np.sort(freqs)[::-1]
    return int(freqs[:top].sum())


@njit(cache=True, nogil=True)
def _word_key(cp: Any, start: int, length: int) -> np.uint64:
    h = np.uint64(1469598103934665603)
    for k in range(start, start + length):
        h = (h ^ np.uint64(cp[k])) * np.uint64(1099511628211)
    h ^= h >> np.uint64(29)
    return h


@njit(cache=True, nogil=True)
def _same_word(a: Any, a_start: int, b: Any, b_start: int, length: int) -> bool:
    for k in range(length):
        if a[a_start + k] != b[b_start + k]:
            return False
    return True


@njit(cache=True, nogil=True)
def word_counts(tokens: Any, table: Any, n: int, stop_slots: Any, stop_cp: Any, stop_start: Any,
                stop_len: Any) -> tuple[int, int, int, int]:
    """Over the segmenter's tokens (`tokens`: their code points joined by NUL, which no token
    holds): drops whitespace-only tokens (the segmenter's rule) and punctuation/symbol-only tokens
    (the metrics' rule: no alphanumeric character), then returns (words, their total length,
    stopwords among them, occurrences of word n-grams that occur more than once); (-1, 0, 0, 0)
    when a code point lies beyond the table."""
    end = len(table)
    m = len(tokens)
    keep_start = np.empty(m + 1, dtype=np.int64)
    keep_len = np.empty(m + 1, dtype=np.int64)
    words = 0
    start = 0
    all_space = True
    any_alnum = False
    for i in range(m + 1):
        if i == m or tokens[i] == 0:
            length = i - start
            if not (all_space and length > 0) and (any_alnum or length == 0):
                keep_start[words] = start
                keep_len[words] = length
                words += 1
            start = i + 1
            all_space = True
            any_alnum = False
            continue
        c = tokens[i]
        if c >= end:
            return -1, 0, 0, 0
        f = table[c]
        if not f & 1:
            all_space = False
        if f & 32:
            any_alnum = True
    total_len = 0
    stop = 0
    smask = len(stop_slots) - 1
    # Word ids: the index of a word's first occurrence (words compared code point by code point).
    size = _table_size(words)
    mask = size - 1
    slots = np.full(size, -1, dtype=np.int64)
    ids = np.empty(words, dtype=np.int64)
    for w in range(words):
        start, length = keep_start[w], keep_len[w]
        total_len += length
        h = _word_key(tokens, start, length)
        j = np.int64(h & np.uint64(smask))
        while True:
            s = stop_slots[j]
            if s == -1:
                break
            if stop_len[s] == length and _same_word(stop_cp, stop_start[s], tokens, start, length):
                stop += 1
                break
            j = (j + 1) & smask
        j = np.int64(h & np.uint64(mask))
        while True:
            s = slots[j]
            if s == -1:
                slots[j] = w
                ids[w] = w
                break
            if keep_len[s] == length and _same_word(tokens, keep_start[s], tokens, start, length):
                ids[w] = s
                break
            j = (j + 1) & mask
    repeated = 0
    if words - n + 1 > 0:
        counts = _gram_counts(ids, n)
        for c in counts:
            if c > 1:
                repeated += c
    return words, total_len, stop, repeated


def stopword_table(words: frozenset[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(slots, code points, starts, lengths) for `word_counts`: an open-addressing table of the
    stopwords keyed like the kernel keys words."""
    ordered = sorted(words)
    cps = code_points("".join(ordered))
    lens = np.array([len(w) for w in ordered], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lens)[:-1])).astype(np.int64)
    size = int(_table_size(len(ordered)))
    slots = np.full(size, -1, dtype=np.int64)
    _fill_stop_slots(slots, cps.astype(np.int64), starts, lens)
    return slots, cps, starts, lens


@njit(cache=True, nogil=True)
def _fill_stop_slots(slots: Any, cp: Any, starts: Any, lens: Any) -> None:
    mask = len(slots) - 1
    for w in range(len(lens)):
        j = np.int64(_word_key(cp, starts[w], lens[w]) & np.uint64(mask))
        while slots[j] != -1:
            j = (j + 1) & mask
        slots[j] = w


@njit(cache=True, nogil=True)
def record_counts(cp: Any, n_instruction: int, n_output: int, with_words: bool, table: Any, char_n: int,
                  word_n: int, stop_slots: Any, stop_cp: Any, stop_start: Any, stop_len: Any) -> tuple:
    """Everything the metrics count for one record, in one call: `cp` holds the instruction's,
    then the output's code points, then (when `with_words`) the output's tokens joined by NUL.
    Returns the instruction's (whitespace, ideographs, kana/hangul), the output's (whitespace,
    ideographs, kana/hangul, special, punctuation), `char_rep_numerator` of the output, and
    `word_counts` of the tokens (zeros without words); the first value is -1 when a code point
    lies beyond the table."""
    split = n_instruction + n_output
    i_space, i_ideo, i_kana, _, _ = class_counts(cp[:n_instruction], table)
    o_space, o_ideo, o_kana, o_special, o_punct = class_counts(cp[n_instruction:split], table)
    if i_space < 0 or o_space < 0:
        return -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    words = total_len = stop = repeated = 0
    if with_words:
        words, total_len, stop, repeated = word_counts(cp[split:], table, word_n, stop_slots, stop_cp, stop_start,
                                                       stop_len)
        if words < 0:
            return -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    char_num = char_rep_numerator(cp[n_instruction:split], char_n)
    return (i_space, i_ideo, i_kana, o_space, o_ideo, o_kana, o_special, o_punct, char_num,
            words, total_len, stop, repeated)
