"""A large JSON Lines file as line ranges, so several workers can read one file.

Why: one file is otherwise one task, read by one process. A range starts at a line start and
knows the number of its first line and how many items (non-blank lines) come before it, so its
items get the same `file:line` locations and indexes as a read of the whole file, and the ranges'
items, concatenated in order, are the file's items.

Planning is one streaming pass: newlines are counted with `bytes.count`, blank lines with one
regex, and UTF-8 validity is checked on the way, so the file's encoding is decided once (the
decision `detect_file_encoding` makes) and handed to every range. A file that is not plain UTF-8
(UTF-16/32, GB18030) or holds no item is not split: it is read whole, as before.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from schemas import InvalidItem
from sources.fileread.encoding import CHUNK, Encoding, detect_file_encoding
from sources.fileread.item import Item, reject

# A newline followed by a blank line (only what bytes.strip() removes, then a newline).
_BEFORE_BLANK = re.compile(rb"\n(?=[ \t\r\x0b\x0c]*\n)")
_DECODE_PIECE = 1 << 14  # small str objects decode faster than 1 MB ones (cache)
_UTF8_BOM = codecs.BOM_UTF8


@dataclass(frozen=True, slots=True)
class LineRange:
    """Lines [start, end) (byte offsets) of a JSON Lines file, read as `encoding`."""

    path: Path
    start: int  # offset of the range's first line
    end: int  # offset just past its last line (its newline), or the file's end
    first_line: int  # 1-based number of its first line
    first_index: int  # items (non-blank lines) before it in the file
    encoding: Encoding


def split_lines(path: Path, lines_per_range: int, max_ranges: int = 512) -> list[LineRange] | None:
    """The file as ranges of `lines_per_range` lines (a multiple of it when more than `max_ranges`
    would be needed), or None when it should be read whole: one range's worth of lines or fewer, not
    plain UTF-8, or no item at all. Raises OSError when the file cannot be read."""
    path = Path(path)
    with path.open("rb") as handle:
        head = handle.read(4)
        if any(head.startswith(b) for b in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)):
            return None  # UTF-16/32 (the UTF-32 LE BOM starts with UTF-16 LE's): transcoded, read whole
        bom = len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0
        handle.seek(bom)
        starts, content, valid = _scan(handle, bom, max(1, lines_per_range))
    if not content or len(starts) <= 1:
        return None
    if bom:
        encoding = Encoding("utf-8-sig", bom=bom)
    elif valid:
        encoding = Encoding("utf-8")
    else:
        encoding = detect_file_encoding(path)  # invalid bytes: UTF-8 with damage, or GB18030?
        if encoding.transcoded:
            return None
    step = -(-len(starts) // max_ranges)  # ceil: at most max_ranges ranges
    starts = starts[::step]
    return [LineRange(path, offset, starts[k + 1][0] if k + 1 < len(starts) else -1, before + 1, before - blank,
                      encoding)
            for k, (offset, before, blank) in enumerate(starts)]


def _scan(handle: BinaryIO, bom: int, lines_per_range: int) -> tuple[list[tuple[int, int, int]], bool, bool]:
    """(range starts as (offset, lines before, blank lines before), any non-blank byte, valid UTF-8),
    from one pass over the file. Blocks are searched in place (a line that spans blocks is the only
    thing joined)."""
    starts = [(bom, 0, 0)]
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    valid, content = True, False
    lines = blanks = 0  # whole lines (and blank ones) before the current block's first full line
    pending: list[bytes] = []  # the start of a line not ended yet
    pos = bom  # file offset of the next block
    next_cut = lines_per_range
    while block := handle.read(CHUNK):
        base, pos = pos, pos + len(block)
        if valid:
            view = memoryview(block)
            try:
                for at in range(0, len(block), _DECODE_PIECE):
                    decoder.decode(view[at:at + _DECODE_PIECE])
            except UnicodeDecodeError:
                valid = False
        if not content and block.strip():
            content = True
        newline = block.find(b"\n")
        if newline == -1:
            pending.append(block)
            continue
        body = 0  # the block's first line start
        if pending:  # the line begun in earlier blocks ends here
            line = b"".join([*pending, block[:newline]])
            pending, body = [], newline + 1
            lines, blanks = lines + 1, blanks + (not line.strip())
            if lines == next_cut:
                starts.append((base + body, lines, blanks))
                next_cut += lines_per_range
        last = block.rfind(b"\n") + 1  # whole lines: block[body:last]
        whole = lines + block.count(b"\n", body, last)
        while whole >= next_cut:  # a range starts after line `next_cut`
            cut = _after_newline(block, body, next_cut - lines)
            lines, blanks, body = next_cut, blanks + _blank_lines(block, body, cut), cut
            starts.append((base + cut, lines, blanks))
            next_cut += lines_per_range
        lines, blanks = whole, blanks + _blank_lines(block, body, last)
        if last < len(block):
            pending.append(block[last:])
    if valid:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            valid = False
    if starts[-1][0] == pos and not pending:  # the file ends right at a cut: no empty last range
        starts.pop()
    return starts, content, valid


def _after_newline(buf: bytes, start: int, n: int) -> int:
    """Offset just past the n-th newline of buf at or after `start` (n >= 1)."""
    at = start - 1
    for _ in range(n):
        at = buf.index(b"\n", at + 1)
    return at + 1


def _blank_lines(buf: bytes, start: int, end: int) -> int:
    """Blank lines among the whole lines buf[start:end] (start is a line start)."""
    if start >= end:
        return 0
    found = len(_BEFORE_BLANK.findall(buf, start, end))
    first_end = buf.find(b"\n", start, end)
    if first_end != -1 and not buf[start:first_end].strip():
        found += 1  # the first line is blank: no newline before it in the slice
    return found


def iter_jsonl_range(line_range: LineRange, source: str | None) -> Iterator[Item | InvalidItem]:
    """Items of one range of a JSON Lines file, located and numbered as in a whole-file read."""
    from sources.fileread.json_items import parse_item

    path, encoding = line_range.path, line_range.encoding
    index = line_range.first_index
    try:
        with path.open("rb") as handle:
            handle.seek(line_range.start)
            remaining = line_range.end - line_range.start if line_range.end >= 0 else -1
            for line_no, line in enumerate(handle, start=line_range.first_line):
                if remaining >= 0:
                    if remaining <= 0:
                        break
                    remaining -= len(line)
                if line.isspace():  # blank (a line read from the file is never empty)
                    continue
                yield parse_item(line, f"{path}:{line_no}", index, f"line {line_no}", source, encoding)
                index += 1
    except OSError as exc:
        yield reject(str(path), "read_error", f"reading stopped: {exc.strerror or exc}", source)
