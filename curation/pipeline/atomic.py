"""Atomic file writes: readers (and a resumed run) never see a half-written file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson


@contextmanager
def atomic_writer(path: Path, mode: str = "wb"):  # -> Iterator[IO]
    """Write to a temp file beside `path`, fsync, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    with atomic_writer(path) as handle:
        handle.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def write_jsonl_atomic(path: Path, rows: Iterable[Any]) -> int:
    """Write rows as JSON Lines atomically; returns the number of rows written."""
    count = 0
    with atomic_writer(path) as handle:
        out: IO[bytes] = handle
        for row in rows:
            out.write(orjson.dumps(row))
            out.write(b"\n")
            count += 1
    return count


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def clean_temp_files(directory: Path) -> None:
    """Remove temp files a killed writer left behind."""
    for tmp in directory.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
