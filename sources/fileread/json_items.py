"""Items of .json and .jsonl files, streamed, each a located Item or a located reject.

Layouts of a `.json` file:
- an array of items (`file#index`);
- an object holding lists of items: every list is read (`file#index`, numbered across lists);
  small scalar members beside the lists (e.g. GAOKAO's `keywords`) are passed as `Item.context`;
  the pandas "split" layout (`{"columns": [names], "data": [[cells]]}`) yields one object per row;
- JSON Lines saved as `.json` (`file:line`).
An item that is malformed, too deep or holds an invalid UTF-8 byte is one reject; the file goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from schemas import InvalidItem
from sources.fileread.encoding import Encoding, utf8_chunks
from sources.fileread.item import MAX_ITEM_DEPTH, Item, reject
from sources.fileread.scan import ByteStream, Span

_SPLIT_COLUMNS_MAX = 10_000
_OPEN_LIST, _CLOSE_LIST, _OPEN_OBJECT, _CLOSE_OBJECT, _COMMA, _COLON, _QUOTE = b'[]{},:"'
_CONTEXT_MAX_BYTES = 1024


def _utf8_problem(raw: bytes) -> tuple[int, int] | None:
    """(offset in raw, byte) of the first invalid UTF-8 byte, or None."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start, raw[exc.start]
    return None


def parse_item(raw: bytes, location: str, index: int, where: str | Callable[[], str], source: str | None,
               encoding: Encoding,
               depth: int | None = None, context: dict[str, Any] | None = None) -> Item | InvalidItem:
    """One item's bytes → Item, or the reject saying why (depth, bad byte, malformed JSON).

    `where` names the item's start for messages ("byte 1234" or "line 7"), or makes that name
    when called (only rejects need it).
    """
    def place() -> str:
        return where() if callable(where) else where

    if depth is None and raw.count(b"[") + raw.count(b"{") > MAX_ITEM_DEPTH:  # cheap test first
        stream = ByteStream(iter([raw]))
        start = stream.next_non_space(0)
        depth = stream.scan_value(start).depth if start is not None else 0
    if depth is not None and depth > MAX_ITEM_DEPTH:
        return reject(location, "too_deep", f"item nests {depth} levels deep (limit {MAX_ITEM_DEPTH}), at {place()}",
                      source, raw)
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        bad = _utf8_problem(raw)
        if bad is not None:
            return reject(location, "encoding", f"invalid UTF-8 byte 0x{bad[1]:02X} at offset {bad[0]} of the item "
                          f"(item at {place()}); the rest of the file is UTF-8", source, raw)
        return reject(location, "json_decode", f"malformed JSON in the item at {place()}: {exc}", source, raw)
    return Item(location=location, index=index, value=value, raw=raw, encoding=encoding.name,
                context=context or {})


class _JsonFile:
    """Streaming reader of one .json file's items (state: stream, running item index)."""

    def __init__(self, path: Path, source: str | None, encoding: Encoding) -> None:
        self.path, self.source, self.encoding = path, source, encoding
        self.stream = ByteStream(utf8_chunks(path, encoding))
        self.index = 0  # running item index across the file's lists
        self.pos: int | None = None  # where reading goes on after the last list/object (None: cut short)
        self.skipped = 0  # pandas 'index' labels passed over

    def where(self, offset: int) -> str:
        if self.encoding.transcoded:
            return f"byte {offset} of its UTF-8 re-encoding"
        return f"byte {offset + self.encoding.bom}"

    def at(self, offset: int) -> str:
        return f"{self.path}@{offset + (0 if self.encoding.transcoded else self.encoding.bom)}"

    # ---------------------------------------------------------------------------- lists of items

    def list_items(self, open_at: int, context: dict[str, Any], columns: list[str] | None = None,
                   skip: bool = False) -> Iterator[Item | InvalidItem]:
        """Items of the list whose '[' is at `open_at`; sets self.pos after its ']' (None if cut)."""
        stream, pos = self.stream, open_at + 1
        while True:
            start = stream.next_non_space(pos)
            if start is None:
                yield reject(self.at(pos), "truncated", f"file ends inside a list (after {self.index} items)",
                             self.source)
                self.pos = None
                return
            first = stream.byte(start)
            if first == _CLOSE_LIST:
                self.pos = start + 1
                return
            if first == _COMMA:
                pos = start + 1
                continue
            span = stream.scan_value(start, keep=not skip)
            if skip:
                self.skipped += 1
            else:
                yield self._item(span, context, columns)
            self.index += 0 if skip else 1
            if not span.complete:
                self.pos = None
                return
            pos = span.end

    def _item(self, span: Span, context: dict[str, Any], columns: list[str] | None) -> Item | InvalidItem:
        raw = self.stream.take(span.start, span.end)
        location = f"{self.path}#{self.index}"
        if not span.complete:
            return reject(location, "truncated", f"file ends inside item {self.index} (it starts at "
                          f"{self.where(span.start)})", self.source, raw)
        item = parse_item(raw, location, self.index, lambda: self.where(span.start), self.source, self.encoding,
                          span.depth, context)
        if columns is None or not isinstance(item, Item):
            return item
        if not isinstance(item.value, list) or len(item.value) != len(columns):
            cells = len(item.value) if isinstance(item.value, list) else type(item.value).__name__
            return reject(location, "table_row", f"'data' row has {cells} cells, 'columns' names {len(columns)}",
                          self.source, raw)
        return Item(location=location, index=item.index, value=dict(zip(columns, item.value, strict=True)),
                    raw=raw, encoding=item.encoding, context=context)

    # ---------------------------------------------------------------------------- top level

    def read(self) -> Iterator[Item | InvalidItem]:
        start = self.stream.next_non_space(0)
        if start is None:
            yield reject(str(self.path), "empty_file", "the file holds no JSON value", self.source)
            return
        first = self.stream.byte(start)
        if first == _OPEN_LIST:
            yield from self.list_items(start, {})
        elif first == _OPEN_OBJECT:
            yield from self.object_members(start)
        else:
            yield reject(str(self.path), "json_shape", "top-level JSON value is neither a list of items nor an "
                         "object holding lists", self.source, self.stream.take(start, start + 200))
            return
        if self.pos is not None and (junk := self.stream.next_non_space(self.pos)) is not None:
            yield reject(self.at(junk), "trailing_data", "content after the top-level JSON value", self.source,
                         self.stream.take(junk, junk + 200))

    def object_members(self, open_at: int) -> Iterator[Item | InvalidItem]:
        """Members of a top-level object: lists are streamed as items, small scalars become context."""
        stream, pos = self.stream, open_at + 1
        context: dict[str, Any] = {}
        lists: list[str] = []
        others: list[str] = []
        columns: list[Item] | None = None
        while True:
            start = stream.next_non_space(pos)
            if start is None:
                yield reject(self.at(pos), "truncated", "file ends inside the top-level object", self.source)
                self.pos = None
                break
            first = stream.byte(start)
            if first == _CLOSE_OBJECT:
                self.pos = start + 1
                break
            if first in (_COMMA, _COLON):
                pos = start + 1
                continue
            key_span = stream.scan_value(start)
            key = self._key(key_span)
            value_at = stream.next_non_space(key_span.end)
            if value_at is not None and stream.byte(value_at) == _COLON:
                value_at = stream.next_non_space(value_at + 1)
            if key is None or value_at is None:
                yield reject(self.at(start), "json_syntax" if value_at is not None else "truncated",
                             "expected a member name and value in the top-level object", self.source,
                             stream.take(start, start + 200))
                self.pos = None
                break
            if stream.byte(value_at) == _OPEN_LIST:
                lists.append(key)
                if key == "columns" and columns is None:
                    columns = yield from self._held_columns(value_at, dict(context))
                else:
                    names = [c.value for c in columns] if columns and key == "data" else None
                    yield from self.list_items(value_at, dict(context), names,
                                               skip=bool(columns) and key == "index")
                if columns and key == "data":
                    columns = []  # used: not items
                if self.pos is None:
                    break
                pos = self.pos
                continue
            span = stream.scan_value(value_at)
            if not span.complete:
                yield reject(self.at(value_at), "truncated", f"file ends inside member {key!r}", self.source)
                self.pos = None
                break
            others.append(key)
            if span.end - span.start <= _CONTEXT_MAX_BYTES:
                try:
                    value = orjson.loads(stream.take(span.start, span.end))
                except orjson.JSONDecodeError:
                    value = None
                if value is None or isinstance(value, str | int | float | bool):
                    context[key] = value
            pos = span.end
        if columns:  # 'columns' held for a 'data' list that never came: they are items after all
            for held in columns:
                yield Item(location=f"{self.path}#{self.index}", index=self.index, value=held.value, raw=held.raw,
                           encoding=held.encoding, context=held.context)
                self.index += 1
        if self.skipped and columns:
            yield reject(str(self.path), "json_shape", f"'index' list of {self.skipped} labels but no 'data' rows",
                         self.source)
        if not lists and self.pos is not None:
            yield reject(str(self.path), "json_shape", f"the top-level object holds no list of items (members: "
                         f"{', '.join(others)[:300]})", self.source)

    def _key(self, span: Span) -> str | None:
        if not span.complete or self.stream.byte(span.start) != _QUOTE:
            return None
        try:
            return orjson.loads(self.stream.take(span.start, span.end))
        except orjson.JSONDecodeError:
            return None

    def _held_columns(self, open_at: int, context: dict[str, Any]) -> Iterator[Item | InvalidItem]:
        """Read a 'columns' list: held back while it looks like pandas column names, else items."""
        held: list[Item] = []
        first_index = self.index
        flushed = False
        for out in self.list_items(open_at, context):
            if not flushed and isinstance(out, Item) and isinstance(out.value, str) and len(held) < _SPLIT_COLUMNS_MAX:
                held.append(out)
                continue
            if not flushed:
                flushed = True
                yield from held
            yield out
        if flushed:
            return None
        self.index = first_index  # names, not items: the first data row is item 0
        return held


