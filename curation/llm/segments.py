"""A response cache that tasks on other machines can write: immutable segments in the run directory.

Why: the driver's cache is one append-only file (llm/cache.py), which many processes on many
machines cannot share, and object storage cannot append at all. A task on a worker keeps the
answers it receives in memory and writes them, every few rows and at each of its checkpoints,
as a new segment `<cache_dir>/<task>/<writer>-<seq>.jsonl`, atomically (rename locally, one PUT
on s3://). Segments are never rewritten, so there is no lock and no torn line: a segment is
whole or absent.

Reading: a task loads the segments of its own task index (a killed or failed task resumes
without re-sending what it had stored) and, read-only, the driver's append-only cache file when
that file is visible from the worker (a local run directory on a shared disk or the same
machine). Answers received after the last segment are lost with a killed process and asked
again — the same bound as the append-only file's torn last line, widened to `flush_rows` rows
or `flush_s` seconds. The driver reads all segments (`read_segments`) into its own cache, so a
later local run does not re-send what workers stored.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from curation.pipeline.atomic import clean_temp_files, write_jsonl_atomic
from curation.pipeline.storage import AnyPath, is_remote, list_names


def _rows(data: bytes) -> Iterator[dict[str, Any]]:
    for line in data.splitlines():
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # a torn last line of the driver's append-only file (segments have none)
        if isinstance(row, dict) and "key" in row:
            yield row


def read_append_only(path: str | Path | None) -> dict[str, dict[str, Any]]:
    """Rows of a driver cache file, read-only (its owner truncates torn tails, not us); {} when
    the file is not visible here."""
    if not path or not Path(path).is_file():
        return {}
    return {row["key"]: row for row in _rows(Path(path).read_bytes())}


def task_dir(cache_dir: AnyPath, task: int) -> AnyPath:
    return cache_dir / f"{task:05d}"


def read_segments(cache_dir: AnyPath, task: int | None = None) -> Iterator[dict[str, Any]]:
    """Rows of the segments of one task, or of every task (`task=None`)."""
    if task is None:
        names = sorted(n for n in list_names(cache_dir) if n.isdigit())
        for name in names:
            yield from read_segments(cache_dir, int(name))
        return
    folder = task_dir(cache_dir, task)
    for name in sorted(list_names(folder)):
        if name.endswith(".jsonl") and not name.startswith("."):
            yield from _rows((folder / name).read_bytes())


class SegmentCache:
    """The cache of one task on a worker: `get`/`append` like ResponseCache, `flush` writes a segment."""

    def __init__(self, cache_dir: AnyPath, task: int, *, base: dict[str, dict[str, Any]] | None = None,
                 flush_rows: int = 32, flush_s: float = 2.0) -> None:
        self.dir = task_dir(cache_dir, task)
        if not is_remote(self.dir):
            Path(self.dir).mkdir(parents=True, exist_ok=True)
            clean_temp_files(self.dir)  # left by a writer killed mid-segment
        self.base = base or {}  # read-only rows (the driver's file), shared by the tasks of a process
        self.rows: dict[str, dict[str, Any]] = {row["key"]: row for row in read_segments(cache_dir, task)}
        self.loaded = len(self.rows)
        self.flush_rows, self.flush_s = flush_rows, flush_s
        self._writer = uuid.uuid4().hex[:12]
        self._seq = 0
        self._pending: list[dict[str, Any]] = []
        self._since = 0.0
        self._lock = threading.Lock()
        self.segments_written = 0

    def get(self, key: str) -> dict[str, Any] | None:
        return self.rows.get(key) or self.base.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self.rows or key in self.base

    def __len__(self) -> int:
        return len(self.rows.keys() | self.base.keys())

    def append(self, row: dict[str, Any]) -> None:
        with self._lock:
            self.rows[row["key"]] = row
            if not self._pending:
                self._since = time.monotonic()
            self._pending.append(row)
            due = len(self._pending) >= self.flush_rows or time.monotonic() - self._since >= self.flush_s
        if due:
            self.flush()

    def flush(self) -> None:
        """Write the answers received since the last segment as a new segment (nothing if none)."""
        with self._lock:
            rows, self._pending = self._pending, []
            if not rows:
                return
            self._seq += 1
            name = f"{self._writer}-{self._seq:06d}.jsonl"
            write_jsonl_atomic(self.dir / name, rows)
            self.segments_written += 1

    def close(self) -> None:
        self.flush()
