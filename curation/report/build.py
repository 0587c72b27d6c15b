"""Write a report directory: report.html (self-contained), summary.json and figures/*.png|svg."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.pipeline.atomic import atomic_writer
from curation.report.collect import AgreementFn, collect_run
from curation.report.figures import Figure, all_figures
from curation.report.html import render_html


@dataclass
class ReportResult:
    out_dir: Path
    html: Path
    summary_path: Path
    figures: list[Path]
    summary: dict[str, Any]


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as handle:
        handle.write(data)
    path.chmod(0o644)  # a report is for reading (the atomic writer's temp files are private)


def write_report(out_dir: Path, summary: dict[str, Any], *, title: str | None = None,
                 extra_sections: list[tuple[str, str, str]] | None = None, extra_first: bool = False,
                 figures: list[Figure] | None = None) -> ReportResult:
    """Render figures and the page for an already collected summary."""
    figures = all_figures(summary) if figures is None else figures
    paths = []
    for fig in figures:
        for ext, data in (("png", fig.png), ("svg", fig.svg)):
            path = out_dir / "figures" / f"{fig.name}.{ext}"
            write_bytes(path, data)
            paths.append(path)
    summary = {**summary, "figures": [f"figures/{f.name}.png" for f in figures]}
    summary_path = out_dir / "summary.json"
    write_bytes(summary_path, json.dumps(summary, ensure_ascii=False, indent=1).encode("utf-8"))
    kwargs = {"title": title} if title else {}
    page = render_html(summary, figures, extra_sections=extra_sections, extra_first=extra_first, **kwargs)
    html_path = out_dir / "report.html"
    write_bytes(html_path, page.encode("utf-8"))
    return ReportResult(out_dir, html_path, summary_path, paths, summary)


def build_report(run_dir: Path, out_dir: Path | None = None, *, stage: str | None = None,
                 agreement: AgreementFn | None = None, progress: bool = True) -> ReportResult:
    """Collect the run's summary (streaming) and write the report directory (default RUN/report)."""
    summary = collect_run(run_dir, stage=stage, agreement=agreement, progress=progress)
    return write_report(out_dir or Path(run_dir) / "report", summary)
