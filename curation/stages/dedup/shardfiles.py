"""The signature phase's per-shard files: what the clustering phase reads, in a layout that lets
it read only what it needs (a band column, a block of signatures) with positioned or ranged reads,
locally or on object storage.

`keys-NNNNN.bin` (little-endian, no header; sizes from the meta file):

    exact   uint64 x rows      normalized-text hash (0 = empty after normalization)
    salt    uint64 x rows      hash of the record's source (per-source dedup)
    length  int32  x rows      raw characters over the configured fields
    votes   float64 x rows     NaN when the record has no vote signal
    bands   uint64 x bands x rows   band-major: band j of every row is one contiguous block
    sigs    uint32 x rows x num_perm   only when `verify` is on

`meta-NNNNN.json` (written last: the shard's scan is complete iff it exists): rows, ids, sources
(run-length), and the key of the inputs and settings it was computed from.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Any

import numpy as np

from curation.pipeline.atomic import atomic_writer
from curation.pipeline.storage import AnyPath, read_range

COMPACT_BYTES = 8 + 8 + 4 + 8  # exact, salt, length, votes per row


@dataclass(frozen=True)
class Layout:
    rows: int
    bands: int
    num_perm: int
    verify: bool

    @property
    def bands_at(self) -> int:
        return COMPACT_BYTES * self.rows

    @property
    def sigs_at(self) -> int:
        return self.bands_at + 8 * self.bands * self.rows

    @property
    def size(self) -> int:
        return self.sigs_at + (4 * self.num_perm * self.rows if self.verify else 0)


def write_keys(path: AnyPath, exact: np.ndarray, salt: np.ndarray, lengths: np.ndarray, votes: np.ndarray,
               band_keys: np.ndarray | None, signatures: np.ndarray | None) -> None:
    with atomic_writer(path) as handle:
        handle.write(np.ascontiguousarray(exact, dtype="<u8").tobytes())
        handle.write(np.ascontiguousarray(salt, dtype="<u8").tobytes())
        handle.write(np.ascontiguousarray(lengths, dtype="<i4").tobytes())
        handle.write(np.ascontiguousarray(votes, dtype="<f8").tobytes())
        if band_keys is not None:
            handle.write(np.ascontiguousarray(band_keys.T, dtype="<u8").tobytes())
        if signatures is not None:
            handle.write(np.ascontiguousarray(signatures, dtype="<u4").tobytes())


def read_compact(path: AnyPath, layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(exact, salt, lengths, votes) of one shard."""
    n = layout.rows
    data = read_range(path, 0, layout.bands_at)
    exact = np.frombuffer(data, dtype="<u8", count=n, offset=0).astype(np.uint64)
    salt = np.frombuffer(data, dtype="<u8", count=n, offset=8 * n).astype(np.uint64)
    lengths = np.frombuffer(data, dtype="<i4", count=n, offset=16 * n).astype(np.int32)
    votes = np.frombuffer(data, dtype="<f8", count=n, offset=20 * n).astype(np.float64)
    return exact, salt, lengths, votes


def read_bands(path: AnyPath, layout: Layout) -> np.ndarray:
    """(bands, rows): every band column of one shard."""
    data = read_range(path, layout.bands_at, layout.sigs_at)
    return np.frombuffer(data, dtype="<u8").astype(np.uint64).reshape(layout.bands, layout.rows)


def read_signatures(path: AnyPath, layout: Layout) -> np.ndarray:
    data = read_range(path, layout.sigs_at, layout.size)
    return np.frombuffer(data, dtype="<u4").astype(np.uint32).reshape(layout.rows, layout.num_perm)


def encode_runs(values: list[str]) -> list[list[Any]]:
    """['a', 'a', 'b'] -> [['a', 2], ['b', 1]] (sources repeat in long runs)."""
    return [[value, sum(1 for _ in run)] for value, run in groupby(values)]


def decode_runs(runs: list[list[Any]]) -> list[str]:
    return [value for value, count in runs for _ in range(count)]
