"""Glue between the run store and judges/scores (kept out of the CLI so tests and scripts share it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curation.distill.judge import run_judge
from curation.distill.score import identity_scores, rse_scores, similarity_scores, usage
from curation.distill.store import RunStore
from curation.llm import LLMClient
from curation.pipeline.atomic import write_json_atomic
from curation.probes.build import load_probes
from curation.probes.inputs import fact_for, load_facts
from schemas.probes import Judgement, Probe


def run_probes(store: RunStore, target: str) -> dict[str, Probe]:
    info = store.manifest()["targets"].get(target)
    if info is None:
        raise KeyError(f"{store.root}/run.json: no target {target!r} (known: {', '.join(store.targets()) or 'none'})")
    return {p.id: p for p in load_probes(Path(info["probes"]))}


def references_from(store: RunStore, reference_target: str | None) -> dict[str, str]:
    if not reference_target:
        return {}
    refs = store.responses(reference_target)
    if not refs:
        raise KeyError(f"{store.root}: reference target {reference_target!r} has no stored responses (run it first)")
    return {pid: r.text for pid, r in refs.items()}


def judge_target(store: RunStore, target: str, kinds: list[str], client_kwargs: dict[str, Any], *,
                 facts_path: Path | None = None, reference_target: str | None = None,
                 progress: bool = True) -> dict[str, list[Judgement]]:
    probes = run_probes(store, target)
    responses = store.responses(target)
    if not responses:
        raise KeyError(f"{store.root}: target {target!r} has no stored responses (run `cqia distill run` first)")
    model = store.manifest()["targets"][target].get("model")
    out = {}
    for kind in kinds:
        fact = fact_for(load_facts(facts_path), target, model) if kind == "loose" else None
        client = LLMClient(**client_kwargs, cache_path=store.judge_cache_path(target, kind))
        try:
            rows = run_judge(kind, client, target, probes, responses, fact=fact,
                             references=references_from(store, reference_target) if kind == "rse" else None,
                             progress=progress)
        finally:
            if client.cache:
                client.cache.close()
        store.write_judgements(target, kind, rows)
        out[kind] = rows
    return out


def score_target(store: RunStore, target: str, *, reference_target: str | None = None, ngram: int = 3) -> dict[str, Any]:
    probes = run_probes(store, target)
    responses = store.responses(target)
    refs = references_from(store, reference_target) if reference_target else {}
    result = {
        "target": target,
        "model": store.manifest()["targets"][target].get("model"),
        "identity": identity_scores(probes, responses, store.judgements(target, "loose"), store.judgements(target, "strict")),
        "rse": rse_scores(probes, store.judgements(target, "rse")),
        "similarity": similarity_scores(probes, responses, refs, ngram),
        "usage": usage(responses),
        "judges": {k: sorted({f"{j.judge_model}@{j.prompt_version}" for j in store.judgements(target, k)})
                   for k in ("loose", "strict", "rse")},
    }
    write_json_atomic(store.scores_path(target), result)
    return result
