"""Import existing instruction data (COIG-CQIA, Alpaca, ShareGPT) from JSON, JSONL or Parquet.

ShareGPT decision: the first human turn becomes `instruction`, the first assistant reply after
it becomes `output`, a system prompt becomes `input`; the whole conversation (all turns, tool
calls, observations, tools) is kept in provenance so nothing is lost for multi-turn users.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from schemas import CuratedRecord, InstructionRecord, InvalidItem, Provenance, make_record_id, truncate_raw
from sources.settings import SourceSettings

ImportFormat = Literal["coig-cqia", "alpaca", "sharegpt"]
FORMATS: tuple[str, ...] = ("coig-cqia", "alpaca", "sharegpt")

_HUMAN_ROLES = {"human", "user"}
_ASSISTANT_ROLES = {"gpt", "assistant", "chatgpt", "bing", "bard", "model"}
_SYSTEM_ROLES = {"system"}


class ItemError(ValueError):
    """A single item cannot be mapped; carries a short reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _file_time(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iter_raw_items(path: Path) -> Iterator[tuple[str, bytes | None, Any]]:
    """Yield (location, raw bytes or None, parsed object or ItemError) for each item of a file."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        yield from _iter_parquet(path)
    elif suffix == ".jsonl":
        yield from _iter_jsonl(path)
    elif suffix == ".json":
        yield from _iter_json(path)
    else:
        raise ValueError(f"{path}: unsupported file type {suffix!r} (use .json, .jsonl or .parquet)")


def _iter_jsonl(path: Path) -> Iterator[tuple[str, bytes | None, Any]]:
    with path.open("rb") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            location = f"{path}:{line_no}"
            try:
                yield location, line, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield location, line, ItemError("json_decode", f"malformed JSON: {exc}")


def _iter_json(path: Path) -> Iterator[tuple[str, bytes | None, Any]]:
    data = path.read_bytes()
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        # Many ".json" instruction files are really JSON Lines.
        yield from _iter_jsonl(path)
        return
    if isinstance(parsed, dict):
        items = next((v for v in parsed.values() if isinstance(v, list)), None)
        if items is None:
            raise ValueError(f"{path}: JSON object holds no list of items")
    elif isinstance(parsed, list):
        items = parsed
    else:
        raise ValueError(f"{path}: top-level JSON must be a list of items")
    for index, item in enumerate(items):
        yield f"{path}#{index}", orjson.dumps(item), item


def _iter_parquet(path: Path) -> Iterator[tuple[str, bytes | None, Any]]:
    import pyarrow.parquet as pq

    row = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=2048):
        for item in batch.to_pylist():
            yield f"{path}#{row}", None, item
            row += 1


def _text(obj: dict[str, Any], key: str, *, required: bool) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise ItemError("missing_field", f"field {key!r} is missing")
        return ""
    if not isinstance(value, str):
        raise ItemError("wrong_type", f"field {key!r} must be a string, got {type(value).__name__}")
    return value


def _map_alpaca(obj: dict[str, Any], settings: SourceSettings | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    fields = {
        "instruction": _text(obj, "instruction", required=True),
        "input": _text(obj, "input", required=False),
        "output": _text(obj, "output", required=True),
    }
    extra = {k: obj[k] for k in ("system", "history") if obj.get(k)}
    return fields, extra


def _turns(obj: dict[str, Any]) -> list[tuple[str, str]]:
    raw = obj.get("conversations", obj.get("messages"))
    if not isinstance(raw, list) or not raw:
        raise ItemError("missing_field", "no 'conversations' or 'messages' list")
    turns = []
    for index, turn in enumerate(raw):
        if not isinstance(turn, dict):
            raise ItemError("wrong_type", f"turn {index} is not an object")
        role = turn.get("from", turn.get("role"))
        value = turn.get("value", turn.get("content"))
        if not isinstance(role, str) or not isinstance(value, str):
            raise ItemError("wrong_type", f"turn {index} needs string 'from'/'role' and 'value'/'content'")
        turns.append((role.lower(), value))
    return turns


def _map_sharegpt(obj: dict[str, Any], settings: SourceSettings | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    turns = _turns(obj)
    system = obj.get("system") if isinstance(obj.get("system"), str) else ""
    system = system or next((v for r, v in turns if r in _SYSTEM_ROLES), "")
    first_human = next((i for i, (r, _) in enumerate(turns) if r in _HUMAN_ROLES), None)
    if first_human is None:
        raise ItemError("sharegpt_no_human_turn", "conversation has no human/user turn")
    reply = next((v for r, v in turns[first_human + 1 :] if r in _ASSISTANT_ROLES), None)
    if reply is None:
        raise ItemError("sharegpt_no_assistant_reply", "no assistant reply after the first human turn")
    extra: dict[str, Any] = {
        "conversation": [{"from": r, "value": v} for r, v in turns],
        "turns": len(turns),
    }
    if obj.get("tools"):
        extra["tools"] = obj["tools"]
    return {"instruction": turns[first_human][1], "input": system, "output": reply}, extra


_COIG_ONLY = {"task_type", "domain", "answer_from", "human_verified", "copyright", "metadata"}


def detect_format(obj: Any) -> str | None:
    """The import format an item looks like (coig-cqia, alpaca or sharegpt), or None."""
    if not isinstance(obj, dict):
        return None
    if "conversations" in obj or "messages" in obj:
        return "sharegpt"
    if "instruction" in obj and "output" in obj:
        return "coig-cqia" if _COIG_ONLY & set(obj) else "alpaca"
    return None


def map_fields(obj: Any, fmt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(record fields as found, provenance extra) of one item, without validating them (audits
    check them); raises ItemError (with a reason code) when the item is not of that format."""
    if not isinstance(obj, dict):
        raise ItemError("wrong_type", f"item is {type(obj).__name__}, expected an object")
    if fmt == "coig-cqia":
        return dict(obj), {}
    mapper = {"alpaca": _map_alpaca, "sharegpt": _map_sharegpt}.get(fmt)
    if mapper is None:
        raise ValueError(f"unknown import format {fmt!r}; choose one of {FORMATS}")
    return mapper(obj)


def _build(
    fields: dict[str, Any], *, fmt: str, settings: SourceSettings, answer_from: str | None
) -> InstructionRecord:
    if fmt == "coig-cqia":
        return InstructionRecord.model_validate(fields)
    return InstructionRecord(
        **fields,
        task_type=settings.task_type,
        domain=settings.domain,
        answer_from=answer_from or settings.answer_from,
        human_verified=False,
        copyright=settings.copyright,
    )


def iter_import(
    paths: list[Path],
    fmt: str,
    source: str,
    settings: SourceSettings,
    *,
    answer_from: str | None = None,
) -> Iterator[CuratedRecord | InvalidItem]:
    """Records (or InvalidItems naming file:line and reason) from instruction files, in order."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown import format {fmt!r}; choose one of {FORMATS}")
    mapper = {"alpaca": _map_alpaca, "sharegpt": _map_sharegpt}.get(fmt)
    for path in paths:
        fetched_at = _file_time(path)
        for location, raw, obj in iter_raw_items(path):
            try:
                if isinstance(obj, ItemError):
                    raise obj
                if not isinstance(obj, dict):
                    raise ItemError("wrong_type", f"item is {type(obj).__name__}, expected an object")
                fields, extra = (dict(obj), {}) if mapper is None else mapper(obj, settings)
                record = _build(fields, fmt=fmt, settings=settings, answer_from=answer_from)
            except ItemError as exc:
                yield InvalidItem(location=location, reason=exc.reason, detail=str(exc), source=source,
                                  raw=truncate_raw(raw.decode("utf-8", "replace") if raw else obj))
                continue
            except ValidationError as exc:
                detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                yield InvalidItem(location=location, reason="schema", detail=detail, source=source,
                                  raw=truncate_raw(raw.decode("utf-8", "replace") if raw else obj))
                continue
            if record.human_verified:
                extra["verified_by"] = "upstream"
            raw_bytes = raw if raw is not None else orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
            yield CuratedRecord(
                id=make_record_id(source, content="\x1f".join((record.instruction, record.input, record.output))),
                source=source,
                record=record,
                provenance=Provenance(
                    location=location,
                    fetched_at=fetched_at,
                    raw_sha256=hashlib.sha256(raw_bytes).hexdigest(),
                    license=settings.license,
                    extra={"import_format": fmt, **extra},
                ),
            )
