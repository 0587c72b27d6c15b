"""Rows <-> records: the row helper every stage shares.

Rows that come out of a validated stage are rebuilt without re-validation (`model_construct`),
which keeps the hot loops cheap; the clean stage keeps strings free of control characters.
"""

from __future__ import annotations

from typing import Any

import orjson

from schemas import CuratedRecord, InstructionRecord, Provenance, TaskType


def row_to_record(row: dict[str, Any]) -> CuratedRecord:
    """Build a CuratedRecord from a row that came out of a validated stage (no re-validation:
    the clean stage only rewrites strings, which it keeps free of control characters)."""
    rec = row["record"]
    return CuratedRecord.model_construct(
        id=row["id"],
        source=row["source"],
        record=InstructionRecord.model_construct(**{**rec, "task_type": TaskType.model_construct(**rec["task_type"])}),
        provenance=Provenance.model_construct(**row.get("provenance", {})),
        stats=row.get("stats", {}),
        drop_reason=row.get("drop_reason"),
    )


_ROW_KEYS = tuple(CuratedRecord.model_fields)
_RECORD_KEYS = tuple(InstructionRecord.model_fields)
_TASK_TYPE_KEYS = tuple(TaskType.model_fields)
_PROVENANCE_KEYS = tuple(Provenance.model_fields)


def has_record_layout(row: Any) -> bool:
    """True when `row` has every field of the models, in their order (as the runner writes them)."""
    if type(row) is not dict or tuple(row) != _ROW_KEYS:
        return False
    rec, prov = row["record"], row["provenance"]
    return (isinstance(rec, dict) and tuple(rec) == _RECORD_KEYS and isinstance(prov, dict)
            and tuple(prov) == _PROVENANCE_KEYS and isinstance(rec["task_type"], dict)
            and tuple(rec["task_type"]) == _TASK_TYPE_KEYS)


def row_json(row: dict[str, Any]) -> bytes:
    """The bytes pydantic-core writes for `row_to_record(row)` (what the runner writes), straight
    from the row with orjson when it already has the model's field layout, as every row read back
    from a stage does: no model round trip in the hot loop. orjson and pydantic-core write the same
    JSON for JSON values (shortest float repr, same escapes); other rows take the model path."""
    if has_record_layout(row):
        try:
            return orjson.dumps(row)
        except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits: pydantic-core writes it
            pass
    record = row_to_record(row)
    return record.__pydantic_serializer__.to_json(record)


# A row line as the runner writes it: {"id":…,"source":…, …,"stats":{…},"drop_reason":null}.
_ID_HEAD = b'{"id":"'
_SOURCE_KEY = b'","source":"'
_STATS_KEY = b',"stats":'
_KEPT_TAIL = b',"drop_reason":null}'


def source_and_stats(line: bytes) -> tuple[str, dict[str, Any]] | None:
    """(source, stats) of a kept row line without parsing its record (what the filter needs), or
    None when the line is not laid out as the runner writes kept rows (then parse it whole).

    Exact: JSON escapes every quote inside a string, so the first quote after `{"id":"` that no
    backslash precedes closes the id, `,"stats":` occurs only as a key, and the bytes from the last
    `,"stats":` to the closing `,"drop_reason":null}` parse as one JSON value only when that key is
    the row's own (a nested key would leave the closing brace of its container in the slice, which
    orjson rejects). Ids or sources with escapes take the full parse."""
    end = len(line) - 1 if line.endswith(b"\n") else len(line)
    if not line.startswith(_ID_HEAD) or not line.endswith(_KEPT_TAIL, 0, end):
        return None
    quote = line.find(b'"', len(_ID_HEAD))
    if line[quote - 1] == 0x5C or not line.startswith(_SOURCE_KEY, quote):  # 0x5C: a backslash
        return None
    start = quote + len(_SOURCE_KEY)
    stop = line.find(b'"', start)
    at = line.rfind(_STATS_KEY, 0, end)
    if stop < 0 or at < 0 or b"\\" in line[start:stop]:
        return None
    try:
        stats = orjson.loads(line[at + len(_STATS_KEY):end - len(_KEPT_TAIL)])
    except orjson.JSONDecodeError:
        return None
    if type(stats) is not dict:
        return None
    return line[start:stop].decode(), stats
