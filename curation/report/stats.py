"""Small streaming accumulators for reports: exact distributions, per-group profiles, samples.

Why Counters of rounded values instead of arrays: memory is bounded by the number of distinct
values (a few thousand lengths, a thousand ratios), not by the number of records, and quantiles
stay exact for lengths and scores.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from curation.text.cjk import PUNCT_TOKEN_RE

FIELDS = ("instruction", "input", "output")
# Per-record metrics (written by the clean stage into stats) shown as quality distributions.
QUALITY_METRICS = (
    "char_rep_ratio", "word_rep_ratio", "dup_line_frac", "stopword_ratio", "special_ratio", "punct_ratio",
    "mean_word_len", "lang_score", "votes_norm",
)
# Log-spaced length bins (characters or words): 0, then ~8 per decade up to 100k, then overflow.
LENGTH_EDGES: list[float] = [*sorted({0, 1} | {round(10 ** (i / 8)) for i in range(1, 41)}), math.inf]
RATIO_EDGES: list[float] = [i / 20 for i in range(21)]


def _edges_for(name: str, hi: float) -> list[float]:
    if name in ("chars", "words", "edit_size", "length"):
        return LENGTH_EDGES
    if hi <= 1.0:
        return RATIO_EDGES
    raw = hi / 20
    base = 10 ** math.floor(math.log10(raw))
    step = next(m * base for m in (1, 2, 5, 10) if m * base >= raw)
    return [round(i * step, 10) for i in range(int(hi // step) + 2)]


class Values:
    """Exact distribution of numbers rounded to `digits` decimals."""

    __slots__ = ("counts", "digits", "kind")

    def __init__(self, kind: str = "ratio", digits: int = 0) -> None:
        self.counts: Counter[float] = Counter()
        self.digits, self.kind = digits, kind

    def add(self, value: float | int | None) -> None:
        if value is None or isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            return
        self.counts[round(value, self.digits) if self.digits else int(value)] += 1

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    def quantile(self, q: float) -> float | None:
        """Nearest-rank quantile."""
        n = self.n
        if not n:
            return None
        rank, seen = max(1, math.ceil(q * n)), 0
        for value in sorted(self.counts):
            seen += self.counts[value]
            if seen >= rank:
                return value
        return None  # pragma: no cover - unreachable

    def histogram(self, edges: Sequence[float] | None = None) -> dict[str, list[float]]:
        """Counts per [edge_i, edge_i+1) bin (the last bin includes its upper edge)."""
        if not self.counts:
            return {"edges": [], "counts": []}
        edges = list(edges or _edges_for(self.kind, max(self.counts)))
        counts = [0] * (len(edges) - 1)
        for value, c in self.counts.items():
            for i in range(len(edges) - 1):
                if value < edges[i + 1] or (i == len(edges) - 2 and value <= edges[-1]):
                    counts[i] += c
                    break
        while len(counts) > 1 and counts[-1] == 0:  # trim empty tail bins
            counts.pop()
            edges.pop()
        return {"edges": [e if e != math.inf else None for e in edges], "counts": counts}

    def summary(self) -> dict[str, Any]:
        n = self.n
        if not n:
            return {"n": 0}
        total = sum(v * c for v, c in self.counts.items())
        out: dict[str, Any] = {"n": n, "mean": round(total / n, 4), "min": min(self.counts)}
        for q in (5, 25, 50, 75, 95):
            out[f"p{q}"] = self.quantile(q / 100)
        out["max"] = max(self.counts)
        out["hist"] = self.histogram()
        return out


def count_words(cut: Callable[[str], list[str]], text: str) -> int:
    """Segmenter words that are not punctuation-only tokens (the rule metrics' `words` uses)."""
    if not text:
        return 0
    return sum(1 for w in cut(text) if w.isalnum() or not PUNCT_TOKEN_RE.match(w))


class Profile:
    """What the report says about one group of records (a source, or all of them)."""

    def __init__(self) -> None:
        self.rows = 0
        self.chars = {f: Values("chars") for f in FIELDS}
        self.words = {f: Values("words") for f in FIELDS}
        self.cjk = Values("ratio", 2)
        self.lang: Counter[str] = Counter()
        self.lang_method: Counter[str] = Counter()
        self.quality = {m: Values("ratio" if m != "mean_word_len" else "score", 3) for m in QUALITY_METRICS}
        self.llm_score: Counter[int] = Counter()
        self.llm_missing = 0
        self.pii_records: Counter[str] = Counter()
        self.pii_found: Counter[str] = Counter()
        self.answer_from: Counter[str] = Counter()
        self.human_verified = 0
        self.domains: Counter[str] = Counter()
        self.task_major: Counter[str] = Counter()

    def add(self, rec: dict[str, Any], stats: dict[str, Any], words: dict[str, int], cjk: float) -> None:
        self.rows += 1
        for f in FIELDS:
            self.chars[f].add(len(rec.get(f) or ""))
            self.words[f].add(words[f])
        self.cjk.add(cjk)
        self.lang[str(stats.get("lang") or "unknown")] += 1
        if stats.get("lang_method"):
            self.lang_method[str(stats["lang_method"])] += 1
        for m in QUALITY_METRICS:
            self.quality[m].add(stats.get(m))
        if "llm_quality" in stats:
            if isinstance(stats["llm_quality"], int):
                self.llm_score[stats["llm_quality"]] += 1
            else:
                self.llm_missing += 1
        for kind, n in (stats.get("pii") or {}).items():
            if n:
                self.pii_records[kind] += 1
                self.pii_found[kind] += int(n)
        self.answer_from[str(rec.get("answer_from"))] += 1
        self.human_verified += rec.get("human_verified") is True
        self.domains.update(str(d) for d in (rec.get("domain") or []))
        self.task_major.update(str(t) for t in ((rec.get("task_type") or {}).get("major") or []))

    def summary(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "chars": {f: v.summary() for f, v in self.chars.items()},
            "words": {f: v.summary() for f, v in self.words.items()},
            "cjk_ratio": self.cjk.summary(),
            "lang": dict(self.lang.most_common()),
            "lang_method": dict(self.lang_method.most_common()),
            "quality": {m: v.summary() for m, v in self.quality.items() if v.n},
            "llm_score": {str(k): v for k, v in sorted(self.llm_score.items())},
            "llm_score_missing": self.llm_missing,
            "pii_records": dict(self.pii_records.most_common()),
            "pii_found": dict(self.pii_found.most_common()),
            "answer_from": dict(self.answer_from.most_common()),
            "human_verified": self.human_verified,
            "domains": dict(self.domains.most_common(15)),
            "task_major": dict(self.task_major.most_common(15)),
        }


class Reservoir:
    """A uniform sample of k items from a stream (Algorithm R), deterministic for a seed."""

    def __init__(self, k: int, seed: int = 0) -> None:
        self.k, self.seen, self.items = k, 0, []
        self._rng = random.Random(seed)

    def offer(self, make: Callable[[], Any]) -> None:
        """`make` builds the item only when it is kept (most offers cost one random number)."""
        self.seen += 1
        if len(self.items) < self.k:
            self.items.append(make())
            return
        j = self._rng.randrange(self.seen)
        if j < self.k:
            self.items[j] = make()
