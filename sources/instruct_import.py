"""Import existing instruction data (COIG-CQIA, Alpaca, ShareGPT) from JSON, JSONL or Parquet.

ShareGPT decision: the first human turn becomes `instruction`, the first assistant reply after
it becomes `output`, a system prompt becomes `input`; the whole conversation (all turns, tool
calls, observations, tools) is kept in provenance so nothing is lost for multi-turn users.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from schemas import RAW_TEXT, CuratedRecord, InstructionRecord, InvalidItem, Provenance, make_record_id
from schemas.redact import redact_url
from sources.filecommon import file_time
from sources.fileread import Item, LineRange, iter_items, reject
from sources.settings import SourceSettings

ImportFormat = Literal["coig-cqia", "alpaca", "sharegpt"]
FORMATS: tuple[str, ...] = ("coig-cqia", "alpaca", "sharegpt")

_HUMAN_ROLES = {"human", "user"}
_ASSISTANT_ROLES = {"gpt", "assistant", "chatgpt", "bing", "bard", "model"}
_SYSTEM_ROLES = {"system"}
# The same rule as CuratedRecord.source: a lowercase config name (it also names the stage folder).
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_\-]*")


class ItemError(ValueError):
    """A single item cannot be mapped; carries a short reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


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
        value = _turn_text(turn.get("value", turn.get("content")), index)
        if not isinstance(role, str):
            raise ItemError("wrong_type", f"turn {index} needs string 'from'/'role' and 'value'/'content'")
        turns.append((role.lower(), value))
    return turns


def _turn_text(value: Any, index: int) -> str:
    """A turn's text: a string, or a list of content parts (OpenAI `{"type": "text", "text"}`,
    LLaMA-Factory v1 `{"type": "text", "value"}`) joined. Image/audio parts are not text: the item
    is rejected rather than imported without them."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        texts = []
        for part in value:
            kind = part.get("type", "text") if isinstance(part, dict) else None
            text = part.get("text", part.get("value")) if isinstance(part, dict) else None
            if kind != "text" or not isinstance(text, str):
                raise ItemError("non_text_content", f"turn {index} has a {kind or type(part).__name__!s} content part; "
                                "only text conversations are imported")
            texts.append(text)
        return "".join(texts)
    raise ItemError("wrong_type", f"turn {index} needs string 'from'/'role' and 'value'/'content'")


def _map_sharegpt(obj: dict[str, Any], settings: SourceSettings | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    turns = _turns(obj)
    system = obj.get("system") if isinstance(obj.get("system"), str) else ""
    system = system or next((v for r, v in turns if r in _SYSTEM_ROLES), "")
    first_human = next((i for i, (r, _) in enumerate(turns) if r in _HUMAN_ROLES), None)
    if first_human is None:
        raise ItemError("sharegpt_no_human_turn", "conversation has no human/user turn")
    reply = next((v for r, v in turns[first_human + 1 :] if r in _ASSISTANT_ROLES), None)
    extra: dict[str, Any] = {
        "conversation": [{"from": r, "value": v} for r, v in turns],
        "turns": len(turns),
    }
    if reply is None and "chosen" in obj:
        # A preference pair (LLaMA-Factory / ShareGPT DPO: conversations + chosen + rejected): the
        # chosen reply is the answer; the rejected one is kept in provenance, nothing is lost.
        reply = _turn_text(_reply_value(obj["chosen"]), len(turns))
        extra["preference"] = {"rejected": obj.get("rejected")}
    if reply is None:
        raise ItemError("sharegpt_no_assistant_reply", "no assistant reply after the first human turn")
    if obj.get("tools"):
        extra["tools"] = obj["tools"]
    return {"instruction": turns[first_human][1], "input": system, "output": reply}, extra


def _reply_value(reply: Any) -> Any:
    """`chosen` as a turn object (`{"from": "gpt", "value": ...}`) or as the bare text."""
    return reply.get("value", reply.get("content")) if isinstance(reply, dict) else reply


def _upstream_answer_from(fields: dict[str, Any], extra: dict[str, Any]) -> None:
    """COIG-CQIA rows also say `answer_from: expert` (human_value: answers written by experts).
    An expert is a human, so the record says `human`; the upstream value stays in provenance."""
    value = fields.get("answer_from")
    if isinstance(value, str) and value.lower() == "expert":
        fields["answer_from"] = "human"
        extra["answer_from_upstream"] = value


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
    """Structure is checked here; the text stays raw (RAW_TEXT): control characters, a lone CR or
    mojibake C1 characters are the cleaner's to repair, not a reason to reject the item."""
    if fmt != "coig-cqia":
        fields = {
            **fields,
            "task_type": settings.task_type,
            "domain": settings.domain,
            "answer_from": answer_from or settings.answer_from,
            "human_verified": False,
            "copyright": settings.copyright,
        }
    return InstructionRecord.model_validate(fields, context=RAW_TEXT)


