"""COIG-CQIA record and the curation envelope around it.

`InstructionRecord` is exactly the nine public COIG-CQIA fields; everything the toolkit needs
beyond them (ids, provenance, metrics, drop reasons) lives in `CuratedRecord`, so a release can
strip the envelope without losing information (provenance is folded into `metadata` as JSON).

One model, two strictness levels. Ingestion keeps raw text and checks structure; the cleaner
repairs text; the strict text rule holds from the clean stage on. Validating with
`context=RAW_TEXT` relaxes exactly one rule, the text rule (`text_rule_violation`: no control
characters, no CR) on the fields the cleaner repairs (`CLEANED_FIELDS`). So a record is never
rejected at ingest for a defect the cleaner fixes, and "raw-valid and every CLEANED_FIELDS value
passes `text_rule_violation`" is the same as strict-valid (the clean stage checks exactly that).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.nfkc import nfkc
from schemas.redact import redact_url

AnswerFrom = Literal["human", "llm"]

# C0 controls except \t and \n, DEL, C1 controls. \r is rejected too: strict text has \n line
# breaks only (the public COIG-CQIA shipped \f in instructions).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# The fields whose text the cleaner repairs: raw text is allowed there before cleaning.
CLEANED_FIELDS: tuple[str, ...] = ("instruction", "input", "output")
# Validation context for raw (not yet cleaned) records: `Model.model_validate(data, context=RAW_TEXT)`.
RAW_TEXT: dict[str, Any] = {"text": "raw"}

COIG_CQIA_FIELDS: tuple[str, ...] = (
    "instruction",
    "input",
    "output",
    "task_type",
    "domain",
    "metadata",
    "answer_from",
    "human_verified",
    "copyright",
)


def text_rule_violation(value: str) -> str | None:
    """Why `value` breaks the strict text rule (a control character, CR included), or None."""
    match = _CONTROL_CHARS.search(value)
    if match is None:
        return None
    return f"contains control character U+{ord(match.group()):04X} at offset {match.start()}"


def _check_no_control(value: str, field: str) -> str:
    problem = text_rule_violation(value)
    if problem is not None:
        raise ValueError(f"{field} {problem}")
    return value


def _is_raw(info: Any) -> bool:
    return bool(info.context) and info.context.get("text") == "raw"


def _non_empty_strings(values: list[str], field: str) -> list[str]:
    if not values:
        raise ValueError(f"{field} must list at least one value")
    for value in values:
        if not value.strip():
            raise ValueError(f"{field} contains an empty value")
        _check_no_control(value, field)
    return values


class TaskType(BaseModel):
    """COIG-CQIA task type: coarse (`major`) and fine (`minor`) labels, both non-empty."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    major: list[str]
    minor: list[str]

    @field_validator("major", "minor")
    @classmethod
    def _labels(cls, values: list[str], info: Any) -> list[str]:
        return _non_empty_strings(values, f"task_type.{info.field_name}")


class InstructionRecord(BaseModel):
    """One COIG-CQIA row: exactly the public fields and types, nothing more."""

    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(description="The user's request or question.")
    input: str = Field(default="", description="Optional context; empty string when absent.")
    output: str = Field(description="The answer.")
    task_type: TaskType = Field(description="Task labels: major (coarse) and minor (fine).")
    domain: list[str] = Field(description="Subject domains, e.g. ['百科', '医疗'].")
    metadata: str = Field(
        default="暂无元数据信息",
        description="Free text; in cqia releases a JSON object holding the record's provenance.",
    )
    answer_from: AnswerFrom = Field(description="Who wrote the answer: 'human' or 'llm'.")
    human_verified: bool = Field(description="True only when a person checked this pair.")
    copyright: str = Field(
        default="暂无版权及作者信息", description="Author and copyright information."
    )

    @field_validator("instruction", "output")
    @classmethod
    def _non_empty(cls, value: str, info: Any) -> str:
        if not value.strip():
            raise ValueError(f"{info.field_name} must not be empty")
        return value if _is_raw(info) else _check_no_control(value, info.field_name)

    @field_validator("input")
    @classmethod
    def _input_text(cls, value: str, info: Any) -> str:
        return value if _is_raw(info) else _check_no_control(value, info.field_name)

    @field_validator("metadata", "copyright")
    @classmethod
    def _clean(cls, value: str, info: Any) -> str:
        return _check_no_control(value, info.field_name)

    @field_validator("domain")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        return _non_empty_strings(values, "domain")


