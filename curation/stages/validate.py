"""The validation stage: re-check every row against the schema and the release's promises.

It reads the upstream shards as raw JSON rather than as records, so a row that no longer
validates (a hand-edited shard, a stage that bypassed the models) becomes an InvalidItem with
its file:line instead of crashing the run. Text is checked as raw text (RAW_TEXT): the clean
stage repairs control characters and then enforces the strict text rule.
"""

from __future__ import annotations

import reprlib
from typing import Any

import orjson
from pydantic import ValidationError

from curation.pipeline.rows import has_record_layout, row_json
from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import (
    Dropped,
    Kept,
    KeptRaw,
    LineTask,
    Outcome,
    Stage,
    stage_input,
    upstream_shards,
)
from schemas import RAW_TEXT, CuratedRecord, InvalidItem, truncate_raw

# Who may vouch for human_verified=true: a person in our annotation loop, or the upstream
# dataset's own verification (kept explicit so a release never carries an unjustified flag).
VERIFIERS = ("upstream", "annotation")


class UnreadableLine(ValueError):
    """A shard line that is not JSON (a hand-edited or damaged shard)."""


def validate_row(location: str, row: Any, raw: bytes | None = None) -> Outcome:
    """Kept if the row is a valid record and its human_verified flag is justified.

    `row` may be an UnreadableLine; `raw` (the line as read) is what a reject quotes.
    """
    def quoted() -> str:  # bounded: a reject never copies a huge or deeply nested row whole
        return truncate_raw(raw.decode("utf-8", "replace")) if raw is not None else reprlib.repr(row)

    if isinstance(row, UnreadableLine):
        return InvalidItem(location=location, reason="json_decode", detail=str(row), source=None, raw=quoted())
    try:
        record = CuratedRecord.model_validate(row, context=RAW_TEXT)
    except (ValidationError, RecursionError) as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()) \
            if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}"
        source = row.get("source") if isinstance(row, dict) and isinstance(row.get("source"), str) else None
        return InvalidItem(location=location, reason="schema", detail=detail, source=source, raw=quoted())
    if record.record.human_verified and record.provenance.extra.get("verified_by") not in VERIFIERS:
        return Dropped(
            record,
            "unjustified_human_verified",
            "human_verified is true but provenance.extra.verified_by names no verifier",
        )
    if _unchanged(row, record):
        return KeptRaw(row_json(row), record.source)  # the record's own bytes, without a model round trip
    return Kept(record)


def _unchanged(row: Any, record: CuratedRecord) -> bool:
    """True when validation took `row` as it is: every field present in the model's order (no
    default filled in), the one lax-coercible field (`human_verified`) already a boolean, and the
    URL/location not scrubbed. The other validators only check; JSON strings, lists and objects
    stay as they are. Then `row_json(row)` is the bytes the model would write (rows.py)."""
    if not has_record_layout(row):
        return False
    prov = row["provenance"]
    return (type(row["record"]["human_verified"]) is bool and prov["url"] == record.provenance.url
            and prov["location"] == record.provenance.location)


def validate_line(line: bytes, location: str) -> Outcome:
    """One shard line: its JSON validated, or a located json_decode reject when it is not JSON."""
    try:
        row: Any = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        row = UnreadableLine(f"shard line is not JSON: {exc}")
    return validate_row(location, row, line)


def validate_stage(run: RunDir, upstreams: list[str], *, shard_size: int = 20_000) -> Stage:
    """Stage `validate` over the given upstream stages, in order: one task per upstream shard."""
    return Stage(
        name="validate",
        tasks=[LineTask(path, validate_line) for path in upstream_shards(run, upstreams)],
        inputs=[stage_input(run, u) for u in upstreams],
        params={"verifiers": list(VERIFIERS)},
        shard_size=shard_size,
        total=sum(run.count(u) for u in upstreams),
    )
