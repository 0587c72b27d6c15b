"""`cqia probes`: build distillation probe sets and release them to the Hub."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from curation.cli.common import console, fail

app = typer.Typer(help="Distillation probe sets: build and release.", no_args_is_help=True)


@app.command()
def build(
    out: Path = typer.Option(..., "--out", help="Probe-set directory to write."),
    questions: Path = typer.Option(None, help="Identity questions CSV (query,reference_responses) or JSONL; default: small shipped set."),
    templates: Path = typer.Option(None, help="Jailbreak templates JSON/JSONL with {query} (e.g. gptfuzz_seed_templates.json)."),
    facts: Path = typer.Option(None, help="Target facts YAML registry; default: shipped registry."),
    pool: list[str] = typer.Option([], help="RSE pool NAME=FORMAT:PATH (FORMAT: arenahard|numina|sharegpt|cqia). Repeatable."),
    n_per_pool: int = typer.Option(None, help="Seeded sample of N prompts per pool (default: all)."),
    mutate: int = typer.Option(0, help="Number of mutated templates to grow (GPTFuzz operators, MCTS-explore)."),
    seed_templates: int = typer.Option(None, help="Use N sampled seed templates in the identity probes (default: all)."),
    no_seeds: bool = typer.Option(False, "--no-seeds", help="Identity probes from mutated templates only (paper: 20 x 50)."),
    seed: int = typer.Option(0, help="RNG seed (mutation, MCTS, pool sampling)."),
    mutator_base_url: str = typer.Option(None, envvar="CQIA_MUTATOR_BASE_URL", help="Mutator endpoint (else CQIA_LLM_BASE_URL)."),
    mutator_model: str = typer.Option(None, envvar="CQIA_MUTATOR_MODEL", help="Mutator model (else CQIA_LLM_MODEL)."),
    mutator_api_key_env: str = typer.Option("CQIA_LLM_API_KEY", help="Env var holding the mutator API key."),
) -> None:
    """Build identity probes (templates x questions) and RSE prompt pools into OUT."""
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
                     n_per_pool=n_per_pool, n_mutated=mutate, n_seed_templates=seed_templates,
                     include_seeds=not no_seeds, seed=seed, mutator=mutator)
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
