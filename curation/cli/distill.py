"""`cqia distill`: run probes against endpoints, judge, score, import the paper's data, report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from curation.cli.common import console, fail

app = typer.Typer(help="Distillation evaluation: run, judge, score, import-paper, report.", no_args_is_help=True)


def _client_kwargs(base_url: str | None, model: str | None, api_key_env: str, prefix: str, **kw: Any) -> dict[str, Any]:
    base_url = base_url or os.environ.get(f"{prefix}_BASE_URL")
    model = model or os.environ.get(f"{prefix}_MODEL")
    if not base_url:
        fail(f"no endpoint: pass --base-url or set {prefix}_BASE_URL")
    if not model:
        fail(f"no model: pass --model or set {prefix}_MODEL")
    return {"base_url": base_url, "model": model, "api_key": os.environ.get(api_key_env), **kw}


def _fmt(v: Any) -> str:
    return "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


@app.command()
def run(
    target: str = typer.Option(..., help="Name of the model under test (also the fact-registry key)."),
    probes: Path = typer.Option(..., help="Probe-set directory from `cqia probes build`."),
    run_dir: Path = typer.Option(..., "--run-dir", help="Run directory (responses are appended here; re-run resumes)."),
    base_url: str = typer.Option(None, "--base-url", help="OpenAI-compatible base URL (…/v1); else CQIA_LLM_BASE_URL."),
    model: str = typer.Option(None, help="Model id at the endpoint; else CQIA_LLM_MODEL."),
    api_key_env: str = typer.Option("CQIA_LLM_API_KEY", help="Env var holding the API key (the key is never printed)."),
    kind: str = typer.Option("all", help="identity | rse | all"),
    limit: int = typer.Option(None, help="Only the first N probes (dry runs)."),
    concurrency: int = typer.Option(8),
    rps: float = typer.Option(None, help="Max requests per second."),
    timeout: float = typer.Option(60.0, help="Per-request timeout (s)."),
    max_retries: int = typer.Option(5),
    temperature: float = typer.Option(0.0),
    max_tokens: int = typer.Option(1024),
    force: bool = typer.Option(False, help="Continue a target run even if model/params changed."),
) -> None:
    """Send every probe to the target once; answers go to the run's append-only store."""
    from curation.distill.run import run_target
    from curation.distill.store import RunStore
    from curation.llm import LLMError
    from curation.probes.build import load_probes

    kw = _client_kwargs(base_url, model, api_key_env, "CQIA_LLM", concurrency=concurrency, rate_limit_rps=rps,
                        timeout_s=timeout, max_retries=max_retries)
    try:
        items = load_probes(probes, None if kind == "all" else kind)
    except FileNotFoundError as exc:
        fail(str(exc))
    if limit is not None:
        items = items[:limit]
    try:
        summary = run_target(RunStore(run_dir), target, items, kw, params={"temperature": temperature, "max_tokens": max_tokens},
                             probe_dir=probes.resolve(), force=force)
    except (ValueError, LLMError) as exc:
        fail(str(exc))
    table = Table(title=f"distill run: {target} ({summary.model})")
    for col in ("probes", "sent", "cached", "errors", "prompt tok", "completion tok", "cost USD"):
        table.add_column(col, justify="right")
    table.add_row(*(str(x) for x in (summary.probes, summary.sent, summary.cached, summary.errors, summary.prompt_tokens,
                                     summary.completion_tokens)), _fmt(summary.cost_usd))
    console.print(table)
    for err in summary.error_samples:
        console.print(f"[red]error:[/] {err}")
    if summary.errors:
        console.print(f"{summary.errors} probes failed; re-run the same command to retry only those.")
        raise typer.Exit(2)


