"""`cqia report RUN`: the curation report (HTML + figures + JSON summary) of a run directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from curation.cli.common import console, fail
from curation.pipeline.rundir import RunDirError


def verdict_agreement(units: list[list[str]]) -> dict[str, Any]:
    """Agreement on verdict labels of records two or more annotators judged (annotation's statistics)."""
    from annotation.agreement import krippendorff_alpha_nominal

    alpha = krippendorff_alpha_nominal(units)
    return {
        "krippendorff_alpha": None if alpha is None else round(alpha, 4),
        "percent_agreement": round(sum(len(set(u)) == 1 for u in units) / len(units), 4) if units else None,
        "units": len(units),
    }


def report(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    out: Annotated[Path | None, typer.Option("--out", help="Report directory (default RUN/report).")] = None,
    stage: Annotated[str | None, typer.Option(help="Stage whose records are described (default: latest).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the JSON summary to stdout.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Write OUT/report.html (self-contained, works offline), OUT/figures/*.png|svg and OUT/summary.json."""
    from curation.report.build import build_report

    try:
        result = build_report(run, out, stage=stage, agreement=verdict_agreement, progress=progress)
    except RunDirError as exc:
        fail(str(exc))
    if json_out:
        typer.echo(json.dumps(result.summary, ensure_ascii=False, indent=1))
    console.print(f"[green]report:[/] {result.html.resolve()}  (figures and summary.json beside it)")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
