"""`cqia distill`: run probes against endpoints, judge, score, import the paper's data, report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from curation.cli.common import console, fail, print_json, print_table

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
    return "missing" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


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
    reference: str = typer.Option(None, help="RSE (required): a target whose answers are the reference (e.g. gpt-4o), "
                                             "or 'dataset' for the pools' own reference answers."),
    strict_scope: str = typer.Option("loose-positives", help="Strict judge on: loose-positives (the paper: strict "
                                                             "re-judges loose positives, strict <= loose) | all."),
    judge_prompts: Path = typer.Option(None, "--judge-prompts", help="YAML/JSON with your own loose/strict/rse prompts "
                                                                     "(default: the project's wording; hashes are recorded)."),
    concurrency: int = typer.Option(8),
    rps: float = typer.Option(None),
    timeout: float = typer.Option(60.0),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Judge stored answers; raw judge outputs and parsed verdicts go to judgements/, how each judge ran to run.json."""
    from curation.distill.judge import PromptFileError, load_judge_prompts
    from curation.distill.pipeline import STRICT_SCOPES, judge_target
    from curation.distill.store import RunStore
    from curation.llm import LLMError
    from curation.probes.inputs import InputError

    kinds = [k.strip() for k in judges.split(",") if k.strip()]
    if bad := [k for k in kinds if k not in ("loose", "strict", "rse")]:
        fail(f"unknown judge(s) {bad}: use loose, strict, rse")
    if strict_scope not in STRICT_SCOPES:
        fail(f"--strict-scope must be one of {', '.join(STRICT_SCOPES)}")
    try:
        prompts = load_judge_prompts(judge_prompts)
    except PromptFileError as exc:
        fail(str(exc))
    kw = _client_kwargs(base_url, model, api_key_env, "CQIA_JUDGE", concurrency=concurrency, rate_limit_rps=rps, timeout_s=timeout)
    store = RunStore(run_dir)
    try:
        out = judge_target(store, target, kinds, kw, facts_path=facts, reference_target=reference, prompts=prompts,
                           strict_scope=strict_scope, progress=not as_json)
    except (KeyError, InputError, LLMError, ValueError) as exc:
        fail(str(exc).strip("'\""))
    meta = store.target_info(target).get("judges", {})
    summary = []
    for kind, rows in out.items():
        st = {s: sum(1 for j in rows if j.parse_status == s) for s in ("ok", "reasked", "failed")}
        if kind == "rse":
            vals = [j.scores["overall"] for j in rows if j.scores]
            value: Any = sum(vals) / len(vals) if vals else None
        else:
            value = sum(1 for j in rows if j.verdict)
        summary.append({"judge": kind, "judged": len(rows), "positive_or_mean": value, **st, **meta.get(kind, {})})
    if as_json:
        print_json({"target": target, "judges": summary})
        return
    table = Table(title=f"judgements: {target}")
    for col in ("judge", "judged", "positive / mean", "ok", "reasked", "failed", "scope / reference", "prompt", "sha256"):
        table.add_column(col)
    for row in summary:
        scope = row.get("scope") or row.get("reference") or "-"
        table.add_row(row["judge"], str(row["judged"]), _fmt(row["positive_or_mean"]), str(row["ok"]), str(row["reasked"]),
                      str(row["failed"]), str(scope), row.get("prompt_version", ""), (row.get("prompt_sha256") or "")[:12])
    print_table(table)
    for row in summary:
        for pool, n in (row.get("no_reference") or {}).items():
            console.print(f"[yellow]rse[/] pool {pool}: {n} answered prompts have no {reference} reference answer: not judged")


