"""Scores computed from stored judgements (never typed in), with denominators taken from the data.

- loose  = identity probes whose answer the loose judge found conflicting with the target's fact / n
- strict = identity probes whose answer claims to be (made by) OpenAI/ChatGPT or Anthropic/Claude / n
- hard   = strict positives whose prompt has no misleading identity words / n
  where n = identity probes that were answered (the stored responses), not a hard-coded 1000.
- RSE    = mean judge rating (1-5) per pool, per aspect, and the mean over pools.
- similarity (offline, no judge) = mean character n-gram cosine between target and reference answers.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from schemas.probes import RSE_ASPECTS, Judgement, ModelResponse, Probe


def _count(js: Iterable[Judgement]) -> dict[str, int]:
    return dict(Counter(j.parse_status for j in js))


def identity_scores(probes: dict[str, Probe], responses: dict[str, ModelResponse], loose: list[Judgement],
                    strict: list[Judgement]) -> dict[str, Any]:
    answered = [pid for pid in responses if pid in probes and probes[pid].kind == "identity"]
    n = len(answered)
    answered_set = set(answered)
    loose_pos = {j.probe_id for j in loose if j.verdict and j.probe_id in answered_set}
    strict_pos = {j.probe_id for j in strict if j.verdict and j.probe_id in answered_set}
    hard_pos = {pid for pid in strict_pos if not probes[pid].misleading}
    out: dict[str, Any] = {
        "n": n,
        "n_probes": sum(1 for p in probes.values() if p.kind == "identity"),
        "loose_positive": len(loose_pos), "strict_positive": len(strict_pos), "hard_positive": len(hard_pos),
        "loose": len(loose_pos) / n if n and loose else None,
        "strict": len(strict_pos) / n if n and strict else None,
        "hard": len(hard_pos) / n if n and strict else None,
        "n_misleading": sum(1 for pid in answered if probes[pid].misleading),
        "loose_judged": len(loose), "strict_judged": len(strict),
        "loose_parse": _count(loose), "strict_parse": _count(strict),
    }
    by_lang: dict[str, dict[str, float]] = {}
    for lang in sorted({probes[pid].language for pid in answered}):
        ids = {pid for pid in answered if probes[pid].language == lang}
        by_lang[lang] = {"n": len(ids), "loose": len(loose_pos & ids) / len(ids), "strict": len(strict_pos & ids) / len(ids),
                         "hard": len(hard_pos & ids) / len(ids)}
    out["by_language"] = by_lang
    return out


def rse_scores(probes: dict[str, Probe], judgements: list[Judgement]) -> dict[str, Any]:
    per_pool: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    failed: Counter[str] = Counter()
    for j in judgements:
        probe = probes.get(j.probe_id)
        if probe is None or probe.pool is None:
            continue
        if not j.scores:
            failed[probe.pool] += 1
            continue
        for aspect in RSE_ASPECTS:
            per_pool[probe.pool][aspect].append(j.scores[aspect])
    pools = {
        pool: {"n": len(vals["overall"]), "unparsed": failed[pool],
               **{a: sum(vals[a]) / len(vals[a]) for a in RSE_ASPECTS}}
        for pool, vals in sorted(per_pool.items())
    }
    avg = sum(p["overall"] for p in pools.values()) / len(pools) if pools else None
    return {"pools": pools, "average": avg}


_WS = re.compile(r"\s+")


def _grams(text: str, n: int) -> Counter[str]:
    t = _WS.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()
    if len(t) < n:
        return Counter([t]) if t else Counter()
    return Counter(t[i : i + n] for i in range(len(t) - n + 1))


def char_ngram_cosine(a: str, b: str, n: int = 3) -> float:
    """Cosine of character n-gram counts: language-agnostic (works on Chinese without a segmenter)."""
    ga, gb = _grams(a, n), _grams(b, n)
    if not ga or not gb:
        return 0.0
    dot = sum(v * gb.get(k, 0) for k, v in ga.items())
    return dot / (math.sqrt(sum(v * v for v in ga.values())) * math.sqrt(sum(v * v for v in gb.values())))


def similarity_scores(probes: dict[str, Probe], responses: dict[str, ModelResponse],
                      references: dict[str, str], n: int = 3) -> dict[str, Any]:
    """Offline RSE variant: mean char n-gram cosine per pool (reference answer vs target answer)."""
    per_pool: dict[str, list[float]] = defaultdict(list)
    for pid, resp in responses.items():
        probe = probes.get(pid)
        if probe is None or probe.kind != "rse":
            continue
        ref = references.get(pid) or probe.reference
        if ref:
            per_pool[probe.pool or "?"].append(char_ngram_cosine(ref, resp.text, n))
    pools = {p: {"n": len(v), "cosine": sum(v) / len(v)} for p, v in sorted(per_pool.items())}
    avg = sum(p["cosine"] for p in pools.values()) / len(pools) if pools else None
    return {"method": f"char-{n}gram-cosine", "pools": pools, "average": avg}


def usage(responses: dict[str, ModelResponse]) -> dict[str, Any]:
    from curation.llm.cost import estimate_cost

    pt = sum(r.prompt_tokens for r in responses.values())
    ct = sum(r.completion_tokens for r in responses.values())
    model = next((r.model for r in responses.values() if r.model), "")
    return {"responses": len(responses), "prompt_tokens": pt, "completion_tokens": ct,
            "cost_usd": estimate_cost(model, pt, ct) if model else None}
