"""Build a probe-set directory: questions, facts, templates (seeds + mutated), identity and RSE probes.

Output (`DIR/`): one JSONL per config plus `manifest.json` (inputs, seed, counts, rejects). Every file
is written atomically; a rebuild with the same inputs and seed gives byte-identical files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from curation.distill.judge import judge_prompt_rows, load_judge_prompts
from curation.llm import LLMClient
from curation.pipeline.atomic import write_json_atomic, write_jsonl_atomic
from curation.probes.inputs import load_facts, load_questions, load_templates
from curation.probes.mutate import fuzz, load_mutation_prompts, mutation_prompt_rows
from curation.probes.pools import load_pool, sample
from schemas.probes import IdentityQuestion, JailbreakTemplate, Probe, is_misleading

CONFIGS = ("identity_questions", "target_facts", "templates", "identity_probes", "rse_prompts", "judge_prompts",
           "mutation_prompts")


@dataclass
class BuildSpec:
    questions: Path
    templates: Path
    facts: Path | None = None
    pools: list[tuple[str, str, Path]] = field(default_factory=list)  # (pool name, format, path)
    n_per_pool: int | None = None
    pool_sizes: dict[str, int] = field(default_factory=dict)  # per-pool sample size (overrides n_per_pool)
    n_mutated: int = 0
    n_seed_templates: int | None = None  # use only N seeds (sampled) in identity probes
    include_seeds: bool = True
    seed: int = 0
    mutator: LLMClient | None = None
    judge_prompts: Path | None = None  # user wording for the judges (else the built-in prompts)
    mutation_prompts: Path | None = None  # user wording for the mutator operators
    missing_query: str = "reject"  # mutated template without {query}: reject, or append the question (the paper)


def identity_probes(templates: list[JailbreakTemplate], questions: list[IdentityQuestion]) -> list[Probe]:
    out = []
    for t in templates:
        for q in questions:
            prompt = t.render(q.text)
            out.append(Probe(id=f"id-{t.id}-{q.id}", kind="identity", prompt=prompt, language=q.language,
                             template_id=t.id, question_id=q.id, query=q.text, misleading=is_misleading(prompt)))
    return out


def build(spec: BuildSpec, out_dir: Path) -> dict[str, Any]:
    """Write the probe set; returns the manifest."""
    import random

    questions = load_questions(spec.questions)
    facts = load_facts(spec.facts)
    seeds, rejected_inputs = load_templates(spec.templates)
    rejected = [{"location": r.location, "reason": r.reason, "text": r.text[:2000]} for r in rejected_inputs]
    mutated: list[JailbreakTemplate] = []
    mutation_calls = 0
    judge_prompts = load_judge_prompts(spec.judge_prompts)
    mutation_prompts = load_mutation_prompts(spec.mutation_prompts)
    if unknown := set(spec.pool_sizes) - {name for name, _, _ in spec.pools}:
        raise ValueError(f"pool size given for unknown pool(s) {sorted(unknown)}")
    if spec.n_mutated:
        if spec.mutator is None:
            raise ValueError("mutation needs a mutator endpoint (--mutator-base-url/--mutator-model or CQIA_LLM_*)")
        log = fuzz(seeds, spec.mutator, spec.n_mutated, seed=spec.seed, prompts=mutation_prompts,
                   missing_query=spec.missing_query)
        mutated, mutation_calls = log.accepted, log.calls
        rejected += [{"location": f"mutation attempt {r['attempt']}", **r} for r in log.rejected]
    used_seeds = seeds if spec.include_seeds else []
    if spec.include_seeds and spec.n_seed_templates is not None and spec.n_seed_templates < len(seeds):
        used_seeds = random.Random(spec.seed).sample(seeds, spec.n_seed_templates)
    attack_templates = used_seeds + mutated
    rse: list[Probe] = []
    pool_rejects: list[dict] = []
    for name, fmt, path in spec.pools:
        probes, rej = load_pool(path, fmt, name)
        rse += sample(probes, spec.pool_sizes.get(name, spec.n_per_pool), spec.seed)
        pool_rejects += [{**r, "pool": name} for r in rej]
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = {
        "identity_questions": [q.model_dump() for q in questions],
        "target_facts": [f.model_dump() for f in facts.values()],
        "templates": [t.model_dump() for t in seeds + mutated],
        "identity_probes": [p.model_dump() for p in identity_probes(attack_templates, questions)],
        "rse_prompts": [p.model_dump() for p in rse],
        "judge_prompts": judge_prompt_rows(judge_prompts),
        "mutation_prompts": mutation_prompt_rows(mutation_prompts),
    }
    counts = {name: write_jsonl_atomic(out_dir / f"{name}.jsonl", data) for name, data in rows.items()}
    write_jsonl_atomic(out_dir / "rejects.jsonl", rejected + pool_rejects)
    manifest = {
        "kind": "cqia-probe-set",
        "seed": spec.seed,
        "inputs": {
            "questions": file_input(spec.questions), "templates": file_input(spec.templates),
            "facts": file_input(spec.facts) if spec.facts else "shipped:curation/data/probes/target_facts.yaml",
            "pools": [{"pool": n, "format": f, "sample": spec.pool_sizes.get(n, spec.n_per_pool), **file_input(p)}
                      for n, f, p in spec.pools],
        },
        "params": {"n_per_pool": spec.n_per_pool, "pool_sizes": spec.pool_sizes, "n_mutated": spec.n_mutated,
                   "n_seed_templates": spec.n_seed_templates, "include_seeds": spec.include_seeds,
                   "missing_query": spec.missing_query, "mutator_model": spec.mutator.model if spec.mutator else None,
                   "mutation_prompts": mutation_prompts.meta() if spec.n_mutated else None,
                   "judge_prompts": {k: p.meta() for k, p in judge_prompts.items()}},
        "method": "offline GPTFuzz mutation (MCTS-explore; reward = the mutation is valid; no target attacked)"
                  if spec.n_mutated else "seed templates only",
        "counts": {**counts, "rejected_templates": len(rejected), "rejected_pool_rows": len(pool_rejects),
                   "mutator_calls": mutation_calls, "mutated_templates": len(mutated)},
    }
    write_json_atomic(out_dir / "manifest.json", manifest)
    return manifest


def file_input(path: Path) -> dict[str, Any]:
    data = Path(path).read_bytes()
    return {"path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def load_probes(probe_dir: Path, kind: str | None = None) -> list[Probe]:
    """Probes of a built set (identity, rse, or both)."""
    names = {"identity": ["identity_probes"], "rse": ["rse_prompts"]}.get(kind or "", ["identity_probes", "rse_prompts"])
    out: list[Probe] = []
    for name in names:
        path = Path(probe_dir) / f"{name}.jsonl"
        if not path.exists():
            raise FileNotFoundError(f"{path}: not a probe set directory (run `cqia probes build` first)")
        with path.open("rb") as handle:
            out += [Probe(**orjson.loads(line)) for line in handle if line.strip()]
    return out


def load_rows(probe_dir: Path, name: str) -> list[dict[str, Any]]:
    path = Path(probe_dir) / f"{name}.jsonl"
    with path.open("rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]
