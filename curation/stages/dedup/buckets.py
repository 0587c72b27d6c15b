"""Dedup's clustering phase with memory bounded by a bucket, not by the number of records.

The per-row arrays of the in-memory pass (`cluster.cluster_rows`: keys, decisions, a band column
and its sort, ~300 bytes per record at its peak) are replaced by a radix split on disk:

1. one pass over the shards' phase-1 files writes every usable row's exact key and its 25 band
   keys into K bucket files by key hash (local temporary files: appends, never object storage);
2. each exact bucket is grouped on its own (equal keys share a bucket), giving the few rows that
   are exact duplicates and their representatives;
3. each band bucket is grouped by (band, key) on its own, exact duplicates left out, giving the
   LSH candidate pairs (a star per group, as `lsh.pairs_from_columns`);
4. the candidate rows' signatures are copied to a local file and read back pair by pair for the
   verification; components over the verified pairs only (their rows, not all rows).

What stays in memory grows with the duplicates (pairs, cluster members), not with the records.
The result is the same as `cluster_rows` on the same rows (same groups, same keep policy with the
same tie-break by row order, same star edges): `tests/curation/stages/dedup/test_stage.py`
compares every row with the single in-memory pass, with many buckets.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from curation.stages.dedup.cluster import EXACT, NEAR
from curation.stages.dedup.config import DedupConfig
from curation.stages.dedup.keep import choose_kept
from curation.stages.dedup.lsh import components, signature_similarity

ENTRIES_PER_BUCKET = 1 << 19  # ~9 MB of band entries per bucket; its sort needs a few times that
EXACT_SHARE = 4  # exact buckets hold a quarter of that: grouping and the keep policy take ~120 bytes an entry
MAX_BUCKETS = 1024  # open files; past 1024 x 2^19 entries (~20M records) the buckets grow instead

_EXACT = np.dtype([("key", "<u8"), ("row", "<i8"), ("votes", "<f8"), ("length", "<i4")])
_BAND = np.dtype([("key", "<u8"), ("row", "<i8"), ("band", "<u2")])


@dataclass(frozen=True)
class ShardKeys:
    """How to read one shard's phase-1 columns (global row = `start` + local row)."""

    start: int
    rows: int
    compact: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]  # exact, salt, lengths, votes
    bands: Callable[[], np.ndarray]  # (bands, rows) uint64
    signatures: Callable[[], np.ndarray]  # (rows, num_perm) uint32


@dataclass
class SparseClusters:
    """Decisions of the rows in a cluster of two or more (sorted global rows); every other row is
    kept alone. `kept` holds global rows."""

    rows: np.ndarray
    kept: np.ndarray
    reason: np.ndarray
    similarity: np.ndarray
    cluster_size: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def bucket_count(entries: int, per_bucket: int) -> int:
    return max(1, min(MAX_BUCKETS, math.ceil(entries / per_bucket)))


class _Buckets:
    """K append-only files of fixed-size entries; an entry goes to bucket key % K."""

    def __init__(self, folder: Path, count: int, dtype: np.dtype, stack: ExitStack) -> None:
        self.paths = [folder / f"{i:04d}.bin" for i in range(count)]
        self.dtype = dtype
        self.files: list[BinaryIO] = [stack.enter_context(open(p, "wb", buffering=0)) for p in self.paths]

    def add(self, entries: np.ndarray) -> None:
        which = entries["key"] % np.uint64(len(self.files))
        if len(self.files) <= 1 << 16:  # 16-bit values: numpy's stable sort is a radix sort
            which = which.astype(np.uint16)
        order = np.argsort(which, kind="stable")  # stable: rows stay ascending inside a bucket
        bounds = np.searchsorted(which[order], np.arange(len(self.files) + 1))
        for i, handle in enumerate(self.files):
            if bounds[i] < bounds[i + 1]:
                handle.write(entries[order[bounds[i] : bounds[i + 1]]].tobytes())

    def read(self, i: int) -> np.ndarray:
        return np.fromfile(self.paths[i], dtype=self.dtype)


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """`np.isin(values, sorted_set)` for a sorted `sorted_set`, without sorting `values`."""
    if not len(sorted_set):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def _repeated(keys: np.ndarray) -> np.ndarray:
    """Positions (ascending) of the entries whose key occurs twice or more, from one plain sort."""
    by_key = np.argsort(keys)
    sorted_keys = keys[by_key]
    repeat = sorted_keys[1:] == sorted_keys[:-1]
    in_run = np.zeros(len(keys), dtype=bool)
    in_run[1:] |= repeat
    in_run[:-1] |= repeat
    return np.sort(by_key[in_run])