class Provenance(BaseModel):
    """Where a record came from; enough to re-fetch it, credit its author and honour its license."""

    model_config = ConfigDict(extra="forbid")

    source_id: str | None = Field(default=None, description="The source's own id for the item.")
    url: str | None = None
    fetched_at: str | None = Field(default=None, description="ISO-8601 UTC time of fetch/read.")
    raw_sha256: str | None = Field(default=None, description="sha256 of the raw bytes parsed.")
    license: str | None = None
    author: str | None = None
    location: str | None = Field(
        default=None, description="Input location: 'file:line', 'file#item' or a URL."
    )
    extra: dict[str, Any] = Field(
        default_factory=dict, description="Source-specific facts (votes, edits, annotators...)."
    )

    @field_validator("url", "location")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        """A crawl URL may carry `?token=` or `user:pass@`; provenance is published, so never them."""
        return redact_url(value) if value else value


class CuratedRecord(BaseModel):
    """The envelope every stage passes along: record + stable id + provenance + stats."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable id: hash of source + source-native id, or of content.")
    source: str = Field(description="Source config name, e.g. 'zhihu'; becomes the Hub config.")
    record: InstructionRecord
    provenance: Provenance = Field(default_factory=Provenance)
    stats: dict[str, Any] = Field(
        default_factory=dict, description="Metrics written by curation stages, before decisions."
    )
    drop_reason: str | None = None

    @field_validator("source")
    @classmethod
    def _config_name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", value):
            raise ValueError(f"source {value!r} must be a lowercase config name ([a-z0-9_-])")
        return value

    def release_row(self) -> dict[str, Any]:
        """The nine COIG-CQIA fields, with id/source/provenance folded into `metadata` JSON."""
        row = self.record.model_dump()
        row["metadata"] = release_metadata(self.id, self.source, self.record.metadata,
                                           self.provenance.model_dump(exclude_none=True, exclude_defaults=True))
        return row

    @classmethod
    def from_release_row(cls, row: dict[str, Any]) -> CuratedRecord:
        """Inverse of `release_row`: recover the envelope from a released row."""
        meta = json.loads(row["metadata"])
        record = InstructionRecord.model_validate({**row, "metadata": meta["source_metadata"]})
        return cls(
            id=meta["cqia_id"],
            source=meta["source"],
            record=record,
            provenance=Provenance.model_validate(meta.get("provenance", {})),
        )


RELEASE_METADATA_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # = json.dumps(..., same options)


def release_metadata(record_id: str, source: str, source_metadata: str, provenance: dict[str, Any]) -> str:
    """A released row's `metadata`: id, source, the record's own metadata and its provenance (as
    `Provenance.model_dump(exclude_none=True, exclude_defaults=True)` gives it), as sorted JSON."""
    return RELEASE_METADATA_ENCODER.encode(
        {"cqia_id": record_id, "source": source, "source_metadata": source_metadata, "provenance": provenance})


def normalize_for_id(text: str) -> str:
    """NFKC + whitespace-collapsed form used only for hashing (ids, exact dedup keys)."""
    if not unicodedata.is_normalized("NFKC", text):  # quick check: most text is already NFKC
        text = nfkc(text)
    return " ".join(text.split())


def make_record_id(source: str, source_id: str | None = None, *, content: str | None = None) -> str:
    """Stable 16-hex id: from source + native id when the source has ids, else from content."""
    if source_id is not None:
        digest, rest = _key_prefix(source, "id").copy(), source_id
    elif content is not None:
        digest, rest = _key_prefix(source, "content").copy(), normalize_for_id(content)
    else:
        raise ValueError("make_record_id needs a source_id or content")
    digest.update(rest.encode())  # = sha256 of f"{source}\x00{kind}\x00{rest}" in UTF-8
    return digest.hexdigest()[:16]


@lru_cache(maxsize=256)
def _key_prefix(source: str, kind: str) -> Any:
    """sha256 state after f"{source}\x00{kind}\x00" (copied per id: the prefix is hashed once)."""
    return hashlib.sha256(f"{source}\x00{kind}\x00".encode())