def iter_import(
    paths: list[Path | LineRange],
    fmt: str,
    source: str,
    settings: SourceSettings,
    *,
    answer_from: str | None = None,
    as_json: bool = False,
) -> Iterator[CuratedRecord | bytes | InvalidItem]:
    """Records (or InvalidItems naming file:line / file#index and reason) from instruction files, in order.

    Files are streamed through `sources.fileread`: a bad file or item is one located reject and
    reading goes on. A path may be a `LineRange` of a large JSON Lines file (`split_json_lines`).
    `as_json`: a record whose fields need no model check (see `_FastRecords`) comes as the JSON
    line `CuratedRecord` would serialise to (bytes, no newline) instead of a model.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown import format {fmt!r}; choose one of {FORMATS}")
    check_source_name(source)
    mapper = {"alpaca": _map_alpaca, "sharegpt": _map_sharegpt}.get(fmt)
    for path in paths:
        file = path.path if isinstance(path, LineRange) else Path(path)
        fetched_at: str | None = None
        fast: _FastRecords | None = None
        for entry in iter_items(path, source):
            if isinstance(entry, InvalidItem):
                yield entry
                continue
            if fetched_at is None:
                fetched_at = file_time(file)
                if as_json and mapper is not None:
                    fast = _FastRecords.for_file(fmt, source, settings, answer_from, fetched_at)
            if fast is not None:
                line = fast.record_json(entry, mapper)
                if line is not None:
                    yield line
                    continue
            yield _import_item(entry, fmt, mapper, source, settings, answer_from, fetched_at)


class _FastRecords:
    """Record JSON straight from an alpaca/sharegpt item, without building the models.

    The mapped fields are three strings; everything else a record holds comes from the settings
    and is the same for every item, so it is validated once here, through the models (a probe
    record). Per item only the models' remaining checks are left: instruction and output not
    blank. An item that fails one, or whose extra values orjson cannot write, takes the model path
    (`_import_item`), so rejects and their messages stay the model's. The dicts are laid out as
    the models' fields, and orjson writes JSON values as pydantic-core does (tested byte-equal
    against the model path), so the bytes are the model's.
    """

    def __init__(self, fmt: str, source: str, record: dict[str, Any], provenance: dict[str, Any]) -> None:
        self.fmt, self.source = fmt, source
        self.record, self.provenance = record, provenance

    @classmethod
    def for_file(cls, fmt: str, source: str, settings: SourceSettings, answer_from: str | None,
                 fetched_at: str | None) -> _FastRecords | None:
        try:
            record = _build({"instruction": "x", "input": "", "output": "x"}, fmt=fmt, settings=settings,
                            answer_from=answer_from)
            provenance = Provenance(fetched_at=fetched_at, raw_sha256="", license=settings.license)
        except ValidationError:
            return None  # every item fails the same way: the model path says how
        if tuple(record.model_dump()) != _RECORD_FIELDS or record.human_verified:
            return None  # pragma: no cover - the models changed: the fast path does not know them
        return cls(fmt, source, record.model_dump(), provenance.model_dump())

    def record_json(self, item: Item, mapper: Any) -> bytes | None:
        obj = item.value
        if type(obj) is not dict:
            return None
        try:
            fields, extra = mapper(obj)
        except ItemError:
            return None
        instruction, input_, output = fields["instruction"], fields["input"], fields["output"]
        if not instruction.strip() or not output.strip():
            return None
        record = dict(self.record)
        record["instruction"], record["input"], record["output"] = instruction, input_, output
        provenance = dict(self.provenance)
        provenance["raw_sha256"] = hashlib.sha256(item.raw).hexdigest()
        provenance["location"] = redact_url(item.location)
        if item.encoding not in ("utf-8", "parquet"):
            extra["encoding"] = item.encoding
        provenance["extra"] = {"import_format": self.fmt, **extra}
        row = {
            "id": make_record_id(self.source, content="\x1f".join((instruction, input_, output))),
            "source": self.source, "record": record, "provenance": provenance, "stats": {}, "drop_reason": None,
        }
        try:
            return orjson.dumps(row)
        except (orjson.JSONEncodeError, TypeError):  # e.g. an integer beyond 64 bits: the model path
            return None


_RECORD_FIELDS = tuple(InstructionRecord.model_fields)


def _import_item(item: Item, fmt: str, mapper: Any, source: str, settings: SourceSettings,
                 answer_from: str | None, fetched_at: str | None) -> CuratedRecord | InvalidItem:
    obj = item.value
    try:
        if not isinstance(obj, dict):
            raise ItemError("wrong_type", f"item is {type(obj).__name__}, expected an object")
        fields, extra = (dict(obj), {}) if mapper is None else mapper(obj, settings)
        if mapper is None:
            _upstream_answer_from(fields, extra)
        record = _build(fields, fmt=fmt, settings=settings, answer_from=answer_from)
    except ItemError as exc:
        return reject(item.location, exc.reason, str(exc), source, item.raw)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return reject(item.location, "schema", detail, source, item.raw)
    if record.human_verified:
        extra["verified_by"] = "upstream"
    if item.encoding not in ("utf-8", "parquet"):
        extra["encoding"] = item.encoding  # say when the file was not plain UTF-8 (BOM, UTF-16, GB18030)
    return CuratedRecord(
        id=make_record_id(source, content="\x1f".join((record.instruction, record.input, record.output))),
        source=source,
        record=record,
        provenance=Provenance(
            location=item.location,
            fetched_at=fetched_at,
            raw_sha256=hashlib.sha256(item.raw).hexdigest(),
            license=settings.license,
            extra={"import_format": fmt, **extra},
        ),
    )


def check_source_name(source: str) -> None:
    """Source names become config names and stage folders: refuse anything else up front."""
    if not SOURCE_NAME.fullmatch(source):
        raise ValueError(f"source name {source!r} is not a config name: use lowercase letters, digits, '_' "
                         "and '-', starting with a letter or digit (e.g. coig_pc)")