def _exact_duplicates(bucket: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, their representative) of the exact duplicates in one bucket (rows ascending)."""
    bucket = bucket[_repeated(np.ascontiguousarray(bucket["key"]))]  # a unique key is its own group
    if not len(bucket):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    _, groups = np.unique(bucket["key"], return_inverse=True)
    rep = bucket["row"][choose_kept(groups, bucket["votes"], bucket["length"])]
    dup = rep != bucket["row"]
    return bucket["row"][dup], rep[dup]


def _band_pairs(bucket: np.ndarray) -> np.ndarray:
    """Star edges (smallest row, other row) of every (band, key) group of two or more."""
    # Only entries whose key occurs twice or more can be in such a group: pick them out with one
    # plain (unstable, fast) sort of the keys, few are left, then group those as before.
    bucket = bucket[_repeated(np.ascontiguousarray(bucket["key"]))]  # still in bucket order
    if not len(bucket):
        return np.empty((0, 2), dtype=np.int64)
    order = np.lexsort((bucket["key"], bucket["band"]))  # stable: the smallest row first
    keys, bands = bucket["key"][order], bucket["band"][order]
    same = np.concatenate(([False], (keys[1:] == keys[:-1]) & (bands[1:] == bands[:-1])))
    if not same.any():
        return np.empty((0, 2), dtype=np.int64)
    start = np.where(~same, np.arange(len(order)), 0)
    np.maximum.accumulate(start, out=start)
    members = np.flatnonzero(same)
    rows = bucket["row"]
    return np.stack([rows[order[start[members]]], rows[order[members]]], axis=1)


def _unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """Sorted unique rows of an (m, 2) array (as `np.unique(axis=0)`, cheaper below 2^32 rows)."""
    if len(pairs) and pairs.max() < 2**32:
        packed = np.unique((pairs[:, 0].astype(np.uint64) << np.uint64(32)) | pairs[:, 1].astype(np.uint64))
        return np.stack([(packed >> np.uint64(32)).astype(np.int64),
                         (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)], axis=1)
    return np.unique(pairs, axis=0) if len(pairs) else np.empty((0, 2), dtype=np.int64)


class _SignatureFile:
    """The signatures of the candidate rows (sorted), copied to one local file and read row by row."""

    def __init__(self, path: Path, shards: list[ShardKeys], rows: np.ndarray, num_perm: int) -> None:
        self.rows, self.width = rows, 4 * num_perm
        starts = np.array([s.start for s in shards], dtype=np.int64)
        shard_of = np.searchsorted(starts, rows, side="right") - 1
        with open(path, "wb") as out:
            for shard in np.unique(shard_of).tolist():
                block = shards[shard].signatures()
                out.write(np.ascontiguousarray(block[rows[shard_of == shard] - starts[shard]], dtype="<u4").tobytes())
                del block
        self.fd = os.open(path, os.O_RDONLY)

    def take(self, rows: np.ndarray) -> np.ndarray:
        at = np.searchsorted(self.rows, rows)
        raw = b"".join(os.pread(self.fd, self.width, int(p) * self.width) for p in at.tolist())
        return np.frombuffer(raw, dtype="<u4").reshape(len(rows), self.width // 4)

    def close(self) -> None:
        os.close(self.fd)


def gather(shards: list[ShardKeys], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(exact key, length, votes) of the given sorted global rows, one shard's compact block at a time."""
    exact = np.zeros(len(rows), dtype=np.uint64)
    lengths = np.zeros(len(rows), dtype=np.int32)
    votes = np.zeros(len(rows), dtype=np.float64)
    starts = np.array([s.start for s in shards], dtype=np.int64)
    shard_of = np.searchsorted(starts, rows, side="right") - 1
    for shard in np.unique(shard_of).tolist():
        pick = np.flatnonzero(shard_of == shard)
        e, _, ln, v = shards[shard].compact()
        local = rows[pick] - starts[shard]
        exact[pick], lengths[pick], votes[pick] = e[local], ln[local], v[local]
    return exact, lengths, votes


def cluster_buckets(config: DedupConfig, shards: list[ShardKeys],
                    per_bucket: int | None = None, tmp: Path | None = None) -> SparseClusters:
    """`cluster.cluster_rows` over per-shard files, through bucket files in `tmp` (a temporary
    folder by default), holding one shard or one bucket at a time plus the duplicates found.
    `per_bucket`: entries per bucket file (default `ENTRIES_PER_BUCKET`, read at call time)."""
    per_bucket = per_bucket or ENTRIES_PER_BUCKET
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cqia-dedup-", dir=tmp)))
        return _cluster(config, shards, per_bucket, folder, stack)


