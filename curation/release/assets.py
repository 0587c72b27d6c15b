"""What a release carries besides data and card: key report figures (`assets/*.png`, shown on the
Hub page through relative links in the card), `cqia_pipeline.yaml` (every stage's parameters) and,
for `license: other`, `LICENSE.md`.

The figures are drawn by the report's own figure code from the run manifests and the length arrays
the build already keeps per config, so no second pass over the records is needed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from curation.pipeline.rundir import RunDir
from curation.release.card import LICENSE_FILE, PIPELINE_FILE, license_file, pipeline_file

ASSETS_DIR = "assets"
CARD_FIGURES = ("funnel", "drops_by_source", "lengths_by_source")


def released_stages(run: RunDir, stage: str) -> list[str]:
    """Completed stages in run order, up to and including the released one."""
    done = run.completed_stages()
    return done[: done.index(stage) + 1] if stage in done else done


def card_summary(run: RunDir, stages: list[str], lengths: Mapping[str, Mapping[str, Iterable[int]]]) -> dict[str, Any]:
    """The part of a report summary the card's figures read: the funnel, and character lengths per
    config (`lengths`: config -> field -> lengths of the released rows)."""
    from curation.report.collect import funnel
    from curation.report.stats import Values

    by_source: dict[str, Any] = {}
    for config, fields in lengths.items():
        chars = {}
        rows = 0
        for field, values in fields.items():
            v = Values("chars")
            v.counts.update(Counter(values))
            chars[field] = v.summary()
            rows = max(rows, v.n)
        by_source[config] = {"rows": rows, "chars": chars}
    return {"funnel": funnel(run, stages), "records": {"by_source": by_source}}


def load_figure_code() -> None:
    """Import the figure code (matplotlib: about a second here, where bytecode is compiled at each
    start). A build calls it once its workers run, so the figures at its end do not wait for it.
    Not in a thread: workers forked while another thread imports could inherit a held import lock
    (the drawing itself runs in a thread, once the workers are done)."""
    from curation.report.figures import load_pyplot

    load_pyplot()


def write_assets(out: Path, manifests: list[dict[str, Any]], configs: list[dict[str, Any]], *, stage: str,
                 dataset_license: str) -> None:
    """Write the pipeline file and, for `license: other`, the license file into `out`."""
    (out / PIPELINE_FILE).write_text(pipeline_file(manifests, stage=stage), encoding="utf-8")
    if dataset_license == "other":
        (out / LICENSE_FILE).write_text(license_file(configs), encoding="utf-8")


def write_figures(out: Path, run: RunDir, stage: str,
                  lengths: Mapping[str, Mapping[str, Iterable[int]]]) -> dict[str, str]:
    """Draw the card's figures into `out/assets/`; returns their paths inside the release by name.
    Needs only the manifests and the lengths, not the Parquet files: a build draws them while it
    closes those."""
    from curation.report.figures import drops_by_source_figure, funnel_figure, lengths_by_source_figure

    summary = card_summary(run, released_stages(run, stage), lengths)
    (out / ASSETS_DIR).mkdir(parents=True, exist_ok=True)
    paths = {}
    for make in (funnel_figure, drops_by_source_figure, lengths_by_source_figure):
        fig = make(summary)
        (out / ASSETS_DIR / f"{fig.name}.png").write_bytes(fig.png)
        paths[fig.name] = f"{ASSETS_DIR}/{fig.name}.png"
    return paths
