"""Atomic file writes: readers (and a resumed run) never see a half-written file.

Locally: write a temp file beside the target, fsync, rename over it. On object storage (no
rename): write a local temp file, then upload it in one PUT; an object becomes visible only
when its upload completes, so a reader sees the old object, the whole new one, or nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

from curation.pipeline.storage import AnyPath, is_remote, list_names, upload_file


@contextmanager
def atomic_writer(path: AnyPath, mode: str = "wb"):  # -> Iterator[IO]
    """Write to a temp file, then make it appear at `path` whole (rename, or one upload)."""
    if is_remote(path):
        fd, tmp = tempfile.mkstemp(prefix=".cqia-upload.", suffix=".tmp")
        try:
            with os.fdopen(fd, mode) as handle:
                yield handle
            upload_file(Path(tmp), path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return
    path = Path(path)
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


def write_json_atomic(path: AnyPath, data: Any) -> None:
    with atomic_writer(path) as handle:
        handle.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def write_jsonl_atomic(path: AnyPath, rows: Iterable[Any]) -> int:
    """Write rows as JSON Lines atomically; returns the number of rows written."""
    count = 0
    with atomic_writer(path) as handle:
        out: IO[bytes] = handle
        for row in rows:
            out.write(orjson.dumps(row))
            out.write(b"\n")
            count += 1
    return count


def read_json(path: AnyPath) -> Any:
    return orjson.loads(path.read_bytes())


def clean_temp_files(directory: AnyPath) -> None:
    """Remove temp files a killed writer left behind (local only: remote writes leave none)."""
    if is_remote(directory):
        return
    for name in list_names(directory):
        if name.startswith(".") and name.endswith(".tmp"):
            (Path(directory) / name).unlink(missing_ok=True)