def _cluster(config: DedupConfig, shards: list[ShardKeys], per_bucket: int, folder: Path,
             stack: ExitStack) -> SparseClusters:
    cfg = config
    n = sum(s.rows for s in shards)
    bands = cfg.band_rows()[0] if cfg.near else 0
    info: dict[str, Any] = {"rows": n}
    (folder / "exact").mkdir()
    (folder / "band").mkdir()
    usable_count = 0
    with ExitStack() as writers:
        exact_b = (_Buckets(folder / "exact", bucket_count(n, max(1, per_bucket // EXACT_SHARE)), _EXACT, writers)
                   if cfg.exact else None)
        band_b = _Buckets(folder / "band", bucket_count(n * bands, per_bucket), _BAND, writers) if cfg.near else None
        for shard in shards:
            exact, salt, lengths, votes = shard.compact()
            usable = np.flatnonzero(exact != 0)  # empty after normalization: never a duplicate
            usable_count += len(usable)
            salt_u = None if cfg.across_sources else salt[usable]
            rows = usable.astype(np.int64) + shard.start
            if exact_b is not None:
                entries = np.empty(len(usable), dtype=_EXACT)
                entries["key"] = exact[usable] if salt_u is None else exact[usable] ^ salt_u
                entries["row"], entries["votes"], entries["length"] = rows, votes[usable], lengths[usable]
                exact_b.add(entries)
            if band_b is not None:
                keys = shard.bands()
                entries = np.empty((bands, len(usable)), dtype=_BAND)
                for j in range(bands):
                    entries[j]["key"] = keys[j, usable] if salt_u is None else keys[j, usable] ^ salt_u
                    entries[j]["row"], entries[j]["band"] = rows, j
                del keys
                band_b.add(entries.reshape(-1))
    info["empty_after_normalization"] = n - usable_count

    found = [_exact_duplicates(exact_b.read(i)) for i in range(len(exact_b.paths))] if exact_b else []
    dup_rows = np.concatenate([f[0] for f in found]) if found else np.empty(0, np.int64)
    dup_reps = np.concatenate([f[1] for f in found]) if found else np.empty(0, np.int64)
    del found
    order = np.argsort(dup_rows)
    dup_rows, dup_reps = dup_rows[order], dup_reps[order]

    nodes = np.empty(0, np.int64)  # rows joined by verified near-duplicate edges
    near_kept = np.empty(0, np.int64)
    near_sim = np.empty(0, np.float32)
    if band_b is not None and usable_count - len(dup_rows) > 1:
        pairs = np.empty((0, 2), dtype=np.int64)
        pending: list[np.ndarray] = []
        for i in range(len(band_b.paths)):
            bucket = band_b.read(i)
            bucket = bucket[~_member(bucket["row"], dup_rows)]  # exact duplicates: their representative stands
            pending.append(_band_pairs(bucket))
            del bucket
            if sum(len(p) for p in pending) > max(len(pairs), 1 << 16):
                pairs = _unique_pairs(np.concatenate([pairs, *pending]))
                pending = []
        pairs = _unique_pairs(np.concatenate([pairs, *pending]))
        info["candidate_pairs"] = int(len(pairs))
        signatures = None
        if cfg.verify and len(pairs):
            signatures = _SignatureFile(folder / "signatures.u32", shards, np.unique(pairs), cfg.num_perm)
            stack.callback(signatures.close)
            pairs = pairs[signature_similarity(signatures.take, pairs) >= cfg.threshold]
        info["edges"] = int(len(pairs))
        if len(pairs):
            nodes = np.unique(pairs)
            _, lengths, votes = gather(shards, nodes)
            labels = components(len(nodes), np.searchsorted(nodes, pairs))
            near_kept = nodes[choose_kept(labels, votes, lengths)]
            near_sim = np.full(len(nodes), np.nan, dtype=np.float32)
            dropped = np.flatnonzero(near_kept != nodes)
            if signatures is not None and len(dropped):
                near_sim[dropped] = signature_similarity(
                    signatures.take, np.stack([nodes[dropped], near_kept[dropped]], axis=1))

    # Exact duplicates follow their representative into its near-duplicate cluster.
    at = np.minimum(np.searchsorted(nodes, dup_reps), max(len(nodes) - 1, 0))
    in_near = (nodes[at] == dup_reps) if len(nodes) else np.zeros(len(dup_reps), dtype=bool)
    dup_kept = np.where(in_near, near_kept[at] if len(nodes) else dup_reps, dup_reps)

    rows = np.union1d(np.union1d(dup_rows, dup_reps), nodes)
    kept, reason = rows.copy(), np.zeros(len(rows), dtype=np.int8)
    similarity = np.full(len(rows), np.nan, dtype=np.float32)
    where = np.searchsorted(rows, nodes)
    kept[where], similarity[where] = near_kept, near_sim
    reason[where[near_kept != nodes]] = NEAR
    where = np.searchsorted(rows, dup_rows)
    kept[where], reason[where], similarity[where] = dup_kept, EXACT, 1.0
    roots, inverse, counts = np.unique(kept, return_inverse=True, return_counts=True)
    sizes = counts[inverse].astype(np.int32)
    info["exact_duplicates"] = int((reason == EXACT).sum())
    info["near_duplicates"] = int((reason == NEAR).sum())
    info["clusters"] = int(len(roots))
    return SparseClusters(rows, kept, reason, similarity, sizes, info)
