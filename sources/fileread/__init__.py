"""The one reading layer every file source uses: JSON, JSON Lines, Parquet and CSV.

Each reader yields, in file order, an `Item` (location, parsed value, the bytes it came from,
the file's encoding) or a located `InvalidItem` (`file:line`, `file#index` or `file@byte`) with a
reason, and goes on after it: a bad item costs that item, a bad file one reject naming it. Inputs
stream (memory is one item plus a read buffer), and the encoding is decided once per file (see
`encoding`). Parsers map items to records; they never open files themselves.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from pathlib import Path

from schemas import InvalidItem
from sources.fileread.csv_rows import iter_csv_file
from sources.fileread.encoding import Encoding, detect_bytes_encoding, detect_file_encoding
from sources.fileread.item import MAX_ITEM_DEPTH, Item, depth_of, raw_text, reject
from sources.fileread.json_items import iter_json_file, iter_jsonl_file, looks_like_json_lines
from sources.fileread.line_ranges import LineRange, iter_jsonl_range, split_lines
from sources.fileread.parquet_rows import iter_parquet_file

__all__ = [
    "MAX_ITEM_DEPTH", "Encoding", "Item", "LineRange", "depth_of", "detect_bytes_encoding", "detect_file_encoding",
    "iter_csv", "iter_items", "iter_json", "iter_jsonl", "iter_parquet", "raw_text", "reject", "split_json_lines",
]

SUFFIXES = (".json", ".jsonl", ".ndjson", ".parquet", ".csv")


def _guarded(path: Path, source: str | None,
             read: Callable[[Path, str | None, Encoding], Iterator[Item | InvalidItem]]) -> Iterator[Item | InvalidItem]:
    """Run a text reader; a file that cannot be opened or read becomes one located reject."""
    try:
        encoding = detect_file_encoding(path)
    except OSError as exc:
        yield reject(str(path), "unreadable", f"cannot read the file: {exc.strerror or exc}", source)
        return
    try:
        yield from read(path, source, encoding)
    except OSError as exc:
        yield reject(str(path), "read_error", f"reading stopped: {exc.strerror or exc}", source)
    except UnicodeDecodeError as exc:  # the file changed under us after its encoding was decided
        yield reject(str(path), "encoding", f"reading stopped: {exc}", source)


def iter_json(path: Path, source: str | None = None) -> Iterator[Item | InvalidItem]:
    """Items of a .json file: an array, an object holding lists, or JSON Lines."""
    return _guarded(Path(path), source, iter_json_file)


def iter_jsonl(path: Path, source: str | None = None) -> Iterator[Item | InvalidItem]:
    """Items of a JSON Lines file, one per non-blank line."""
    return _guarded(Path(path), source, iter_jsonl_file)


def iter_csv(path: Path, source: str | None = None) -> Iterator[Item | InvalidItem]:
    """Rows of a CSV file (value: list of cells), blank rows included."""
    return _guarded(Path(path), source, iter_csv_file)


def iter_parquet(path: Path, source: str | None = None) -> Iterator[Item | InvalidItem]:
    """Rows of a Parquet file as JSON-safe dicts."""
    path = Path(path)
    try:
        if not path.is_file():
            raise IsADirectoryError(21, "is a directory" if path.is_dir() else "not a regular file")
        yield from iter_parquet_file(path, source)
    except OSError as exc:
        yield reject(str(path), "unreadable", f"cannot read the file: {exc.strerror or exc}", source)


def split_json_lines(path: Path, lines_per_range: int) -> list[LineRange] | None:
    """A large JSON Lines file (.jsonl/.ndjson, or .json holding JSON Lines) as line ranges that
    `iter_items` reads one by one (see `line_ranges`), or None to read it whole (other formats,
    small files, files that are not plain UTF-8 or cannot be read)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix not in (".json", ".jsonl", ".ndjson"):
            return None
        if suffix == ".json":  # JSON Lines named .json? (an array or object is streamed whole)
            with path.open("rb") as handle:
                bom = handle.read(3) == codecs.BOM_UTF8
            # structure only: split_lines reads nothing but UTF-8, where these bytes are the file's
            if not looks_like_json_lines(path, Encoding("utf-8-sig", bom=3) if bom else Encoding("utf-8")):
                return None
        return split_lines(path, lines_per_range)
    except OSError:
        return None  # read whole: the reader names the problem as a located reject


def iter_items(path: Path | LineRange, source: str | None = None) -> Iterator[Item | InvalidItem]:
    """Items of a .json, .jsonl/.ndjson or .parquet file, chosen by suffix; other suffixes → a reject.
    A `LineRange` (from `split_json_lines`) yields that part of its file's items."""
    if isinstance(path, LineRange):
        return iter_jsonl_range(path, source)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return iter_parquet(path, source)
    if suffix in (".jsonl", ".ndjson"):
        return iter_jsonl(path, source)
    if suffix == ".json":
        return iter_json(path, source)
    return iter([reject(str(path), "unsupported_file", f"unsupported file type {suffix!r} "
                        "(use .json, .jsonl or .parquet)", source)])
