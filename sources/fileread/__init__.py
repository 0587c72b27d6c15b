"""The one reading layer every file source uses: JSON, JSON Lines, Parquet and CSV.

Each reader yields, in file order, an `Item` (location, parsed value, the bytes it came from,
the file's encoding) or a located `InvalidItem` (`file:line`, `file#index` or `file@byte`) with a
reason, and goes on after it: a bad item costs that item, a bad file one reject naming it. Inputs
stream (memory is one item plus a read buffer), and the encoding is decided once per file (see
`encoding`). Parsers map items to records; they never open files themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from schemas import InvalidItem
from sources.fileread.csv_rows import iter_csv_file
from sources.fileread.encoding import Encoding, detect_bytes_encoding, detect_file_encoding
from sources.fileread.item import MAX_ITEM_DEPTH, Item, depth_of, raw_text, reject
from sources.fileread.json_items import iter_json_file, iter_jsonl_file
from sources.fileread.parquet_rows import iter_parquet_file

__all__ = [
    "MAX_ITEM_DEPTH", "Encoding", "Item", "depth_of", "detect_bytes_encoding", "detect_file_encoding",
    "iter_csv", "iter_items", "iter_json", "iter_jsonl", "iter_parquet", "raw_text", "reject",
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


def iter_items(path: Path, source: str | None = None) -> Iterator[Item | InvalidItem]:
    """Items of a .json, .jsonl/.ndjson or .parquet file, chosen by suffix; other suffixes → a reject."""
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
