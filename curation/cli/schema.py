"""`cqia schema export`: the JSON Schema and HF Features derived from the Pydantic models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from curation.cli.common import fail

app = typer.Typer(help="Schemas derived from the models.", no_args_is_help=True)


@app.command("export")
def export(
    kind: Annotated[str, typer.Option("--kind", help="json-schema or features.")] = "json-schema",
    model: Annotated[str, typer.Option("--model", help="record (the 9 COIG-CQIA fields) or curated.")] = "record",
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
) -> None:
    """Print (or write) the JSON Schema or the `datasets.Features` of the release rows."""
    from schemas.features import json_schema, release_features

    if kind == "json-schema":
        try:
            data = json_schema(model)
        except ValueError as exc:
            fail(str(exc))
    elif kind == "features":
        if model != "record":
            fail("features exist for the released rows only (--model record)")
        data = release_features().to_dict()
    else:
        fail(f"--kind must be json-schema or features, not {kind!r}")
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    else:
        typer.echo(text)
