"""What every file reader yields: an item with its location and bytes, or a located reject."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas import InvalidItem, truncate_raw

# Deepest nesting an item may have. Real instruction data nests a handful of levels; orjson
# cannot serialise past 255 and records put an item a few levels down (provenance.extra), so a
# deeper item is rejected where it is read instead of crashing whoever serialises it later.
MAX_ITEM_DEPTH = 64
# Rejects keep this much of an item's raw bytes (the rest is counted, not copied).
RAW_KEEP = 2000


@dataclass(frozen=True, slots=True)
class Item:
    """One input item: where it is, its parsed value and the bytes it was parsed from."""

    location: str  # 'file:line' (line-based formats) or 'file#index' (arrays, Parquet rows)
    index: int  # 0-based position among the file's items
    value: Any
    raw: bytes  # UTF-8 bytes of the item as read (for raw_sha256); JSON of the row for Parquet
    encoding: str = "utf-8"  # the file's encoding (see fileread.encoding)
    context: Mapping[str, Any] = field(default_factory=dict)  # small scalar members beside the list


def raw_text(raw: bytes | str | None) -> str | None:
    """A reject's raw field: text, cut to RAW_KEEP characters with a marker."""
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return truncate_raw(text, RAW_KEEP)


def reject(location: str, reason: str, detail: str, source: str | None, raw: bytes | str | None = None) -> InvalidItem:
    return InvalidItem(location=location, reason=reason, detail=detail, source=source, raw=raw_text(raw))


def depth_of(value: Any, limit: int = MAX_ITEM_DEPTH) -> int:
    """Nesting depth of a parsed value, counting stops just past `limit` (iterative: no recursion)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest
