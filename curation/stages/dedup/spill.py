"""Per-record dedup arrays kept on disk, so the main process stays small at millions of records.

Why: MinHash signatures (num_perm x 4 bytes, 1 KB per record by default) and LSH band keys
(bands x 8 bytes) are the bulk of dedup's state, ~1.2 KB per record, and the clustering pass
needs them only band by band (candidate pairs) and for the few rows that are candidates
(verification). Written to scratch files, they are read back one band column, or one bounded
chunk of rows, at a time. Without a directory the same interface holds the arrays in memory
(small inputs, tests).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


class ColumnStore:
    """A (width, n) matrix filled by blocks of rows and read back one column (band) at a time."""

    def __init__(self, n: int, width: int, dtype: np.dtype | type, path: Path | None = None) -> None:
        self.n, self.width, self.dtype = n, width, np.dtype(dtype)
        self.path = path
        if path is None:
            self._ram: np.ndarray | None = np.zeros((width, n), dtype=self.dtype)
            self._fd = -1
        else:
            self._ram = None
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            os.ftruncate(self._fd, n * width * self.dtype.itemsize)

    def put(self, start: int, block: np.ndarray) -> None:
        """Store rows `start .. start + len(block)` (block shape: rows x width)."""
        if self._ram is not None:
            self._ram[:, start : start + len(block)] = block.T
            return
        size = self.dtype.itemsize
        for j in range(self.width):
            data = np.ascontiguousarray(block[:, j], dtype=self.dtype).tobytes()
            os.pwrite(self._fd, data, (j * self.n + start) * size)

    def column(self, j: int) -> np.ndarray:
        if self._ram is not None:
            return self._ram[j]
        assert self.path is not None
        return np.fromfile(self.path, dtype=self.dtype, count=self.n, offset=j * self.n * self.dtype.itemsize)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._ram = None


class RowStore:
    """An (n, width) matrix filled by blocks of rows and read back by row index in bounded chunks."""

    def __init__(self, n: int, width: int, dtype: np.dtype | type, path: Path | None = None) -> None:
        self.n, self.width, self.dtype = n, width, np.dtype(dtype)
        self.path = path
        if path is None:
            self._ram: np.ndarray | None = np.zeros((n, width), dtype=self.dtype)
            self._fd = -1
        else:
            self._ram = None
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            os.ftruncate(self._fd, n * width * self.dtype.itemsize)

    def put(self, start: int, block: np.ndarray) -> None:
        if self._ram is not None:
            self._ram[start : start + len(block)] = block
            return
        data = np.ascontiguousarray(block, dtype=self.dtype).tobytes()
        os.pwrite(self._fd, data, start * self.width * self.dtype.itemsize)

    def take(self, rows: np.ndarray) -> np.ndarray:
        """Rows by index (any order, repeats allowed), read with one positioned read per row.

        Not a memory map: a mapped file's pages count as the process's memory, and the kernel
        maps neighbouring pages on every fault, so random rows of a mapping soon hold the whole file.
        """
        if self._ram is not None:
            return self._ram[rows]
        row_bytes = self.width * self.dtype.itemsize
        buffer = bytearray(len(rows) * row_bytes)
        view = memoryview(buffer)
        for k, row in enumerate(np.asarray(rows, dtype=np.int64).tolist()):
            target = view[k * row_bytes : (k + 1) * row_bytes]
            if os.preadv(self._fd, [target], row * row_bytes) != row_bytes:
                raise OSError(f"{self.path}: short read at row {row}")
        return np.frombuffer(buffer, dtype=self.dtype).reshape(len(rows), self.width)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._ram = None