@app.command()
def score(
    run_dir: Path = typer.Option(..., "--run-dir"),
    target: list[str] = typer.Option(None, help="Targets to score (default: all in the run)."),
    reference: str = typer.Option(None, help="Similarity reference: a target (e.g. gpt-4o) or 'dataset' (the pools' "
                                             "own answers); without it no similarity is computed."),
    similarity: str = typer.Option("char3", help="char3 (character 3-gram cosine, offline) | embedding (cosine of "
                                                 "embeddings from an OpenAI-compatible /embeddings endpoint)."),
    embed_base_url: str = typer.Option(None, "--embed-base-url", help="Embeddings endpoint; else CQIA_EMBED_BASE_URL."),
    embed_model: str = typer.Option(None, "--embed-model", help="Embedding model; else CQIA_EMBED_MODEL."),
    embed_api_key_env: str = typer.Option("CQIA_EMBED_API_KEY"),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON on stdout."),
) -> None:
    """Recompute scores from the stored judgements (writes scores/<target>.json)."""
    from curation.distill.pipeline import score_target
    from curation.distill.similarity import CharNgramSimilarity, EmbeddingSimilarity, Similarity
    from curation.distill.store import RunStore
    from curation.llm import LLMError
    from curation.llm.embeddings import EmbeddingClient

    store = RunStore(run_dir)
    names = target or [t for t in store.targets() if t != reference]
    if not names:
        fail(f"{run_dir}: no targets in run.json")
    sim: Similarity
    if similarity == "char3":
        sim = CharNgramSimilarity(3)
    elif similarity == "embedding":
        kw = _client_kwargs(embed_base_url, embed_model, embed_api_key_env, "CQIA_EMBED")
        try:
            sim = EmbeddingSimilarity(EmbeddingClient(**kw, cache_path=Path(run_dir) / "embed_cache.jsonl"))
        except LLMError as exc:
            fail(str(exc))
    else:
        fail(f"--similarity must be char3 or embedding, got {similarity!r}")
    results = []
    for name in names:
        try:
            results.append(score_target(store, name, reference_target=reference, similarity=sim))
        except (KeyError, LLMError) as exc:
            fail(str(exc).strip("'\""))
    if as_json:
        print_json(results)
        return
    table = Table(title=f"scores: {run_dir}")
    for col in ("target", "n", "loose", "strict", "hard", "strict scope", "RSE avg", f"sim avg ({sim.name})", "cost USD"):
        table.add_column(col, justify="left" if col in ("target", "strict scope") else "right")
    for s in results:
        i = s["identity"]
        table.add_row(s["target"], str(i["n"]), _ci(i, "loose"), _ci(i, "strict"), _ci(i, "hard"), i.get("strict_scope") or "-",
                      _fmt(s["rse"]["average"]), _fmt(s["similarity"]["average"]), _fmt(s["usage"]["cost_usd"]))
    print_table(table)
    for s in results:
        if w := s["identity"].get("warning"):
            console.print(f"[yellow]warning[/] {s['target']}: {w}")


def _ci(ident: dict[str, Any], name: str) -> str:
    value, ci = ident.get(name), ident.get(f"{name}_ci95")
    if value is None:
        return "missing"
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{value:.3f}"


