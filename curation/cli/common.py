"""Helpers shared by CLI command modules: console, errors, summary tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from schemas.redact import redact_text

console = Console(stderr=True)
stdout = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a clear error and exit non-zero (no traceback for expected failures); a last net
    scrubs credentials (URLs with tokens, known secret env values) from the message."""
    console.print(f"[bold red]error:[/] {redact_text(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def print_table(table: Table, out: Console | None = None) -> None:
    """Print a table at its natural width, wider than the terminal if need be: cells such as long
    target names are never cut to "…" (a narrow terminal wraps the lines instead)."""
    from rich.measure import Measurement

    out = out or console
    width = Measurement.get(out, out.options.update_width(100_000), table).maximum
    if width > out.width:
        out = Console(stderr=out.stderr, width=width, highlight=False)
    out.print(table)


def print_json(data: Any) -> None:
    """Machine-readable output on stdout (tables and messages go to stderr)."""
    import json

    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def stage_table(manifests: list[dict[str, Any]], title: str = "Stages") -> Table:
    """Kept/dropped/invalid per stage and source, with reasons; rows add up by construction."""
    table = Table(title=title)
    for column in ("stage", "source", "in", "kept", "dropped", "invalid", "reasons"):
        numeric = column in ("in", "kept", "dropped", "invalid")
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    for manifest in manifests:
        for source, c in manifest["counts"]["by_source"].items():
            reasons = ", ".join(f"{k}={v}" for k, v in {**c["dropped"], **c["invalid"]}.items())
            table.add_row(
                manifest["stage"], source, str(c["in"]), str(c["kept"]),
                str(c["dropped_total"]), str(c["invalid_total"]), reasons or "-",
            )
    return table


# ---- where stage tasks run (every command that runs stages takes these) -------------------------
ExecutorOpt = Annotated[str, typer.Option(
    "--executor", help="Where stage tasks run: local (process pool on this machine) or ray.")]
RayAddressOpt = Annotated[str | None, typer.Option(
    "--ray-address", envvar="CQIA_RAY_ADDRESS",
    help="Ray cluster to join (host:port, or ray://host:10001); default: start a local Ray instance.")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", help="Local worker processes (0 = all cores; default: CQIA_WORKERS, else the stage's setting).")]


@contextmanager
def stage_executor(name: str, address: str | None, workers: int | None = None,
                   default_workers: int = 0) -> Iterator[Any]:
    """The executor a command's options name, closed (Ray shut down) when the command ends.
    Local workers: `--workers`, else the CQIA_WORKERS environment variable, else the default."""
    import os

    from curation.pipeline.executors import make_executor

    if workers is None and os.environ.get("CQIA_WORKERS", "").strip().isdigit():
        workers = int(os.environ["CQIA_WORKERS"])
    try:
        executor = make_executor(name, address=address, workers=default_workers if workers is None else workers)
    except (ValueError, RuntimeError, ConnectionError) as exc:
        fail(str(exc))
    try:
        yield executor
    finally:
        executor.close()