@app.command()
def judge(
    target: str = typer.Option(...),
    run_dir: Path = typer.Option(..., "--run-dir"),
    judges: str = typer.Option("loose,strict", "--judge", help="Comma list of loose, strict, rse."),
    base_url: str = typer.Option(None, "--base-url", help="Judge endpoint; else CQIA_JUDGE_BASE_URL."),
    model: str = typer.Option(None, help="Judge model; else CQIA_JUDGE_MODEL."),
    api_key_env: str = typer.Option("CQIA_JUDGE_API_KEY"),
    facts: Path = typer.Option(None, help="Target facts YAML (default: shipped registry)."),
    reference: str = typer.Option(None, help="RSE: target whose answers are the reference (e.g. gpt-4o); else pool references."),
    concurrency: int = typer.Option(8),
    rps: float = typer.Option(None),
    timeout: float = typer.Option(60.0),
) -> None:
    """Judge stored answers; raw judge outputs and parsed verdicts go to judgements/."""
    from curation.distill.pipeline import judge_target
    from curation.distill.store import RunStore
    from curation.llm import LLMError
    from curation.probes.inputs import InputError

    kinds = [k.strip() for k in judges.split(",") if k.strip()]
    if bad := [k for k in kinds if k not in ("loose", "strict", "rse")]:
        fail(f"unknown judge(s) {bad}: use loose, strict, rse")
    kw = _client_kwargs(base_url, model, api_key_env, "CQIA_JUDGE", concurrency=concurrency, rate_limit_rps=rps, timeout_s=timeout)
    try:
        out = judge_target(RunStore(run_dir), target, kinds, kw, facts_path=facts, reference_target=reference)
    except (KeyError, InputError, LLMError, ValueError) as exc:
        fail(str(exc).strip("'\""))
    table = Table(title=f"judgements: {target}")
    for col in ("judge", "judged", "positive / mean", "ok", "reasked", "failed"):
        table.add_column(col)
    for kind, rows in out.items():
        st = {s: sum(1 for j in rows if j.parse_status == s) for s in ("ok", "reasked", "failed")}
        if kind == "rse":
            vals = [j.scores["overall"] for j in rows if j.scores]
            summary = _fmt(sum(vals) / len(vals)) if vals else "-"
        else:
            summary = str(sum(1 for j in rows if j.verdict))
        table.add_row(kind, str(len(rows)), summary, str(st["ok"]), str(st["reasked"]), str(st["failed"]))
    console.print(table)


@app.command()
def score(
    run_dir: Path = typer.Option(..., "--run-dir"),
    target: list[str] = typer.Option(None, help="Targets to score (default: all in the run)."),
    reference: str = typer.Option(None, help="Reference target for the offline similarity variant."),
) -> None:
    """Recompute scores from the stored judgements (writes scores/<target>.json)."""
    from curation.distill.pipeline import score_target
    from curation.distill.store import RunStore

    store = RunStore(run_dir)
    names = target or [t for t in store.targets() if t != reference]
    if not names:
        fail(f"{run_dir}: no targets in run.json")
    table = Table(title=f"scores: {run_dir}")
    for col in ("target", "n", "loose", "strict", "hard", "RSE avg", "sim avg", "cost USD"):
        table.add_column(col, justify="right")
    for name in names:
        try:
            s = score_target(store, name, reference_target=reference)
        except KeyError as exc:
            fail(str(exc).strip("'\""))
        i = s["identity"]
        table.add_row(name, str(i["n"]), _fmt(i["loose"]), _fmt(i["strict"]), _fmt(i["hard"]), _fmt(s["rse"]["average"]),
                      _fmt(s["similarity"]["average"]), _fmt(s["usage"]["cost_usd"]))
    console.print(table)


@app.command("import-paper")
def import_paper(
    source: Path = typer.Argument(..., help="Directory with attack_result (and loose/strict CSVs), or an attack_result JSONL."),
    run_dir: Path = typer.Option(..., "--run-dir"),
    target: str = typer.Option(None, help="Only this target (default: every attack_result found)."),
    loose_csv: Path = typer.Option(None, help="Loose-positive CSV (when SOURCE is a file)."),
    strict_csv: Path = typer.Option(None, help="Strict re-judged CSV with re_judge (when SOURCE is a file)."),
) -> None:
    """Recompute loose/strict/hard from the paper's released files and compare with the published figures."""
    from curation.distill.import_paper import PaperFiles, discover
    from curation.distill.import_paper import import_paper as do_import
    from curation.probes.inputs import InputError

    try:
        files = discover(source, target) if source.is_dir() else [PaperFiles(source, loose_csv, strict_csv, target)]
        results = [do_import(f, run_dir) for f in files]
    except (InputError, FileNotFoundError) as exc:
        fail(str(exc))
    table = Table(title="paper import (recomputed from rows)")
    for col in ("target", "n", "loose", "strict", "hard", "published loose", "published strict"):
        table.add_column(col, justify="right")
    for r in results:
        s = r.scores
        table.add_row(r.target, str(s["n"]), _fmt(s["loose"]), _fmt(s["strict"]), _fmt(s["hard"]),
                      _fmt(r.published.get("loose")), _fmt(r.published.get("strict")))
    console.print(table)
    for r in results:
        for w in r.warnings[:20]:
            console.print(f"[yellow]warning[/] {r.target}: {w}")


@app.command()
def report(
    run_dir: list[Path] = typer.Option(..., "--run-dir", help="One or more run directories (scored)."),
    out: Path = typer.Option(..., "--out", help="Directory for report.md, report.csv, report.png."),
) -> None:
    """Table across models (Markdown, CSV) and a PNG chart of loose/strict/hard and RSE per pool."""
    from curation.distill.report import collect, write_report

    try:
        rows = collect(run_dir)
    except FileNotFoundError as exc:
        fail(str(exc))
    paths = write_report(rows, out)
    console.print((out / "report.md").read_text(encoding="utf-8"))
    console.print("wrote " + ", ".join(str(p) for p in paths.values()))
