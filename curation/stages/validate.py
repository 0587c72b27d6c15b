"""The validation stage: re-check every row against the schema and the release's promises.

It reads the upstream shards as raw JSON rather than as records, so a row that no longer
validates (a hand-edited shard, a stage that bypassed the models) becomes an InvalidItem with
its file:line instead of crashing the run. Text is checked as raw text (RAW_TEXT): the clean
stage repairs control characters and then enforces the strict text rule.
"""

from __future__ import annotations

import re
import reprlib
from typing import Any, get_args

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
from schemas.record import AnswerFrom, text_rule_violation
from schemas.redact import redact_url

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
    if _valid_as_is(row) and (not row["record"]["human_verified"]
                              or row["provenance"]["extra"].get("verified_by") in VERIFIERS):
        try:  # = row_json(row) (the layout is checked): what the model path below gives such a row
            data = orjson.dumps(row)
        except orjson.JSONEncodeError:
            data = row_json(row)
        return KeptRaw(data, row["source"])
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


_SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_\-]*")  # CuratedRecord._config_name
_ANSWER_FROM = get_args(AnswerFrom)
_OPTIONAL_TEXT = ("source_id", "fetched_at", "raw_sha256", "license", "author")


def _valid_as_is(row: Any) -> bool:
    """True only when `CuratedRecord.model_validate(row, context=RAW_TEXT)` would accept `row` and
    take it exactly as it is (`_unchanged`), checked here directly: the model costs ~2/3 of this
    stage per row, and almost every row read back from a stage passes. Each test below is one
    field's type or validator in schemas/record.py (tests/curation/stages/test_validate.py keeps
    the list in step with the models and checks rows breaking each rule take the model path,
    which then names the problem). False sends the row to the model: never a different outcome."""
    if not has_record_layout(row):
        return False
    rec, prov, task_type = row["record"], row["provenance"], row["record"]["task_type"]
    if not (type(row["id"]) is str and type(row["source"]) is str and _SOURCE_NAME.fullmatch(row["source"])
            and type(row["stats"]) is dict and (row["drop_reason"] is None or type(row["drop_reason"]) is str)):
        return False
    instruction, input_, output = rec["instruction"], rec["input"], rec["output"]
    if not (type(instruction) is str and type(input_) is str and type(output) is str
            and instruction.strip() and output.strip()):  # raw text: no control-character rule yet
        return False
    for text in (rec["metadata"], rec["copyright"]):
        if type(text) is not str or text_rule_violation(text) is not None:
            return False
    if type(rec["answer_from"]) is not str or rec["answer_from"] not in _ANSWER_FROM:
        return False
    if type(rec["human_verified"]) is not bool:  # the model would coerce "true", 1, ...
        return False
    for labels in (rec["domain"], task_type["major"], task_type["minor"]):
        if type(labels) is not list or not labels:
            return False
        for label in labels:
            if type(label) is not str or not label.strip() or text_rule_violation(label) is not None:
                return False
    for key in _OPTIONAL_TEXT:
        if prov[key] is not None and type(prov[key]) is not str:
            return False
    for key in ("url", "location"):  # validated by scrubbing: unchanged only without credentials
        value = prov[key]
        if value is not None and (type(value) is not str or (value and redact_url(value) != value)):
            return False
    return type(prov["extra"]) is dict


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
