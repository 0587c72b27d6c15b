"""`cqia probes`: build distillation probe sets and release them to the Hub."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from curation.cli.common import console, fail, print_json, print_table

app = typer.Typer(help="Distillation probe sets: build (offline), fuzz (adaptive, per target) and release.",
                  no_args_is_help=True)


@app.command()
def build(
    out: Path = typer.Option(..., "--out", help="Probe-set directory to write."),
    questions: Path = typer.Option(None, help="Identity questions CSV (query,reference_responses) or JSONL; default: small shipped set."),
    templates: Path = typer.Option(None, help="Jailbreak templates JSON/JSONL with {query} (e.g. gptfuzz_seed_templates.json)."),
    facts: Path = typer.Option(None, help="Target facts YAML registry; default: shipped registry."),
    pool: list[str] = typer.Option([], help="RSE pool NAME=FORMAT:PATH (FORMAT: arenahard|numina|sharegpt|cqia). Repeatable."),
    n_per_pool: int = typer.Option(None, help="Seeded sample of N prompts per pool (default: all)."),
    pool_size: list[str] = typer.Option([], "--pool-size", help="NAME=N: sample size for one pool (overrides --n-per-pool). Repeatable."),
    mutate: int = typer.Option(0, help="Number of mutated templates to grow (GPTFuzz operators, MCTS-explore)."),
    seed_templates: int = typer.Option(None, help="Use N sampled seed templates in the identity probes (default: all)."),
    no_seeds: bool = typer.Option(False, "--no-seeds", help="Identity probes from mutated templates only (paper: 20 x 50)."),
    seed: int = typer.Option(0, help="RNG seed (mutation, MCTS, pool sampling)."),
    mutator_base_url: str = typer.Option(None, envvar="CQIA_MUTATOR_BASE_URL", help="Mutator endpoint (else CQIA_LLM_BASE_URL)."),
    mutator_model: str = typer.Option(None, envvar="CQIA_MUTATOR_MODEL", help="Mutator model (else CQIA_LLM_MODEL)."),
    mutator_api_key_env: str = typer.Option("CQIA_LLM_API_KEY", help="Env var holding the mutator API key."),
    mutation_prompts: Path = typer.Option(None, "--mutation-prompts", help="YAML/JSON with your own operator prompts."),
    judge_prompts: Path = typer.Option(None, "--judge-prompts", help="YAML/JSON with your own judge prompts (shipped in the set)."),
    missing_query: str = typer.Option("reject", help="Mutated template without {query}: reject | append (the paper appends the question)."),
) -> None:
    """Build identity probes (templates x questions) and RSE prompt pools into OUT (offline: no target is attacked)."""
    import os

    from curation.llm import LLMClient, LLMError
    from curation.probes.build import BuildSpec
    from curation.probes.build import build as do_build
    from curation.probes.inputs import InputError, default_path

    pools = []
    for spec in pool:
        name, _, rest = spec.partition("=")
        fmt, _, path = rest.partition(":")
        if not (name and fmt and path):
            fail(f"--pool expects NAME=FORMAT:PATH, got {spec!r}")
        pools.append((name, fmt, Path(path)))
    sizes: dict[str, int] = {}
    for spec_size in pool_size:
        name, _, n = spec_size.partition("=")
        if not name or not n.isdigit():
            fail(f"--pool-size expects NAME=N, got {spec_size!r}")
        sizes[name] = int(n)
    mutator = None
    if mutate:
        try:
            mutator = LLMClient.from_env(base_url=mutator_base_url, model=mutator_model,
                                         api_key=os.environ.get(mutator_api_key_env),
                                         cache_path=out / "mutator_cache.jsonl")
        except LLMError as exc:
            fail(f"mutator: {exc}")
    spec = BuildSpec(questions=questions or default_path("identity_questions.csv"),
                     templates=templates or default_path("templates.json"), facts=facts, pools=pools,
                     n_per_pool=n_per_pool, pool_sizes=sizes, n_mutated=mutate, n_seed_templates=seed_templates,
                     include_seeds=not no_seeds, seed=seed, mutator=mutator, judge_prompts=judge_prompts,
                     mutation_prompts=mutation_prompts, missing_query=missing_query)
    try:
        manifest = do_build(spec, out)
    except (InputError, FileNotFoundError, ValueError, LLMError) as exc:
        fail(str(exc))
    table = Table(title=f"Probe set {out}")
    table.add_column("item")
    table.add_column("count", justify="right")
    for key, value in manifest["counts"].items():
        table.add_row(key, str(value))
    console.print(table)


def _endpoint(base_url: str | None, model: str | None, key_env: str, prefixes: tuple[str, ...], what: str,
              **kw: object) -> dict:
    """LLMClient kwargs from options, else the first of the env prefixes that sets them."""
    import os

    base_url = base_url or next((os.environ[f"{p}_BASE_URL"] for p in prefixes if os.environ.get(f"{p}_BASE_URL")), None)
    model = model or next((os.environ[f"{p}_MODEL"] for p in prefixes if os.environ.get(f"{p}_MODEL")), None)
    if not base_url:
        fail(f"{what}: no endpoint: pass the --…base-url option or set {' or '.join(p + '_BASE_URL' for p in prefixes)}")
    if not model:
        fail(f"{what}: no model: pass the --…model option or set {' or '.join(p + '_MODEL' for p in prefixes)}")
    return {"base_url": base_url, "model": model, "api_key": os.environ.get(key_env), **kw}


@app.command()
def fuzz(
    out: Path = typer.Option(..., "--out", help="Probe-set directory to write (templates grown against this target)."),
    run_dir: Path = typer.Option(..., "--run-dir", help="Run directory: the target's answers and loose judgements go here."),
    target: str = typer.Option(..., help="Name of the model under test (also the fact-registry key)."),
    base_url: str = typer.Option(None, "--base-url", help="Target endpoint (…/v1); else CQIA_LLM_BASE_URL."),
    model: str = typer.Option(None, "--model", help="Target model id; else CQIA_LLM_MODEL."),
    api_key_env: str = typer.Option("CQIA_LLM_API_KEY", help="Env var holding the target's API key."),
    judge_base_url: str = typer.Option(None, "--judge-base-url", help="Judge endpoint; else CQIA_JUDGE_BASE_URL."),
    judge_model: str = typer.Option(None, "--judge-model", "--judge", help="Judge model (the reward); else CQIA_JUDGE_MODEL."),
    judge_api_key_env: str = typer.Option("CQIA_JUDGE_API_KEY"),
    mutator_base_url: str = typer.Option(None, "--mutator-base-url", help="Mutator endpoint; else CQIA_MUTATOR_BASE_URL, CQIA_LLM_BASE_URL."),
    mutator_model: str = typer.Option(None, "--mutator-model", help="Mutator model; else CQIA_MUTATOR_MODEL, CQIA_LLM_MODEL."),
    mutator_api_key_env: str = typer.Option("CQIA_MUTATOR_API_KEY"),
    questions: Path = typer.Option(None, help="Identity questions CSV/JSONL; default: small shipped set."),
    templates: Path = typer.Option(None, help="Seed templates JSON/JSONL with {query}; default: shipped seeds."),
    facts: Path = typer.Option(None, help="Target facts YAML (the loose judge's truth); default: shipped registry."),
    max_queries: int = typer.Option(1000, help="Query budget for the target (the paper: 1000 = 20 templates x 50 questions)."),
    max_attempts: int = typer.Option(None, help="Cap on mutation attempts, valid or not (default: 5 x the templates the budget allows)."),
    seed: int = typer.Option(0, help="RNG seed (operator choice, MCTS exploration)."),
    missing_query: str = typer.Option("reject", help="Mutated template without {query}: reject | append (the paper appends the question)."),
    judge_prompts: Path = typer.Option(None, "--judge-prompts", help="YAML/JSON with your own loose judge prompt."),
    mutation_prompts: Path = typer.Option(None, "--mutation-prompts", help="YAML/JSON with your own operator prompts."),
    system_prompt: str = typer.Option(None, help="System message for the target (the paper's agent: 'You are a helpful assistant.')."),
    temperature: float = typer.Option(0.0, help="Target temperature."),
    max_tokens: int = typer.Option(1024, help="Target max_tokens."),
    concurrency: int = typer.Option(8),
    rps: float = typer.Option(None, help="Max requests per second (each endpoint)."),
    timeout: float = typer.Option(60.0),
    force: bool = typer.Option(False, help="Continue even if the target was run with another model/params."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON on stdout."),
) -> None:
    """Adaptive GPTFuzz against one target (the paper's loop): mutate -> query -> judge -> reward -> select.

    Seeded and resumable: re-run the same command after a crash or kill and it continues without
    re-sending any stored query. Then `cqia distill judge --judge strict` and `cqia distill score`."""
    from curation.distill.judge import PromptFileError
    from curation.llm import LLMError
    from curation.probes.fuzz import FuzzConfig, FuzzError, FuzzRun, run_fuzz
    from curation.probes.inputs import InputError, default_path

    kw = {"concurrency": concurrency, "rate_limit_rps": rps, "timeout_s": timeout}
    spec = FuzzRun(
        out_dir=out, run_dir=run_dir, target=target,
        target_client=_endpoint(base_url, model, api_key_env, ("CQIA_LLM",), "target", **kw),
        judge_client=_endpoint(judge_base_url, judge_model, judge_api_key_env, ("CQIA_JUDGE",), "judge", **kw),
        mutator_client=_endpoint(mutator_base_url, mutator_model, mutator_api_key_env, ("CQIA_MUTATOR", "CQIA_LLM"), "mutator", **kw),
        questions_path=questions or default_path("identity_questions.csv"),
        templates_path=templates or default_path("templates.json"), facts_path=facts,
        config=FuzzConfig(max_queries=max_queries, seed=seed, max_attempts=max_attempts, missing_query=missing_query,
                          target_params={"temperature": temperature, "max_tokens": max_tokens}, system_prompt=system_prompt),
        judge_prompts_path=judge_prompts, mutation_prompts_path=mutation_prompts, force=force)

    def show(step: dict) -> None:
        if not as_json:
            console.print(f"template {step['iteration']:>3} ({step['operator']} of {step['parent']}): "
                          f"{step['successes']}/{step['trials']} judged positive, {step['queries']} queries", highlight=False)

    try:
        manifest = run_fuzz(spec, progress=show)
    except (InputError, FileNotFoundError, ValueError, LLMError, PromptFileError) as exc:
        fail(str(exc))
    except FuzzError as exc:
        fail(str(exc), code=2)
    if as_json:
        print_json(manifest)
        return
    table = Table(title=f"adaptive fuzz: {target} -> {out}")
    table.add_column("item")
    table.add_column("value", justify="right")
    for key, value in manifest["counts"].items():
        table.add_row(key, str(value))
    table.add_row("stopped", manifest["fuzz"]["stopped"])
    print_table(table)


@app.command()
def release(
    probes: Path = typer.Option(..., "--probes", help="Probe-set directory from `cqia probes build`."),
    out: Path = typer.Option(..., "--out", help="Release directory (Hub layout) to write."),
    repo_id: str = typer.Option(None, "--repo-id", help="Push to this Hub dataset repo (owner/name)."),
    tag: str = typer.Option(None, help="Tag the pushed commit."),
    private: bool = typer.Option(False),
    endpoint: str = typer.Option(None, envvar="HF_ENDPOINT", help="Hub endpoint (HF_ENDPOINT)."),
    token: str = typer.Option(None, envvar="HF_TOKEN", help="Hub token (HF_TOKEN); never printed.", show_default=False),
    name: str = typer.Option("cqia-distill-probes", help="Dataset name in the card."),
) -> None:
    """Write the probe set as a multi-config Hub dataset (Parquet + card) and optionally push it."""
    from curation.probes.release import build_release_dir

    try:
        counts = build_release_dir(probes, out, name=name, version=tag or "")
    except FileNotFoundError as exc:
        fail(str(exc))
    table = Table(title=f"Release dir {out}")
    table.add_column("config")
    table.add_column("rows", justify="right")
    for config, n in counts.items():
        table.add_row(config, str(n))
    console.print(table)
    if not repo_id:
        return
    from curation.release.push import ReleasePushError, push_release

    try:
        result = push_release(out, repo_id, tag=tag, private=private, token=token, endpoint=endpoint)
    except ReleasePushError as exc:
        fail(str(exc))
    console.print(result.to_table())
    if not all(c.ok for c in result.checks):
        fail("the pushed release does not load back identically (see the table above)")
