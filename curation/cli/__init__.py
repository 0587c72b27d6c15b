"""`cqia`: the one place that wires sources, curation and annotation together.

Each command group lives in its own module under `curation/cli/` and is registered here.
"""

from __future__ import annotations

import typer

from curation.cli import demo, ingest, release, run, schema

app = typer.Typer(
    name="cqia",
    help="Build, verify and publish COIG-CQIA-style Chinese instruction data and probe sets.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(ingest.app, name="ingest")
app.add_typer(release.app, name="release")
app.add_typer(run.app, name="run")
app.add_typer(schema.app, name="schema")
app.command("demo")(demo.demo)
# Command groups of other areas register below (one line each).
from curation.cli import annotate as _annotate  # noqa: E402

app.add_typer(_annotate.app, name="annotate")
from curation.cli import curate as _curate  # noqa: E402
from curation.cli import dedup as _dedup  # noqa: E402
from curation.cli import ingest_files as _ingest_files  # noqa: E402,F401  (`ingest wiki|baike|exam|logiqa|...`)
from curation.cli import ingest_web  # noqa: E402,F401  (registers `ingest zhihu|segmentfault|douban|xhs|wikihow`)

app.command("curate")(_curate.curate)  # `cqia curate RUN [--recipe FILE]`
from curation.cli import distill as _distill  # noqa: E402
from curation.cli import probes as _probes  # noqa: E402

app.add_typer(_probes.app, name="probes")
app.add_typer(_distill.app, name="distill")

_dedup.register(app)  # `cqia dedup RUN`, `cqia decontam RUN --against FILE...`


def main() -> None:
    app()
