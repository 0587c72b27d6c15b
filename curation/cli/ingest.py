"""`cqia ingest ...`: turn raw inputs into record stages of a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curation.cli.common import console, fail, stage_table
from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import Stage, failed_calls_note, file_inputs, run_stage, skip_outcomes

app = typer.Typer(help="Ingest sources into a run directory (one stage per source).", no_args_is_help=True)

RunOption = Annotated[Path, typer.Option("--run", help="Run directory.")]


def run_source_stage(run_dir: Path, stage: Stage, *, force: bool, progress: bool = True) -> dict:
    """Run an ingestion stage and print its summary; shared by every `ingest` command."""
    result = run_stage(RunDir(run_dir), stage, force=force, progress=progress)
    note = "already complete, skipped" if result.skipped else (
        f"resumed after {result.resumed_from} items" if result.resumed_from else "done"
    )
    console.print(f"[green]{stage.name}[/]: {note} → {run_dir / stage.name}")
    console.print(stage_table([result.manifest], title=f"{stage.name}"))
    if note := failed_calls_note(result.manifest):
        console.print(f"[bold yellow]warning:[/] {note}", soft_wrap=True, highlight=False)
    return result.manifest


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="JSON, JSONL or Parquet files.")],
    fmt: Annotated[str, typer.Option("--format", help="coig-cqia, alpaca or sharegpt.")],
    source: Annotated[str, typer.Option("--source", help="Source config name, e.g. coig_pc.")],
    run: RunOption = Path("runs/default"),
    answer_from: Annotated[str | None, typer.Option(help="Override answer_from: human or llm.")] = None,
    shard_size: Annotated[int, typer.Option(help="Input items per shard/checkpoint.")] = 20_000,
    force: Annotated[bool, typer.Option(help="Recompute even if the stage is complete.")] = False,
) -> None:
    """Import existing instruction data; malformed items go to rejects with file:line and reason."""
    from sources.instruct_import import FORMATS, iter_import
    from sources.settings import known_sources, load_settings

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        fail(f"input file(s) not found: {', '.join(missing)}")
    settings = load_settings(source if source in known_sources() else "imported")
    try:
        stage = Stage(
            name=f"ingest-{source}",
            produce=lambda skip: skip_outcomes(
                iter_import(paths, fmt, source, settings, answer_from=answer_from), skip
            ),
            inputs=file_inputs(paths),
            params={"format": fmt, "source": source, "answer_from": answer_from, "settings": settings.name},
            shard_size=shard_size,
        )
        run_source_stage(run, stage, force=force)
    except ValueError as exc:
        fail(str(exc))
