"""`cqia`: the one place that wires sources, curation and annotation together.

Each command group lives in its own module under `curation/cli/` and is registered here.
`ingest_web` and `ingest_files` add their commands to the `ingest` group when imported.
"""

from __future__ import annotations

import typer

from curation.cli import (
    annotate,
    audit,
    curate,
    dedup,
    demo,
    distill,
    ingest,
    ingest_files,  # noqa: F401  (registers `ingest wiki|baike|exam|logiqa|classical|ruozhiba|...`)
    ingest_web,  # noqa: F401  (registers `ingest zhihu|segmentfault|douban|xhs|wikihow|zhidao`)
    probes,
    release,
    report,
    run,
    schema,
)

app = typer.Typer(
    name="cqia",
    help="Build, verify and publish COIG-CQIA-style Chinese instruction data and probe sets.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(ingest.app, name="ingest")
app.add_typer(run.app, name="run")
app.command("curate")(curate.curate)
dedup.register(app)  # `cqia dedup RUN`, `cqia decontam RUN --against FILE...`
app.add_typer(annotate.app, name="annotate")
app.add_typer(release.app, name="release")
report.register(app)  # `cqia report RUN`
audit.register(app)  # `cqia audit PATH... | --repo-id ORG/NAME`
app.add_typer(probes.app, name="probes")
app.add_typer(distill.app, name="distill")
app.add_typer(schema.app, name="schema")
demo.register(app)  # `cqia demo` runs the other commands in-process


def main() -> None:
    from curation.cli.signals import exit_on_termination

    exit_on_termination()
    app()
