"""Per-record metrics written into `stats` before any decision (filters only read them).

All ratios are CJK-safe: characters are classed with regexes from `curation.text.cjk` (ideographs
are never "special"), words come from the one segmenter interface, never from `str.split`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from curation.pipeline.recipe import MetricsConfig
from curation.text.cjk import (
    KANA_HANGUL_RE,
    NON_IDEOGRAPH_RE,
    PUNCT_RE,
    PUNCT_TOKEN_RE,
    SPECIAL_RE,
    WHITESPACE_RE,
)
from curation.text.langid import LangID, get_langid
from curation.text.segment import Segmenter, get_segmenter
from curation.text.stopwords import zh_stopwords


def cjk_ratio(text: str) -> float:
    """Ideographs / non-whitespace characters (0.0 for empty text)."""
    dense = WHITESPACE_RE.sub("", text)
    return len(NON_IDEOGRAPH_RE.sub("", dense)) / len(dense) if dense else 0.0


def script_zh_share(text: str, threshold: float) -> float | None:
    """Ideograph share of the non-space chars when it is >= threshold and there is no kana or
    hangul (the script alone says Chinese), else None (ambiguous: ask the language-ID model)."""
    dense = WHITESPACE_RE.sub("", text)
    if not dense:
        return None
    share = len(NON_IDEOGRAPH_RE.sub("", dense)) / len(dense)
    if share < threshold or KANA_HANGUL_RE.search(dense) is not None:
        return None
    return share


def char_rep_ratio(text: str, n: int) -> float:
    """data-juicer's character repetition ratio: share of char n-gram occurrences taken by the
    sqrt(#distinct) most frequent n-grams that occur more than once."""
    total = len(text) - n + 1
    if total <= 0:
        return 0.0
    grams = [text[i:i + n] for i in range(total)]
    if len(set(grams)) == total:  # the common case for real prose: nothing repeats
        return 0.0
    freqs = sorted(Counter(grams).values(), reverse=True)
    repeated = len(freqs) - freqs.count(1)
    top = min(math.isqrt(len(freqs)), repeated)
    return sum(freqs[:top]) / total if top > 0 else 0.0


def word_rep_ratio(words: list[str], n: int) -> float:
    """Share of word n-gram occurrences whose n-gram occurs more than once."""
    total = len(words) - n + 1
    if total <= 0:
        return 0.0
    def grams() -> Any:
        return zip(*(words[i:] for i in range(n)), strict=False) if n > 1 else words  # shorter tails end it

    if len(set(grams())) == total:  # the common case: no n-gram repeats (no list of n-grams built)
        return 0.0
    return sum(c for c in Counter(grams()).values() if c > 1) / total


def dup_line_frac(text: str) -> float:
    """Fraction of non-empty lines that repeat an earlier line (FineWeb-2 zh uses ~0.29)."""
    if "\n" not in text:  # one line: nothing to repeat
        return 0.0
    lines = [ln.strip() for ln in text.split("\n")]
    lines = [ln for ln in lines if ln]
    if len(lines) < 2:
        return 0.0
    return (len(lines) - len(set(lines))) / len(lines)


def votes_norm(extra: dict[str, Any], keys: list[str], cap: float) -> tuple[float | None, float | None]:
    """(raw votes, log-scaled votes in [0, 1]) from the first provenance.extra key present."""
    for key in keys:
        value = extra.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            v = max(float(value), 0.0)
            return v, round(min(1.0, math.log1p(v) / math.log1p(cap)), 4)
    return None, None


class Metrics:
    """Computes the stats dict for one record; build once per process (loads models).

    `compiled` counts with the numba kernels of `curation.text.kernel` (same values; worth their
    ~1.5 s start-up only over many records, so the clean stage decides): the Python code below is
    their reference, used when `compiled=False` and for a text with a code point beyond the
    kernels' class table."""

    def __init__(self, config: MetricsConfig, *, compiled: bool = False) -> None:
        self.config = config
        self.segmenter: Segmenter | None = get_segmenter(config.segmenter) if config.segmenter else None
        self.langid: LangID | None = get_langid(config.langid) if config.langid else None
        self.stopwords = zh_stopwords()
        self._kernel: _Kernel | None = _Kernel(self.stopwords) if compiled else None

    def compute(self, instruction: str, input_: str, output: str, extra: dict[str, Any]) -> dict[str, Any]:
        if self._kernel is not None:
            stats = self._compute_compiled(self._kernel, instruction, input_, output, extra)
            if stats is not None:
                return stats
        return self.compute_reference(instruction, input_, output, extra)

    def _compute_compiled(self, k: _Kernel, instruction: str, input_: str, output: str,
                          extra: dict[str, Any]) -> dict[str, Any] | None:
        """`compute_reference` from the kernel's integer counts (same divisions, same rounding,
        same key order); None when a text has a code point beyond the kernel's table."""
        c = self.config
        joined = ""
        if self.segmenter is not None:
            tokens = getattr(self.segmenter, "cut_raw", self.segmenter.cut)(output)
            joined = "\x00".join(tokens)
            if not tokens or joined.count("\x00") != len(tokens) - 1:  # none, or a token holds NUL
                return None
        (in_space, in_ideo, in_kana, out_space, out_ideo, out_kana, out_special, out_punct, char_num,
         n, total_len, stop, repeated) = k.record_counts(
            k.code_points(instruction + output + joined), len(instruction), len(output), self.segmenter is not None,
            k.table, c.char_rep_n, c.word_rep_n, *k.stopwords)
        if in_space < 0:
            return None
        dense_out = len(output) - out_space
        dense_all = len(instruction) - in_space + dense_out
        share_all = (in_ideo + out_ideo) / dense_all if dense_all else 0.0
        stats: dict[str, Any] = {
            "len_instruction": len(instruction),
            "len_input": len(input_),
            "len_output": len(output),
            "cjk_ratio": round(share_all, 4),
        }
        if self.langid is not None:
            self._language(stats, instruction, output, lambda: share_all if dense_all
                           and share_all >= c.langid_script_zh and in_kana + out_kana == 0 else None)
        if self.segmenter is not None:
            if not n:
                stats.update(words=0, mean_word_len=0.0, stopword_ratio=0.0, word_rep_ratio=0.0)
            else:
                total = n - c.word_rep_n + 1
                stats["words"] = n
                stats["mean_word_len"] = round(total_len / n, 3)
                stats["stopword_ratio"] = round(stop / n, 4)
                stats["word_rep_ratio"] = round(repeated / total, 4) if total > 0 else 0.0
        total = len(output) - c.char_rep_n + 1
        return self._finish(stats, output, char_num / total if total > 0 else 0.0, out_special, out_punct,
                            dense_out, extra)

    def compute_reference(self, instruction: str, input_: str, output: str, extra: dict[str, Any]) -> dict[str, Any]:
        """The stats in plain Python (regexes, slices, Counter): the definition of every value."""
        c = self.config
        dense_out = WHITESPACE_RE.sub("", output)
        # Whitespace removal and ideograph counting work character by character, so the output's
        # dense text is reused for the instruction + output ratio (same counts, one pass less).
        dense_all = WHITESPACE_RE.sub("", instruction) + dense_out
        ideographs = len(NON_IDEOGRAPH_RE.sub("", dense_all))
        share_all = ideographs / len(dense_all) if dense_all else 0.0
        stats: dict[str, Any] = {
            "len_instruction": len(instruction),
            "len_input": len(input_),
            "len_output": len(output),
            "cjk_ratio": round(share_all, 4),
        }
        if self.langid is not None:
            # A probe that is the whole text: its dense form (the newline is whitespace) and
            # ideograph share were just computed, so script_zh_share(probe, ...) is not redone.
            self._language(stats, instruction, output, lambda: share_all if dense_all
                           and share_all >= c.langid_script_zh and KANA_HANGUL_RE.search(dense_all) is None
                           else None)
        if self.segmenter is not None:
            stats.update(self.word_stats(output))
        return self._finish(stats, output, char_rep_ratio(output, c.char_rep_n), len(SPECIAL_RE.findall(dense_out)),
                            len(PUNCT_RE.findall(dense_out)), len(dense_out), extra)

    def _language(self, stats: dict[str, Any], instruction: str, output: str,
                  whole_text_share: Callable[[], float | None]) -> None:
        """lang, lang_score, lang_method: Chinese by script when the probe's ideograph share says so
        (the model adds nothing but errors there: ja/ko/en), else the model. `whole_text_share` gives
        that share (or None) for a probe that is the whole text, from counts the caller already has."""
        assert self.langid is not None
        c = self.config
        probe = (instruction + "\n" + output)[: c.langid_chars]
        if c.langid_script_zh is None:
            share = None
        elif len(instruction) + 1 + len(output) <= c.langid_chars:
            share = whole_text_share()
        else:
            share = script_zh_share(probe, c.langid_script_zh)
        if share is not None:
            lang, score, method = "zh", share, "script"
        else:
            (lang, score), method = self.langid.detect(probe), "model"
        stats["lang"], stats["lang_score"], stats["lang_method"] = lang, round(score, 4), method

    def _finish(self, stats: dict[str, Any], output: str, char_rep: float, special: int, punct: int,
                dense_len: int, extra: dict[str, Any]) -> dict[str, Any]:
        """The stats both paths add last, in this key order."""
        c = self.config
        stats["char_rep_ratio"] = round(char_rep, 4)
        stats["dup_line_frac"] = round(dup_line_frac(output), 4)
        stats["special_ratio"] = round(special / dense_len, 4) if dense_len else 0.0
        stats["punct_ratio"] = round(punct / dense_len, 4) if dense_len else 0.0
        if extra:
            votes, norm = votes_norm(extra, c.votes_keys, c.votes_cap)
            if votes is not None:
                stats["votes"], stats["votes_norm"] = votes, norm
        return stats

    def word_stats(self, text: str) -> dict[str, Any]:
        """Metrics over segmenter words (punctuation tokens excluded)."""
        assert self.segmenter is not None
        words = [w for w in self.segmenter.cut(text) if w.isalnum() or not PUNCT_TOKEN_RE.match(w)]
        n = len(words)
        if not n:
            return {"words": 0, "mean_word_len": 0.0, "stopword_ratio": 0.0, "word_rep_ratio": 0.0}
        return {
            "words": n,
            "mean_word_len": round(sum(map(len, words)) / n, 3),
            "stopword_ratio": round(sum(map(self.stopwords.__contains__, words)) / n, 4),
            "word_rep_ratio": round(word_rep_ratio(words, self.config.word_rep_n), 4),
        }


class _Kernel:
    """The compiled kernels and their tables (numba imported only when a Metrics wants them)."""

    def __init__(self, stopwords: frozenset[str]) -> None:
        import numpy as np

        from curation.text import kernel

        self.np = np
        self.code_points = kernel.code_points
        self.record_counts = kernel.record_counts
        self.table = kernel.class_table()
        self.stopwords = kernel.stopword_table(stopwords)
