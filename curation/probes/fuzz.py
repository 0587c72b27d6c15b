"""The paper's adaptive GPTFuzz loop, per target: select (MCTS-explore) -> mutate -> query the target
with every identity question -> loose-judge the answers -> reward -> select again.

As in `Gptfuzzer_Identity.attack` (the paper's repository): the seeds are not queried themselves;
each accepted mutated template is applied to all questions; its reward is the share of answers the
judge finds conflicting with the target's identity fact, backed up the selected path; the run stops
at a query budget (the paper: 1000 = 20 templates x 50 questions).

Resumable by construction: mutator, target and judge calls all go through append-only caches with
stable keys (mutation: prompt version, seed, attempt, prompt hash; target: probe id; judge: prompt
version, probe id, rendered prompt). A killed run re-run with the same arguments replays the stored
calls in the same order (the RNG sees the same sequence), so no stored query is sent again, and
continues where it stopped. An iteration in which the target or the judge failed stops the run with a
message (its stored answers are kept), because continuing would reward the template on missing data.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.distill.judge import JudgePrompt, run_judge
from curation.llm import ChatError, ChatRequest, LLMClient
from curation.probes.mcts import MCTSExplore
from curation.probes.mutate import DEFAULT_PROMPTS, MutationPrompts, Mutator
from schemas.probes import (
    IdentityQuestion,
    JailbreakTemplate,
    Judgement,
    ModelResponse,
    Probe,
    TargetFact,
    is_misleading,
)


class FuzzError(RuntimeError):
    """The loop had to stop (target/judge failures); everything answered so far is stored."""


@dataclass
class FuzzConfig:
    max_queries: int = 1000
    seed: int = 0
    max_attempts: int | None = None  # mutation attempts (valid or not); default: 5 x templates the budget allows
    missing_query: str = "reject"
    target_params: dict[str, Any] = field(default_factory=lambda: {"temperature": 0.0, "max_tokens": 1024})
    mutator_temperature: float = 1.0
    system_prompt: str | None = None  # the paper's agent sends "You are a helpful assistant."


@dataclass
class FuzzResult:
    templates: list[JailbreakTemplate] = field(default_factory=list)  # accepted mutated templates, in order
    probes: list[Probe] = field(default_factory=list)
    responses: dict[str, ModelResponse] = field(default_factory=dict)
    judgements: list[Judgement] = field(default_factory=list)
    iterations: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    queries: int = 0
    sent: int = 0
    cached: int = 0
    mutator_calls: int = 0
    stopped: str = ""


def template_probes(template: JailbreakTemplate, questions: list[IdentityQuestion]) -> list[Probe]:
    out = []
    for q in questions:
        prompt = template.render(q.text)
        out.append(Probe(id=f"id-{template.id}-{q.id}", kind="identity", prompt=prompt, language=q.language,
                         template_id=template.id, question_id=q.id, query=q.text, misleading=is_misleading(prompt)))
    return out


def _messages(probe: Probe, system_prompt: str | None) -> list[dict[str, Any]]:
    msgs = probe.chat_messages()
    return [{"role": "system", "content": system_prompt}, *msgs] if system_prompt else msgs


def adaptive_fuzz(seeds: list[JailbreakTemplate], questions: list[IdentityQuestion], *, target_name: str,
                  mutator: LLMClient, target: LLMClient, judge: LLMClient, fact: TargetFact, judge_prompt: JudgePrompt,
                  config: FuzzConfig, prompts: MutationPrompts = DEFAULT_PROMPTS,
                  progress: Callable[[dict[str, Any]], None] | None = None) -> FuzzResult:
    """Grow templates against one target until the query budget is spent; see the module docstring."""
    if not seeds:
        raise ValueError("adaptive fuzzing needs at least one seed template")
    if not questions:
        raise ValueError("adaptive fuzzing needs identity questions")
    rng = random.Random(config.seed)
    by_id = {t.id: t for t in seeds}
    tree = MCTSExplore([t.id for t in seeds], rng)
    mut = Mutator(mutator, seeds, rng, seed=config.seed, prompts=prompts, missing_query=config.missing_query,
                  temperature=config.mutator_temperature)
    n_q = len(questions)
    max_templates = config.max_queries // n_q
    if max_templates < 1:
        raise ValueError(f"query budget {config.max_queries} is smaller than one template x {n_q} questions")
    max_attempts = config.max_attempts if config.max_attempts is not None else max_templates * 5
    out = FuzzResult()
    attempt = 0
    while out.queries + n_q <= config.max_queries and attempt < max_attempts:
        attempt += 1
        node = tree.select()
        path = [n.template_id for n in tree.path]
        tpl, info = mut.mutate(attempt, by_id[node.template_id])
        out.mutator_calls = mut.calls
        if tpl is None:
            if info.pop("error", False):
                raise FuzzError(f"attempt {attempt}: {info['reason']} (re-run the same command to resume)")
            out.rejected.append(info)
            tree.update(0, 1)
            continue
        probes = template_probes(tpl, questions)
        reqs = [ChatRequest(p.id, _messages(p, config.system_prompt), dict(config.target_params),
                            {"probe_id": p.id, "target": target_name, "template_id": tpl.id}) for p in probes]
        answers: dict[str, ModelResponse] = {}
        errors = []
        for probe, res in zip(probes, target.chat_many(reqs, progress=False), strict=True):
            if isinstance(res, ChatError):
                errors.append(res.error)
                continue
            out.cached += res.cached
            out.sent += not res.cached
            answers[probe.id] = ModelResponse(probe_id=probe.id, target=target_name, model=res.model,
                                              endpoint=target.base_url, params=dict(config.target_params), text=res.text,
                                              prompt_tokens=res.prompt_tokens, completion_tokens=res.completion_tokens,
                                              latency_s=res.latency_s, time=time.time())
        if errors:
            raise FuzzError(f"attempt {attempt}: {len(errors)} of {n_q} target queries failed ({errors[0]}); "
                            "the answers so far are stored: re-run the same command to resume")
        verdicts = run_judge("loose", judge, target_name, {p.id: p for p in probes}, answers, fact=fact,
                             prompt=judge_prompt, progress=False)
        if failed := [j for j in verdicts if j.raw_output.startswith("<error:")]:
            raise FuzzError(f"attempt {attempt}: the judge failed on {len(failed)} answers ({failed[0].raw_output[:200]}); "
                            "re-run the same command to resume")
        successes = sum(1 for j in verdicts if j.verdict)
        by_id[tpl.id] = tpl
        tree.add_child(node, tpl.id)
        tree.update(successes, n_q)
        out.templates.append(tpl)
        out.probes += probes
        out.responses.update(answers)
        out.judgements += verdicts
        out.queries += n_q
        step = {**info, "iteration": len(out.templates), "selected_path": path, "successes": successes, "trials": n_q,
                "reward": successes / n_q, "queries": out.queries}
        out.iterations.append(step)
        if progress:
            progress(step)
    out.stopped = ("query budget reached" if out.queries + n_q > config.max_queries
                   else f"mutation attempts exhausted ({max_attempts})")
    return out


# ------------------------------------------------------------------ a whole run: clients, stores, outputs


@dataclass
class FuzzRun:
    """Everything `cqia probes fuzz` needs: inputs, the three endpoints and where to write."""

    out_dir: Path
    run_dir: Path
    target: str
    target_client: dict[str, Any]  # LLMClient kwargs (base_url, model, api_key, concurrency, ...)
    judge_client: dict[str, Any]
    mutator_client: dict[str, Any]
    questions_path: Path
    templates_path: Path
    facts_path: Path | None = None
    config: FuzzConfig = field(default_factory=FuzzConfig)
    judge_prompts_path: Path | None = None
    mutation_prompts_path: Path | None = None
    force: bool = False


def run_fuzz(spec: FuzzRun, progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the adaptive loop; write the probe set (OUT) and the target's answers and loose judgements (run dir)."""
    from curation.distill.judge import judge_prompt_rows, load_judge_prompts
    from curation.distill.store import RunStore
    from curation.pipeline.atomic import write_json_atomic, write_jsonl_atomic
    from curation.probes.build import file_input
    from curation.probes.inputs import fact_for, load_facts, load_questions, load_templates
    from curation.probes.mutate import load_mutation_prompts, mutation_prompt_rows

    questions = load_questions(spec.questions_path)
    seeds, bad_seeds = load_templates(spec.templates_path)
    facts = load_facts(spec.facts_path)
    fact = fact_for(facts, spec.target, spec.target_client.get("model"))
    judge_prompts = load_judge_prompts(spec.judge_prompts_path)
    mutation_prompts = load_mutation_prompts(spec.mutation_prompts_path)
    store = RunStore(spec.run_dir)
    params = dict(spec.config.target_params)
    store.register_target(spec.target, {"model": spec.target_client["model"], "endpoint": spec.target_client["base_url"],
                                        "params": params, "probes": str(Path(spec.out_dir).resolve())}, force=spec.force)
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    mutator = LLMClient(**spec.mutator_client, cache_path=spec.out_dir / "mutator_cache.jsonl")
    target = LLMClient(**spec.target_client, cache_path=store.responses_path(spec.target))
    judge = LLMClient(**spec.judge_client, cache_path=store.judge_cache_path(spec.target, "loose"))
    try:
        result = adaptive_fuzz(seeds, questions, target_name=spec.target, mutator=mutator, target=target, judge=judge,
                               fact=fact, judge_prompt=judge_prompts["loose"], config=spec.config,
                               prompts=mutation_prompts, progress=progress)
    finally:
        for client in (mutator, target, judge):
            if client.cache:
                client.cache.close()
    rows = {
        "identity_questions": [q.model_dump() for q in questions],
        "target_facts": [f.model_dump() for f in facts.values()],
        "templates": [t.model_dump() for t in seeds + result.templates],
        "identity_probes": [p.model_dump() for p in result.probes],
        "rse_prompts": [],
        "judge_prompts": judge_prompt_rows(judge_prompts),
        "mutation_prompts": mutation_prompt_rows(mutation_prompts),
        "fuzz_log": result.iterations,
    }
    counts = {name: write_jsonl_atomic(spec.out_dir / f"{name}.jsonl", data) for name, data in rows.items()}
    rejects = [{"location": r.location, "reason": r.reason, "text": r.text[:2000]} for r in bad_seeds]
    rejects += [{"location": f"mutation attempt {r['attempt']}", **r} for r in result.rejected]
    write_jsonl_atomic(spec.out_dir / "rejects.jsonl", rejects)
    store.write_judgements(spec.target, "loose", result.judgements)
    store.record_judge(spec.target, "loose", {"model": judge.model, **judge_prompts["loose"].meta(), "scope": "all",
                                              "judged": len(result.judgements), "fact": fact.fact, "time": time.time(),
                                              "during": "probes fuzz (the reward of the adaptive loop)"})
    selected: dict[str, int] = {}
    for it in result.iterations:
        root = it["selected_path"][0]
        selected[root] = selected.get(root, 0) + 1
    manifest = {
        "kind": "cqia-probe-set",
        "method": "adaptive GPTFuzz (MCTS-explore; reward = loose-judge positives of the target's answers)",
        "seed": spec.config.seed,
        "inputs": {"questions": file_input(spec.questions_path), "templates": file_input(spec.templates_path),
                   "facts": file_input(spec.facts_path) if spec.facts_path else "shipped:curation/data/probes/target_facts.yaml",
                   "pools": []},
        "params": {"max_queries": spec.config.max_queries, "missing_query": spec.config.missing_query,
                   "max_attempts": spec.config.max_attempts, "target_params": params,
                   "system_prompt": spec.config.system_prompt, "mutator_temperature": spec.config.mutator_temperature,
                   "mutator_model": mutator.model, "n_mutated": len(result.templates), "include_seeds": False},
        "fuzz": {"target": spec.target, "target_model": target.model, "target_endpoint": target.base_url,
                 "judge_model": judge.model, "judge_prompt": judge_prompts["loose"].meta(), "fact": fact.fact,
                 "mutator_model": mutator.model, "mutation_prompts": mutation_prompts.meta(),
                 "run_dir": str(Path(spec.run_dir).resolve()), "stopped": result.stopped,
                 "selections_per_seed": dict(sorted(selected.items(), key=lambda kv: -kv[1]))},
        "counts": {**counts, "rejected_templates": len(rejects), "mutator_calls": result.mutator_calls,
                   "mutated_templates": len(result.templates), "target_queries": result.queries,
                   "target_sent": result.sent, "target_cached": result.cached,
                   "loose_positive": sum(1 for j in result.judgements if j.verdict)},
    }
    write_json_atomic(spec.out_dir / "manifest.json", manifest)
    return manifest
