"""Rows of a CSV file, streamed, each located at the line it starts on (`file:line`).

The csv module's default cell limit (128 KB) ended reading at the first long cell; the limit is
raised to MAX_CELL (a cell longer still becomes a reject) and reading goes on after any row the
csv module refuses. Cells holding invalid UTF-8 bytes make their row a reject naming the line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from schemas import InvalidItem
from sources.fileread.encoding import Encoding
from sources.fileread.item import Item, reject

MAX_CELL = 64 << 20


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def _bad_byte(row: list[str]) -> str | None:
    for column, cell in enumerate(row):
        if (match := _ESCAPED_BYTE.search(cell)) is not None:
            byte = ord(match.group()) - 0xDC00
            return f"invalid UTF-8 byte 0x{byte:02X} in cell {column + 1} at offset {match.start()}"
    return None


def iter_csv_file(path: Path, source: str | None, encoding: Encoding) -> Iterator[Item | InvalidItem]:
    """Every row (blank ones included) as Item(value=list of cells); bad rows → located rejects."""
    if csv.field_size_limit() < MAX_CELL:
        csv.field_size_limit(MAX_CELL)  # process-wide, and only ever raised
    codec = "utf-8" if encoding.name == "utf-8-sig" else encoding.name
    errors = "surrogateescape" if encoding.bad_utf8 else "replace"
    with path.open("r", encoding=codec, errors=errors, newline="") as handle:
        handle.seek(0)
        if encoding.bom:
            handle.read(1)  # the BOM character
        reader = csv.reader(handle)
        index = 0
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield reject(f"{path}:{start}", "csv", str(exc), source)
                continue
            location = f"{path}:{start}"
            if encoding.bad_utf8 and (problem := _bad_byte(row)) is not None:
                yield reject(location, "encoding", problem, source,
                             ",".join(row).encode("utf-8", "surrogateescape"))
                continue
            yield Item(location=location, index=index, value=row, raw=",".join(row).encode("utf-8"),
                       encoding=encoding.name)
            index += 1
