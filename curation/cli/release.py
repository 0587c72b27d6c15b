"""`cqia release build|push`: Hub-layout release from a run, and a verified push."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from curation.cli.common import ExecutorOpt, RayAddressOpt, WorkersOpt, console, fail, stage_executor, stdout
from curation.pipeline.rundir import RunDirError
from curation.pipeline.storage import as_path

app = typer.Typer(help="Build and publish releases.", no_args_is_help=True)


def release_table(summary) -> Table:  # noqa: ANN001 - ReleaseSummary, imported lazily
    table = Table(title=f"Release {summary.out_dir} (stage {summary.stage})")
    for column in ("config", "rows", "human-verified", "answer_from", "median out chars", "files"):
        table.add_column(column)
    for c in summary.configs:
        table.add_row(
            c["config"], str(c["rows"]), str(c["human_verified"]),
            ", ".join(f"{k}={v}" for k, v in c["answer_from"].items()),
            f"{c['median_output_chars']:g}", str(len(c["files"])),
        )
    return table


@app.command("build")
def build(
    run: Annotated[Path, typer.Argument(parser=as_path, help="Run directory (local path or s3://bucket/path).")],
    out: Annotated[Path, typer.Option("--out", help="Release directory (Hub layout).")],
    stage: Annotated[str | None, typer.Option(help="Stage to release (default: latest completed).")] = None,
    pretty_name: Annotated[str, typer.Option(help="Dataset card title.")] = "COIG-CQIA (cqia build)",
    license_: Annotated[str, typer.Option("--license", help="Dataset-level license id for the card.")] = "other",
    shard_rows: Annotated[int, typer.Option(help="Max rows per Parquet shard.")] = 500_000,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing release directory.")] = False,
    compression: Annotated[str, typer.Option(help="Parquet compression: zstd or snappy (what datasets uses).")]
    = "zstd",
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Write OUT/<config>/train-*.parquet, OUT/README.md (dataset card), OUT/assets/*.png (figures),
    OUT/cqia_pipeline.yaml (stage parameters) and, for license other, OUT/LICENSE.md."""
    from curation.release.build import ReleaseBuildError, build_release

    try:
        with stage_executor(executor, ray_address, workers) as ex:
            summary = build_release(
                run, out, stage=stage, pretty_name=pretty_name, dataset_license=license_,
                shard_rows=shard_rows, overwrite=overwrite, compression=compression, executor=ex,
            )
    except (ReleaseBuildError, RunDirError) as exc:
        fail(str(exc))
    for leftover in summary.removed_leftovers:
        console.print(f"removed {leftover} (staging folder of an interrupted build)", soft_wrap=True, highlight=False)
    stdout.print(release_table(summary))
    console.print(f"[green]release written to[/] {summary.out_dir}")


@app.command("push")
def push(
    release_dir: Annotated[Path, typer.Argument(help="Release directory built by `cqia release build`.")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="ORG/NAME on the Hub.")],
    private: Annotated[bool, typer.Option(help="Create the repo private.")] = False,
    tag: Annotated[str | None, typer.Option(help="Tag for this release, e.g. v1.0.0.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; send nothing.")] = False,
    endpoint: Annotated[str | None, typer.Option(help="Hub URL (default: HF_ENDPOINT or huggingface.co).")] = None,
    max_retries: Annotated[int, typer.Option(help="Retries on 429/5xx per request.")] = 5,
) -> None:
    """One commit per release (+ tag), then every config is loaded back and compared with the local build.

    The token comes from HF_TOKEN or the standard `hf auth login`; it is never printed.
    """
    import os

    from curation.release.push import ReleasePushError, plan_push, push_release

    if not (release_dir / "README.md").is_file():
        fail(f"{release_dir}: not a release directory (no README.md); run `cqia release build` first")
    endpoint = endpoint or os.environ.get("HF_ENDPOINT")
    try:
        if dry_run:
            plan = plan_push(release_dir, repo_id, tag=tag, private=private)
            stdout.print(plan.to_table())
            console.print("[yellow]dry run:[/] nothing was sent")
            return
        result = push_release(release_dir, repo_id, tag=tag, private=private, endpoint=endpoint,
                              max_retries=max_retries)
    except ReleasePushError as exc:
        fail(str(exc))
    stdout.print(result.to_table())
    console.print(f"[green]pushed and verified:[/] {result.commit_url}")
