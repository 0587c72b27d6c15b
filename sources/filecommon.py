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
from sources.fileread import detect_bytes_encoding

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def file_time(path: Path) -> str | None:
    """The file's mtime as ISO-8601 UTC: the best 'fetched_at' a local file can offer (None if unknown)."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OSError:
        return None


def read_file(path: Path, source: str) -> bytes | InvalidItem:
    """A whole (small) file's bytes, or the reject naming it (a directory, a symlink loop, no access)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        return invalid(str(path), "unreadable", f"cannot read the file: {exc.strerror or exc}", source)


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
    """Decode a whole file's bytes; (text, encoding). Never raises.

    BOM first, then strict UTF-8, then GB18030 only when the bytes show no UTF-8 evidence (see
    `sources.fileread.encoding`); UTF-8 with bad bytes decodes with U+FFFD ('utf-8-replace').
    """
    encoding = detect_bytes_encoding(data)
    if encoding.bad_utf8:
        return data.decode("utf-8", "replace"), "utf-8-replace"
    return data[encoding.bom :].decode(encoding.name, "replace"), encoding.name


def short_label(value: Any, fallback: str, limit: int = 200) -> str:
    """`value` when it is a short one-line string (a file-level label such as a keyword), else `fallback`.

    File-level fields are copied into every record of the file; a huge or odd one must not be.
    """
    if isinstance(value, str) and value.strip() and len(value) <= limit and "\n" not in value:
        return value.strip()
    return fallback


def normalize_newlines(text: str) -> str:
    """\\r\\n and \\r → \\n, form feeds and other controls → space (records reject controls)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(" ", text)


def schema_error(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def load_json_file(path: Path, source: str) -> Any:
    """A small JSON file's whole parsed content, or the InvalidItem naming the file and why.

    For lists of items use `sources.fileread.iter_json`, which streams and rejects item by item;
    this is for files that are one value (settings, lookup tables). BOM/UTF-16/GB18030 handled.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        return invalid(str(path), "unreadable", f"cannot read the file: {exc.strerror or exc}", source)
    text, encoding = decode(data)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return invalid(str(path), "json_decode", f"not JSON ({encoding}): {exc}", source, text[:500])


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
