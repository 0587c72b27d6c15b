"""Scores computed from stored judgements (never typed in), with denominators taken from the data.

- loose  = identity probes whose answer the loose judge found conflicting with the target's fact / n
- strict = identity probes whose answer claims to be (made by) OpenAI/ChatGPT or Anthropic/Claude / n
- hard   = strict positives whose prompt has no misleading identity words / n
  where n = identity probes that were answered (the stored responses), not a hard-coded 1000.
- RSE    = mean judge rating (1-5) per pool, per aspect, and the mean over pools.
- similarity (no judge) = mean cosine between target and reference answers, by character n-grams or
  by embeddings (curation/distill/similarity.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from curation.distill.similarity import Similarity, char_ngram_cosine  # noqa: F401  (re-exported)
from curation.distill.stats import wilson
from schemas.probes import RSE_ASPECTS, Judgement, ModelResponse, Probe


def _count(js: Iterable[Judgement]) -> dict[str, int]:
    return dict(Counter(j.parse_status for j in js))


def identity_scores(probes: dict[str, Probe], responses: dict[str, ModelResponse], loose: list[Judgement],
                    strict: list[Judgement], *, strict_scope: str | None = None) -> dict[str, Any]:
    """Loose/strict/hard shares of the answered identity probes, each with its Wilson 95% interval.

    A score whose judge never ran is None (missing), never 0. `strict_scope` records which answers
    the strict judge saw: `loose-positives` (the paper: strict is a re-judgement of loose positives,
    so strict <= loose) or `all`; given, it also says the strict judge ran (possibly on nothing).
    """
    answered = [pid for pid in responses if pid in probes and probes[pid].kind == "identity"]
    n = len(answered)
    answered_set = set(answered)
    loose_pos = {j.probe_id for j in loose if j.verdict and j.probe_id in answered_set}
    strict_pos = {j.probe_id for j in strict if j.verdict and j.probe_id in answered_set}
    hard_pos = {pid for pid in strict_pos if not probes[pid].misleading}
    ran_strict = bool(strict) or strict_scope is not None  # a strict judge that found nothing to judge still ran
    have = {"loose": bool(loose), "strict": ran_strict, "hard": ran_strict}
    out: dict[str, Any] = {
        "n": n,
        "n_probes": sum(1 for p in probes.values() if p.kind == "identity"),
        "loose_positive": len(loose_pos), "strict_positive": len(strict_pos), "hard_positive": len(hard_pos),
        "n_misleading": sum(1 for pid in answered if probes[pid].misleading),
        "loose_judged": len(loose), "strict_judged": len(strict),
        "loose_parse": _count(loose), "strict_parse": _count(strict),
        "strict_scope": (strict_scope or "unrecorded") if ran_strict else None,
        "strict_outside_loose": len(strict_pos - loose_pos) if loose else None,
    }
    for name, pos in (("loose", loose_pos), ("strict", strict_pos), ("hard", hard_pos)):
        ok = bool(n) and have[name]
        out[name] = len(pos) / n if ok else None
        out[f"{name}_ci95"] = list(wilson(len(pos), n)) if ok else None  # type: ignore[arg-type]
    by_lang: dict[str, dict[str, Any]] = {}
    for lang in sorted({probes[pid].language for pid in answered}):
        ids = {pid for pid in answered if probes[pid].language == lang}
        row: dict[str, Any] = {"n": len(ids)}
        for name, pos in (("loose", loose_pos), ("strict", strict_pos), ("hard", hard_pos)):
            k = len(pos & ids)
            row[f"{name}_positive"] = k
            row[name] = k / len(ids) if have[name] else None
            row[f"{name}_ci95"] = list(wilson(k, len(ids))) if have[name] else None  # type: ignore[arg-type]
        by_lang[lang] = row
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


def similarity_scores(probes: dict[str, Probe], responses: dict[str, ModelResponse],
                      references: dict[str, str], similarity: Similarity) -> dict[str, Any]:
    """Judge-free RSE variant: mean similarity per pool between the reference answer and the target's answer."""
    items: list[tuple[str, str, str]] = []
    for pid, resp in sorted(responses.items()):
        probe = probes.get(pid)
        if probe is None or probe.kind != "rse":
            continue
        ref = references.get(pid)
        if ref:
            items.append((probe.pool or "?", ref, resp.text))
    values = similarity.scores([(ref, text) for _, ref, text in items]) if items else []
    per_pool: dict[str, list[float]] = defaultdict(list)
    for (pool, _, _), v in zip(items, values, strict=True):
        per_pool[pool].append(v)
    pools = {p: {"n": len(v), "cosine": sum(v) / len(v)} for p, v in sorted(per_pool.items())}
    avg = sum(p["cosine"] for p in pools.values()) / len(pools) if pools else None
    return {"method": similarity.name, "pools": pools, "average": avg}


def usage(responses: dict[str, ModelResponse]) -> dict[str, Any]:
    from curation.llm.cost import estimate_cost

    pt = sum(r.prompt_tokens for r in responses.values())
    ct = sum(r.completion_tokens for r in responses.values())
    model = next((r.model for r in responses.values() if r.model), "")
    return {"responses": len(responses), "prompt_tokens": pt, "completion_tokens": ct,
            "cost_usd": estimate_cost(model, pt, ct) if model else None}
