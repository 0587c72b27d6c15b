"""A large JSON Lines file as line ranges, so several workers can read one file.

Why: one file is otherwise one task, read by one process. A range starts at a line start and
knows the number of its first line and how many items (non-blank lines) come before it, so its
items get the same `file:line` locations and indexes as a read of the whole file, and the ranges'
items, concatenated in order, are the file's items.

Planning is one streaming pass: newlines are found with numpy, blank lines among the few lines
that start with whitespace, and UTF-8 validity is checked on the way, so the file's encoding is
decided once (the decision `detect_file_encoding` makes) and handed to every range. A file that is not plain UTF-8
(UTF-16/32, GB18030) or holds no item is not split: it is read whole, as before.
"""

from __future__ import annotations

import codecs
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from schemas import InvalidItem
from sources.fileread.encoding import CHUNK, Encoding, detect_file_encoding
from sources.fileread.item import Item, reject

_NEWLINE = ord("\n")
_WHITESPACE = b" \t\n\r\x0b\x0c"  # the bytes bytes.strip() removes
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
    if path.stat().st_size <= lines_per_range:
        return None  # cannot hold more lines than that (the scan would be wasted)
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
    from one pass over the file. Newlines are found with numpy (one vectorised compare per block);
    only lines that start with a whitespace byte are looked at to tell whether they are blank."""
    import numpy as np  # here: only a split plan needs it, not every reader

    whitespace: Any = np.zeros(256, dtype=bool)
    whitespace[list(_WHITESPACE)] = True
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
        data = np.frombuffer(block, np.uint8)
        newlines = np.flatnonzero(data == _NEWLINE)
        if not len(newlines):
            pending.append(block)
            continue
        body = 0  # the start of the block's first line
        if pending:  # the line begun in earlier blocks ends at the first newline
            first = int(newlines[0])
            line = b"".join([*pending, block[:first]])
            pending, newlines, body = [], newlines[1:], first + 1
            lines, blanks = lines + 1, blanks + (not line.strip())
            if lines == next_cut:
                starts.append((base + body, lines, blanks))
                next_cut += lines_per_range
        last = body
        if len(newlines):  # whole lines: line i runs from line_starts[i] to newlines[i]
            line_starts = np.concatenate((np.array([body]), newlines[:-1] + 1))
            maybe_blank = np.flatnonzero(whitespace[data[line_starts]]).tolist()
            blank = [i for i in maybe_blank
                     if line_starts[i] == newlines[i] or block[line_starts[i]:newlines[i]].isspace()]
            whole = lines + len(newlines)
            while whole >= next_cut:  # a range starts after line `next_cut`
                index = next_cut - lines - 1
                starts.append((base + int(newlines[index]) + 1, next_cut, blanks + bisect_right(blank, index)))
                next_cut += lines_per_range
            lines, blanks, last = whole, blanks + len(blank), int(newlines[-1]) + 1
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


def iter_jsonl_range(line_range: LineRange, source: str | None) -> Iterator[Item | InvalidItem]:
    """Items of one range of a JSON Lines file, located and numbered as in a whole-file read."""
    from sources.fileread.json_items import parse_item

    path, encoding = line_range.path, line_range.encoding
    index = line_range.first_index
    try:
        handle = path.open("rb")
    except OSError as exc:  # gone since the plan: as a whole-file read says it
        yield reject(str(path), "unreadable", f"cannot read the file: {exc.strerror or exc}", source)
        return
    try:
        with handle:
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
