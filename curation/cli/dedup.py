"""`cqia dedup RUN` and `cqia decontam RUN --against FILE...`: the dedup stages, standalone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from curation.cli.common import ExecutorOpt, RayAddressOpt, console, fail, stage_executor, stage_table
from curation.pipeline.rundir import RunDir, RunDirError
from curation.pipeline.runner import run_stage
from curation.pipeline.storage import as_path


def _upstream(run: RunDir, upstream: str | None, own: str) -> str:
    if upstream:
        return upstream
    done = [s for s in run.completed_stages() if s != own]
    if not done:
        raise RunDirError(f"{run.root}: no completed stage to read from")
    return done[-1]


def dedup(
    run: Annotated[Path, typer.Argument(parser=as_path, help="Run directory (local path or s3://bucket/path).")],
    upstream: Annotated[str | None, typer.Option(help="Stage to read (default: latest completed).")] = None,
    name: Annotated[str, typer.Option(help="Output stage name.")] = "dedup",
    threshold: Annotated[float, typer.Option(help="Jaccard similarity regarded as near duplicate.")] = 0.7,
    shingle: Annotated[str, typer.Option(help="char (n-grams of characters) or word (segmenter).")] = "char",
    ngram: Annotated[int, typer.Option(help="Shingle size.")] = 5,
    segmenter: Annotated[str, typer.Option(help="jieba or rjieba, for --shingle word.")] = "rjieba",
    num_perm: Annotated[int, typer.Option(help="MinHash permutations.")] = 256,
    exact: Annotated[bool, typer.Option(help="Exact dedup on normalized text first.")] = True,
    near: Annotated[bool, typer.Option(help="MinHash LSH near-dedup.")] = True,
    across_sources: Annotated[bool, typer.Option(help="Compare records of different sources.")] = True,
    fold_script: Annotated[bool, typer.Option(help="Fold traditional/Taiwan text to simplified before matching.")]
    = True,
    verify: Annotated[bool, typer.Option(help="Check LSH candidates' signature similarity.")] = True,
    workers: Annotated[int, typer.Option(help="Local processes (0 = all cores).")] = 0,
    force: Annotated[bool, typer.Option(help="Recompute even if complete.")] = False,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
) -> None:
    """Drop exact and near duplicates; clusters listed in RUN/<name>/clusters.jsonl for review."""
    from curation.stages.dedup import DedupConfig, dedup_stage

    try:
        config = DedupConfig(threshold=threshold, shingle=shingle, ngram=ngram, segmenter=segmenter,
                             num_perm=num_perm, exact=exact, near=near, across_sources=across_sources,
                             fold_script=fold_script, verify=verify, workers=workers)
        rundir = RunDir(run)
        stage = dedup_stage(rundir, _upstream(rundir, upstream, name), config, name=name)
        with stage_executor(executor, ray_address, workers) as ex:
            manifest = run_stage(rundir, stage, force=force, executor=ex).manifest
    except (RunDirError, ValidationError, ValueError) as exc:
        fail(str(exc))
    console.print(stage_table([manifest], title=name))
    console.print(f"review: {rundir.stage_dir(name) / 'clusters.jsonl'}")


def decontam(
    run: Annotated[Path, typer.Argument(parser=as_path, help="Run directory (local path or s3://bucket/path).")],
    against: Annotated[list[Path], typer.Option(help="Benchmark test set (CSV/JSON/JSONL); repeatable.")],
    upstream: Annotated[str | None, typer.Option(help="Stage to read (default: latest completed).")] = None,
    name: Annotated[str, typer.Option(help="Output stage name.")] = "decontam",
    ngram: Annotated[int, typer.Option(help="Character n-gram size.")] = 13,
    min_overlap: Annotated[float, typer.Option(help="Shared share of the smaller side's n-grams.")] = 0.5,
    action: Annotated[str, typer.Option(help="drop, or flag (keep, with stats.contamination).")] = "drop",
    force: Annotated[bool, typer.Option(help="Recompute even if complete.")] = False,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    workers: Annotated[int, typer.Option(help="Local processes (0 = all cores).")] = 0,
) -> None:
    """Drop (or flag) records whose instruction+input overlaps a benchmark test question."""
    from curation.stages.decontam import DecontamConfig, decontam_stage

    missing = [str(p) for p in against if not p.exists()]
    if missing:
        fail(f"test-set file(s) not found: {', '.join(missing)}")
    try:
        config = DecontamConfig(against=[str(p) for p in against], ngram=ngram, min_overlap=min_overlap,
                                action=action)
        rundir = RunDir(run)
        stage = decontam_stage(rundir, _upstream(rundir, upstream, name), config, name=name)
        with stage_executor(executor, ray_address, workers) as ex:
            manifest = run_stage(rundir, stage, force=force, executor=ex).manifest
    except (RunDirError, ValidationError, ValueError) as exc:
        fail(str(exc))
    console.print(stage_table([manifest], title=name))


def register(app: typer.Typer) -> None:
    """Adds the top-level `dedup` and `decontam` commands."""
    app.command("dedup")(dedup)
    app.command("decontam")(decontam)
