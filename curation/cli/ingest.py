"""`cqia ingest ...`: turn raw inputs into record stages of a run directory."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from curation.cli.common import ExecutorOpt, RayAddressOpt, console, fail, stage_executor, stage_table
from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import (
    KeptRaw,
    Stage,
    failed_calls_note,
    file_inputs,
    group_files,
    run_stage,
    skip_outcomes,
)
from curation.pipeline.storage import as_path

app = typer.Typer(help="Ingest sources into a run directory (one stage per source).", no_args_is_help=True)

RunOption = Annotated[Path, typer.Option("--run", parser=as_path,
                                         help="Run directory (a local path or s3://bucket/path).")]


@dataclass(frozen=True)
class FilesTask:
    """An ingestion task: one group of input files read by the source's iterator (sources read
    each file independently, so groups can run anywhere and in any order)."""

    paths: list[Path]
    iterate: Callable[[list[Path]], Iterable[Any]]

    def __call__(self, skip: int) -> Iterator[Any]:
        return skip_outcomes(self.iterate(self.paths), skip)


def file_tasks(paths: list[Path], iterate: Callable[[list[Path]], Iterable[Any]],
               lines_per_task: int | None = None) -> list[FilesTask]:
    """One task per ~64 MB of input files, in input order (a big dump is a task of its own).

    With `lines_per_task` (sources whose iterator takes `LineRange`s: `ingest import`), a JSON
    Lines file longer than that is split into tasks of that many lines, so every worker reads
    part of it; the tasks' outputs, in order, are the file's."""
    if not lines_per_task:
        return [FilesTask(group, iterate) for group in group_files(list(paths))]
    from sources.fileread import split_json_lines

    tasks: list[FilesTask] = []
    whole: list[Path] = []
    for path in paths:
        ranges = split_json_lines(path, lines_per_task)
        if ranges is None:
            whole.append(path)
            continue
        tasks += [FilesTask(group, iterate) for group in group_files(whole)]
        tasks += [FilesTask([part], iterate) for part in ranges]  # type: ignore[list-item]
        whole = []
    return tasks + [FilesTask(group, iterate) for group in group_files(whole)]


def run_source_stage(run_dir: Path, stage: Stage, *, force: bool, progress: bool = True,
                     executor_name: str = "local", ray_address: str | None = None) -> dict:
    """Run an ingestion stage and print its summary; shared by every `ingest` command."""
    with stage_executor(executor_name, ray_address) as executor:
        result = run_stage(RunDir(run_dir), stage, force=force, progress=progress, executor=executor)
    note = "already complete, skipped" if result.skipped else (
        f"resumed after {result.resumed_from} items" if result.resumed_from else "done"
    )
    console.print(f"[green]{stage.name}[/]: {note} → {run_dir / stage.name}")
    console.print(stage_table([result.manifest], title=f"{stage.name}"))
    for warning in unproductive_inputs(RunDir(run_dir), result.manifest):
        console.print(f"[bold yellow]warning:[/] {warning}", soft_wrap=True, highlight=False)
    if note := failed_calls_note(result.manifest):
        console.print(f"[bold yellow]warning:[/] {note}", soft_wrap=True, highlight=False)
    return result.manifest


_LOCATION = re.compile(rb'"provenance":\{.*?"location":"((?:[^"\\]|\\.)*)"')


def _owner(location: str, prefixes: list[tuple[str, str]]) -> str | None:
    """The input file a location ('path:12', 'path#3/task', 'path: after …') belongs to."""
    for prefix, path in prefixes:
        if location.startswith(prefix) and location[len(prefix):len(prefix) + 1] in ("", "#", ":", "/", " "):
            return path
    return None


def unproductive_inputs(run: RunDir, manifest: dict[str, Any]) -> list[str]:
    """One line per input file of the stage that gave no kept record: every item rejected (with
    the top reason) or nothing at all. A parser that silently stopped understanding a file shows
    up here instead of as a smaller total in the table."""
    files = [entry["path"] for entry in manifest.get("inputs", []) if "path" in entry]
    if not files:
        return []
    prefixes: list[tuple[str, str]] = []
    for path in files:
        for form in {path, os.path.relpath(path)}:
            prefixes.append((form, path))
    prefixes.sort(key=lambda pair: -len(pair[0]))  # 'a.json.bak' before 'a.json'
    reasons: dict[str, Counter[str]] = {path: Counter() for path in files}
    for _, row in run.iter_rows(manifest["stage"], "rejects"):
        owner = _owner(str(row.get("location") or ""), prefixes)
        if owner is not None:
            reasons[owner][str(row.get("reason"))] += 1
    unknown = set(files)
    for shard in run.shard_paths(manifest["stage"], "part"):
        if not unknown:
            break
        with shard.open("rb") as handle:
            for line in handle:
                match = _LOCATION.search(line)
                owner = _owner(match.group(1).decode("utf-8", "replace"), prefixes) if match else None
                unknown.discard(owner)  # type: ignore[arg-type]
                if not unknown:
                    break
    warnings = []
    for path in files:
        if path not in unknown:
            continue
        shown = os.path.relpath(path)
        if reasons[path]:
            reason, count = reasons[path].most_common(1)[0]
            total = sum(reasons[path].values())
            warnings.append(f"{shown}: every item was rejected ({total} rejects; top reason {reason} ×{count})")
        else:
            warnings.append(f"{shown}: produced no record and no reject")
    return warnings


@dataclass(frozen=True)
class _Import:
    fmt: str
    source: str
    settings: Any
    answer_from: str | None

    def __call__(self, paths: list[Path]) -> Iterable[Any]:
        from sources.instruct_import import iter_import

        source = self.source
        for out in iter_import(paths, self.fmt, source, self.settings, answer_from=self.answer_from, as_json=True):
            yield KeptRaw(out, source) if type(out) is bytes else out


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="JSON, JSONL or Parquet files.")],
    fmt: Annotated[str, typer.Option("--format", help="coig-cqia, alpaca or sharegpt.")],
    source: Annotated[str, typer.Option("--source", help="Source config name, e.g. coig_pc.")],
    run: RunOption = Path("runs/default"),
    answer_from: Annotated[str | None, typer.Option(help="Override answer_from: human or llm.")] = None,
    shard_size: Annotated[int, typer.Option(help="Input items per shard/checkpoint.")] = 20_000,
    force: Annotated[bool, typer.Option(help="Recompute even if the stage is complete.")] = False,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
) -> None:
    """Import existing instruction data; malformed items go to rejects with file:line and reason."""
    from sources.instruct_import import FORMATS, check_source_name
    from sources.settings import known_sources, load_settings

    try:
        check_source_name(source)  # it names a folder of the run directory: check before anything is written
    except ValueError as exc:
        fail(f"--source: {exc}")
    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        fail(f"input file(s) not found: {', '.join(missing)}")
    settings = load_settings(source if source in known_sources() else "imported")
    try:
        # the inputs' sha256 (hashlib lets go of the GIL) while the files are planned into tasks
        with ThreadPoolExecutor(1) as hashing:
            inputs = hashing.submit(file_inputs, paths)
            tasks = file_tasks(paths, _Import(fmt, source, settings, answer_from), lines_per_task=shard_size)
        stage = Stage(
            name=f"ingest-{source}",
            tasks=tasks,
            inputs=inputs.result(),
            params={"format": fmt, "source": source, "answer_from": answer_from, "settings": settings.name},
            shard_size=shard_size,
        )
        run_source_stage(run, stage, force=force, executor_name=executor, ray_address=ray_address)
    except ValueError as exc:
        fail(str(exc))
