"""`cqia run ...`: inspect a run directory and run source-independent stages on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curation.cli.common import (
    ExecutorOpt,
    RayAddressOpt,
    WorkersOpt,
    console,
    fail,
    stage_executor,
    stage_table,
    stdout,
)
from curation.pipeline.executors import Executor
from curation.pipeline.rundir import RunDir, RunDirError
from curation.pipeline.runner import run_stage
from curation.pipeline.storage import as_path

app = typer.Typer(help="Inspect and advance a run directory.", no_args_is_help=True)


def ingest_stages(run: RunDir) -> list[str]:
    return [s for s in run.completed_stages() if s.startswith("ingest-")]


def validate_run(run_dir: Path, *, force: bool = False, progress: bool = True,
                 executor: Executor | None = None) -> dict:
    """The `validate` stage over every completed ingest stage, in run order."""
    from curation.stages.validate import validate_stage

    run = RunDir(run_dir)
    upstream = ingest_stages(run)
    if not upstream:
        raise RunDirError(f"{run_dir}: no completed ingest-* stage to validate")
    stage = validate_stage(run, upstream)
    result = run_stage(run, stage, force=force, progress=progress, executor=executor)
    return result.manifest


@app.command("validate")
def validate(
    run: Annotated[Path, typer.Argument(parser=as_path, help="Run directory (local path or s3://bucket/path).")],
    force: Annotated[bool, typer.Option(help="Recompute even if complete.")] = False,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Re-check every ingested record (schema, justified human_verified) into stage `validate`."""
    try:
        with stage_executor(executor, ray_address, workers) as ex:
            manifest = validate_run(run, force=force, executor=ex)
    except RunDirError as exc:
        fail(str(exc))
    console.print(stage_table([manifest], title="validate"))


@app.command("status")
def status(
    run: Annotated[Path, typer.Argument(parser=as_path, help="Run directory.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print manifests' counts as JSON.")] = False,
) -> None:
    """Counts per stage and source, with drop reasons."""
    import json

    rundir = RunDir(run)
    stages = rundir.completed_stages()
    if not stages:
        fail(f"{run}: no completed stage (is this a run directory?)")
    manifests = [rundir.require_manifest(s) for s in stages]
    if json_out:
        stdout.print_json(json.dumps({m["stage"]: m["counts"] for m in manifests}, ensure_ascii=False))
    else:
        stdout.print(stage_table(manifests, title=f"Run {run}"))
