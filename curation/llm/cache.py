"""Append-only JSONL response cache keyed by request key.

Why append-only: a run killed with kill -9 loses at most the line being written. On open, a torn
last line (no trailing newline / invalid JSON) is cut off, so the next append starts clean and the
request it belonged to is simply sent again. Each line is written with one `write` on an O_APPEND
descriptor, so it reaches the kernel whole even if the process dies right after.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)


class ResponseCache:
    """Map key -> stored row; rows are appended, never rewritten (the last row for a key wins)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.rows: dict[str, dict[str, Any]] = {}
        self.torn_bytes = 0
        self.bad_lines: list[int] = []
        self._lock = threading.Lock()
        self._load()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _load(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        good_end = 0
        pos = 0
        lineno = 0
        while pos < len(data):
            nl = data.find(b"\n", pos)
            lineno += 1
            if nl == -1:  # torn tail: written without its newline
                try:
                    row = orjson.loads(data[pos:])
                    self.rows[row["key"]] = row
                    good_end = len(data)
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    pass
                break
            line = data[pos:nl]
            pos = nl + 1
            if line.strip():
                try:
                    row = orjson.loads(line)
                    self.rows[row["key"]] = row
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    if pos >= len(data):  # torn last line that happens to end in a newline
                        break
                    self.bad_lines.append(lineno)
                    log.warning("%s:%d: unreadable cache line skipped", self.path, lineno)
            good_end = pos
        if good_end < len(data):
            self.torn_bytes = len(data) - good_end
            log.warning("%s: dropping torn last line (%d bytes) left by a killed run", self.path, self.torn_bytes)
            with open(self.path, "r+b") as handle:
                handle.truncate(good_end)
        elif data and not data.endswith(b"\n"):
            with open(self.path, "ab") as handle:
                handle.write(b"\n")

    def get(self, key: str) -> dict[str, Any] | None:
        return self.rows.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def append(self, row: dict[str, Any]) -> None:
        line = orjson.dumps(row) + b"\n"
        with self._lock:
            os.write(self._fd, line)
            self.rows[row["key"]] = row

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass
