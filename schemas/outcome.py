"""What a parser yields for input it cannot turn into a record: kept, never silently dropped."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from schemas.redact import redact_obj, redact_text, redact_url


class InvalidItem(BaseModel):
    """An input unit that failed parsing or validation, with where it was and why."""

    location: str = Field(description="'path:line', 'path#item-index' or a URL.")
    reason: str = Field(description="Short machine-readable code, e.g. 'json_decode' or 'schema'.")
    detail: str = Field(default="", description="Human-readable explanation.")
    source: str | None = None
    raw: Any = Field(default=None, description="The raw input (truncated when large).")

    @field_validator("location")
    @classmethod
    def _location_without_credentials(cls, value: str) -> str:
        return redact_url(value)

    @field_validator("detail")
    @classmethod
    def _detail_without_credentials(cls, value: str) -> str:
        return redact_text(value)

    @field_validator("raw")
    @classmethod
    def _raw_without_credentials(cls, value: Any) -> Any:
        return redact_obj(value) if value is not None else value


def truncate_raw(raw: Any, limit: int = 4000) -> Any:
    """Keep rejects shards readable: long raw strings are cut with a marker."""
    if isinstance(raw, str) and len(raw) > limit:
        return raw[:limit] + f"…[truncated {len(raw) - limit} chars]"
    return raw
