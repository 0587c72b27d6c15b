"""Small helpers shared by the file/dump sources (wiki, baike, exam, logiqa, classical, ruozhiba)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from schemas import InvalidItem, truncate_raw

# Encodings tried in order for files that do not declare one. gb18030 is a superset of GBK/GB2312.
ENCODINGS = ("utf-8-sig", "gb18030")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def file_time(path: Path) -> str:
    """The file's mtime as ISO-8601 UTC: the best 'fetched_at' a local file can offer."""
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sha256_text(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def pick(templates: list[str], key: str) -> str:
    """Stable choice of one template for `key` (same input → same record on every run)."""
    if not templates:
        raise ValueError("no templates configured")
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return templates[int.from_bytes(digest[:4], "big") % len(templates)]


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (with or without BOM) or GB18030; (text, encoding). Never raises."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace"), "utf-8-replace"


def normalize_newlines(text: str) -> str:
    """\\r\\n and \\r → \\n, form feeds and other controls → space (records reject controls)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(" ", text)


def schema_error(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def load_json_file(path: Path, source: str) -> Any:
    """A JSON file's parsed content, or the InvalidItem (json_decode) naming the file."""
    data = path.read_bytes()
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return invalid(str(path), "json_decode", f"not JSON: {exc}", source, data[:500].decode("utf-8", "replace"))


def invalid(location: str, reason: str, detail: str, source: str, raw: Any = None) -> InvalidItem:
    return InvalidItem(location=location, reason=reason, detail=detail, source=source, raw=truncate_raw(raw))


_SLOT = re.compile(r"\{(\w+)\}")


def fill(templates: str | list[str], **fields: Any) -> str | None:
    """The first template whose every `{slot}` has a non-empty value, filled; None when none fits.

    Templates are listed from most to least specific, so a record never prints an empty slot
    ("出自的《度关山》") and never invents a value for a field the input does not have.
    """
    for template in [templates] if isinstance(templates, str) else templates:
        if all(str(fields.get(slot) or "").strip() for slot in _SLOT.findall(template)):
            return template.format(**fields)
    return None