def iter_json_file(path: Path, source: str | None, encoding: Encoding) -> Iterator[Item | InvalidItem]:
    """Items of a .json file (array, object of lists, pandas split, or JSON Lines)."""
    if looks_like_json_lines(path, encoding):
        yield from iter_jsonl_file(path, source, encoding)
        return
    yield from _JsonFile(path, source, encoding).read()


def looks_like_json_lines(path: Path, encoding: Encoding) -> bool:
    """True when the first value is an object followed by more values (JSON Lines named .json).

    The first value is skipped without being held, so a 200 MB single-object file costs a scan,
    not its size in memory.
    """
    stream = ByteStream(utf8_chunks(path, encoding))
    start = stream.next_non_space(0)
    if start is None or stream.byte(start) != _OPEN_OBJECT:
        return False
    head = stream.buf[start - stream.base :]
    first_line, newline, rest = head.partition(b"\n")
    if newline and first_line.rstrip().endswith(b"}") and rest.lstrip()[:1] == b"{":
        return True  # the usual JSON Lines signature: decided without scanning
    span = stream.scan_value(start, keep=False)
    return span.complete and stream.next_non_space(span.end) is not None


def iter_jsonl_file(path: Path, source: str | None, encoding: Encoding) -> Iterator[Item | InvalidItem]:
    """Items of a JSON Lines file, one per non-blank line (`file:line`)."""
    index = 0
    for line_no, line in enumerate(_lines(path, encoding), start=1):
        if not line.strip():
            continue
        yield parse_item(line, f"{path}:{line_no}", index, f"line {line_no}", source, encoding)
        index += 1
    if index == 0:
        yield reject(str(path), "empty_file", "the file holds no JSON line", source)


def _lines(path: Path, encoding: Encoding) -> Iterator[bytes]:
    if not encoding.transcoded:
        with path.open("rb") as handle:
            handle.seek(encoding.bom)
            yield from handle
        return
    with open(path, encoding=encoding.name, errors="replace", newline="\n") as handle:
        for line in handle:
            yield line.encode("utf-8", "surrogatepass")
