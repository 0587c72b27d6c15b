"""Glue between the run store and judges/scores (kept out of the CLI so tests and scripts share it)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from curation.distill.judge import PROMPTS, JudgePrompt, run_judge
from curation.distill.score import identity_scores, rse_scores, similarity_scores, usage
from curation.distill.similarity import CharNgramSimilarity, Similarity
from curation.distill.store import RunStore
from curation.llm import LLMClient
from curation.pipeline.atomic import write_json_atomic
from curation.probes.build import load_probes
from curation.probes.inputs import fact_for, load_facts
from schemas.probes import Judgement, Probe

STRICT_SCOPES = ("loose-positives", "all")
DATASET_REFERENCE = "dataset"


def run_probes(store: RunStore, target: str) -> dict[str, Probe]:
    info = store.target_info(target)
    return {p.id: p for p in load_probes(Path(info["probes"]))}


def references_from(store: RunStore, reference: str | None, probes: dict[str, Probe]) -> dict[str, str]:
    """Reference answers by probe id: another target's stored answers, or (`dataset`) the pool's own
    reference answers. Explicit on purpose: the two give different scores, and the dataset has none
    for ArenaHard-like pools."""
    if not reference:
        return {}
    if reference == DATASET_REFERENCE:
        return {pid: p.reference for pid, p in probes.items() if p.kind == "rse" and p.reference}
    refs = store.responses(reference)
    if not refs:
        raise KeyError(f"{store.root}: reference target {reference!r} has no stored responses (run it first, "
                       f"or use --reference {DATASET_REFERENCE} for the pools' own answers)")
    return {pid: r.text for pid, r in refs.items()}


def _no_reference(probes: dict[str, Probe], answered: set[str], refs: dict[str, str]) -> dict[str, int]:
    """Answered RSE probes per pool that have no reference answer (so no judgement): never silently dropped."""
    return dict(Counter(p.pool or "?" for pid, p in probes.items() if p.kind == "rse" and pid in answered
                        and pid not in refs))


def judge_target(store: RunStore, target: str, kinds: list[str], client_kwargs: dict[str, Any], *,
                 facts_path: Path | None = None, reference_target: str | None = None,
                 prompts: dict[str, JudgePrompt] | None = None, strict_scope: str = "loose-positives",
                 progress: bool = True) -> dict[str, list[Judgement]]:
    """Run the judges in `kinds` over the target's stored answers and record how each ran in run.json."""
    if strict_scope not in STRICT_SCOPES:
        raise ValueError(f"strict scope must be one of {STRICT_SCOPES}, got {strict_scope!r}")
    prompts = prompts or PROMPTS
    probes = run_probes(store, target)
    responses = store.responses(target)
    if not responses:
        raise KeyError(f"{store.root}: target {target!r} has no stored responses (run `cqia distill run` first)")
    if "rse" in kinds and not reference_target:
        raise ValueError("the RSE judge needs an explicit reference: --reference TARGET (another target's answers, "
                         f"e.g. gpt-4o) or --reference {DATASET_REFERENCE} (the pools' own reference answers)")
    model = store.target_info(target).get("model")
    out: dict[str, list[Judgement]] = {}
    for kind in sorted(kinds, key=("loose", "strict", "rse").index):
        fact = fact_for(load_facts(facts_path), target, model) if kind == "loose" else None
        only: set[str] | None = None
        if kind == "strict" and strict_scope == "loose-positives":
            loose = out.get("loose") or store.judgements(target, "loose")
            if not loose:
                raise ValueError(f"strict scope loose-positives re-judges the loose positives, but {target!r} has no "
                                 "loose judgements: run --judge loose first (or --strict-scope all)")
            only = {j.probe_id for j in loose if j.verdict}
        refs = references_from(store, reference_target, probes) if kind == "rse" else None
        client = LLMClient(**client_kwargs, cache_path=store.judge_cache_path(target, kind))
        try:
            rows = run_judge(kind, client, target, probes, responses, fact=fact, references=refs, progress=progress,
                             prompt=prompts[kind], only=only)
        finally:
            if client.cache:
                client.cache.close()
        store.write_judgements(target, kind, rows)
        meta: dict[str, Any] = {"model": client.model, **prompts[kind].meta(), "judged": len(rows), "time": time.time()}
        if kind == "loose":
            meta.update(scope="all", fact=fact.fact if fact else None)
        if kind == "strict":
            meta["scope"] = strict_scope
        if kind == "rse":
            meta.update(reference=reference_target, no_reference=_no_reference(probes, set(responses), refs or {}))
        store.record_judge(target, kind, meta)
        out[kind] = rows
    return out


def score_target(store: RunStore, target: str, *, reference_target: str | None = None,
                 similarity: Similarity | None = None) -> dict[str, Any]:
    """Recompute every score of a target from what is stored; write scores/<target>.json."""
    from curation.distill.import_paper import compare_published, figures_for

    info = store.target_info(target)
    probes = run_probes(store, target)
    responses = store.responses(target)
    judges_meta = dict(info.get("judges") or {})
    loose, strict = store.judgements(target, "loose"), store.judgements(target, "strict")
    for kind, rows in (("loose", loose), ("strict", strict), ("rse", store.judgements(target, "rse"))):
        if rows and kind not in judges_meta:  # judged before run.json recorded judges
            judges_meta[kind] = {"model": ", ".join(sorted({j.judge_model for j in rows})),
                                 "prompt_version": ", ".join(sorted({j.prompt_version for j in rows}))}
    strict_meta = judges_meta.get("strict") or {}
    ident = identity_scores(probes, responses, loose, strict, strict_scope=strict_meta.get("scope") if strict_meta else None)
    if strict_meta.get("scope") == "loose-positives" and ident.get("strict_outside_loose"):
        ident["warning"] = (f"{ident['strict_outside_loose']} strict positives are not loose positives: the loose "
                            "judgements changed after the strict judge ran; re-run --judge strict")
    sim = similarity or CharNgramSimilarity(3)
    refs = references_from(store, reference_target, probes) if reference_target else {}
    rse = rse_scores(probes, store.judgements(target, "rse"))
    rse_meta = judges_meta.get("rse") or {}
    rse["reference"] = rse_meta.get("reference")
    rse["no_reference"] = rse_meta.get("no_reference", {})
    result: dict[str, Any] = {
        "target": target,
        "model": info.get("model"),
        "endpoint": info.get("endpoint"),
        "identity": ident,
        "rse": rse,
        "similarity": {**similarity_scores(probes, responses, refs, sim), "reference": reference_target,
                       "no_reference": _no_reference(probes, set(responses), refs) if reference_target else {}},
        "usage": usage(responses) if info.get("endpoint") != "paper-release" else {"responses": len(responses), "cost_usd": None},
        "judges": judges_meta,
        "probe_set": info.get("probes"),
    }
    if info.get("endpoint") == "paper-release":
        published = info.get("published") or {}
        result.update(published=published, comparison=compare_published(target, ident, published),
                      paper=figures_for(target), warnings=info.get("import_warnings", []),
                      imported={"files": info.get("imported_from"), "pairing": info.get("pairing")})
    write_json_atomic(store.scores_path(target), result)
    return result