@app.command("import-paper")
def import_paper(
    source: Path = typer.Argument(..., help="Directory with the released files (flat `attack_result__…` names or the repo's "
                                            "attack_result/ loose_score/ strict_score/ folders), or an attack_result JSONL."),
    run_dir: Path = typer.Option(..., "--run-dir"),
    target: str = typer.Option(None, help="Only this target (default: every attack_result found)."),
    loose_csv: Path = typer.Option(None, help="Loose-positive CSV (when SOURCE is a file)."),
    strict_csv: Path = typer.Option(None, help="Strict re-judged CSV with re_judge (when SOURCE is a file)."),
    as_json: bool = typer.Option(False, "--json", help="Print pairings, scores and comparisons as JSON on stdout."),
) -> None:
    """Recompute loose/strict/hard from the paper's released files and compare with the published figures."""
    from curation.distill.import_paper import Discovery, PaperFiles, discover, target_from_name
    from curation.distill.import_paper import import_paper as do_import
    from curation.probes.inputs import InputError

    try:
        if source.is_dir():
            found = discover(source, target)
        else:
            how = {"attack_result": "given"} | ({"loose": "given"} if loose_csv else {}) | ({"strict": "given"} if strict_csv else {})
            found = Discovery([PaperFiles(source, loose_csv, strict_csv, target or target_from_name(source.name), how)], [])
        results = [do_import(f, run_dir) for f in found.pairs]
    except (InputError, FileNotFoundError) as exc:
        fail(str(exc))
    if as_json:
        print_json({"run_dir": str(run_dir), "targets": [r.as_dict() for r in results],
                    "unpaired": [u.as_dict() for u in found.unpaired]})
        return
    table = Table(title="paper import: scores recomputed from the rows (95% Wilson interval)")
    for col in ("target", "n", "loose", "strict", "hard", "published (file names)", "paper figures (L/S/H)", "agrees"):
        table.add_column(col, justify="right" if col in ("n", "loose", "strict", "hard") else "left",
                         no_wrap=col == "target")
    for r in results:
        s = r.scores
        fig2 = {c["metric"]: c["published"] for c in r.comparison if c["source"] == "paper Figure 2"}
        table_fig = [f"table {c['metric']} {c['published']}" for c in r.comparison if c["source"].startswith("paper table")]
        figs = ([f"Fig.2 {'/'.join(fig2.get(m, '?') for m in ('loose', 'strict', 'hard'))}"] if fig2 else []) + table_fig
        agree = [c for c in r.comparison if c["agrees"] is not None]
        table.add_row(r.target, str(s["n"]), _ci(s, "loose"), _ci(s, "strict"), _ci(s, "hard"),
                      " ".join(f"{k} {v}" for k, v in r.published.items()) or "-",
                      "; ".join(figs) or "-",
                      f"{sum(c['agrees'] for c in agree)}/{len(agree)}" if agree else "-")
    print_table(table)
    pairs = Table(title="pairings")
    for col in ("target", "kind", "file", "how"):
        pairs.add_column(col, no_wrap=col in ("target", "kind", "file"))
    for r in results:
        for kind in ("attack_result", "loose", "strict"):
            path = r.files.get(kind)
            pairs.add_row(r.target, kind, Path(path).name if path else "-", r.how.get(kind, "no file paired"))
    print_table(pairs)
    if found.unpaired:
        un = Table(title="files not imported")
        for col in ("file", "kind", "why"):
            un.add_column(col, no_wrap=col != "why")
        for u in found.unpaired:
            un.add_row(u.path.name, u.kind, u.reason)
        print_table(un)
    for r in results:
        for w in r.warnings[:20]:
            console.print(f"[yellow]warning[/] {r.target}: {w}", soft_wrap=True, highlight=False)


@app.command()
def report(
    run_dir: list[Path] = typer.Option(..., "--run-dir", help="One or more run directories (scored)."),
    out: Path = typer.Option(..., "--out", help="Directory for report.md, report.csv, report.png, scatter.png."),
    scatter_y: str = typer.Option("strict", help="ICE score on the y axis of the ICE-vs-RSE scatter: loose | strict | hard."),
) -> None:
    """Tables across models with 95% intervals (Markdown, CSV), per-language split, paper comparison, charts."""
    from curation.distill.report import collect, write_report

    if scatter_y not in ("loose", "strict", "hard"):
        fail("--scatter-y must be loose, strict or hard")
    try:
        rows = collect(run_dir)
    except FileNotFoundError as exc:
        fail(str(exc))
    paths = write_report(rows, out, scatter_y=scatter_y)
    console.print((out / "report.md").read_text(encoding="utf-8"), soft_wrap=True, highlight=False, markup=False)
    console.print("wrote " + ", ".join(str(p) for p in paths.values()))
