"""Second step of dedup: exact groups, then near-duplicate clusters, then the keep decision.

`cluster_rows` is the one clustering pass. It works on compact per-row arrays (exact key, source
salt, length, votes: 28 bytes a row) and reads the bulky parts only as it needs them: LSH band
keys one band column at a time (`band_column(j)`), MinHash signatures only for the rows that are
LSH candidates (`signatures(rows)`). The stage (`stage.py`) feeds it from the per-shard files of
the signature phase; `DedupIndex` feeds it from memory (tests, benchmarks, the single-pass
reference). Either way no text is held in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xxhash

from curation.stages.dedup.config import DedupConfig
from curation.stages.dedup.keep import choose_kept
from curation.stages.dedup.lsh import components, pairs_from_columns, signature_similarity
from curation.stages.dedup.scan import ShardScan

KEEP, EXACT, NEAR = 0, 1, 2
REASONS = {EXACT: "exact_duplicate", NEAR: "near_duplicate"}


def source_salt(source: str) -> int:
    """Per-source key salt, so that with `across_sources=False` only same-source keys meet."""
    return xxhash.xxh3_64_intdigest(source.encode())


@dataclass
class Clusters:
    """Per-row decision, in upstream order."""

    kept: np.ndarray  # row index of the record kept for this row's cluster (itself if kept)
    reason: np.ndarray  # KEEP / EXACT / NEAR
    similarity: np.ndarray  # estimated Jaccard to the kept row (1.0 exact, NaN if not a duplicate)
    cluster_size: np.ndarray
    info: dict[str, Any]


@dataclass
class DedupResult:
    """Per-row decision plus what the report shows. `ids`/`sources` may be lists (every row) or
    mappings holding only the rows in clusters (all the report and the decisions look up)."""

    ids: Sequence[str] | Mapping[int, str]
    sources: Sequence[str] | Mapping[int, str]
    lengths: np.ndarray
    votes: np.ndarray
    kept: np.ndarray
    reason: np.ndarray
    similarity: np.ndarray
    cluster_size: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    plain_keys: np.ndarray | None = None  # exact keys before script folding (None: folding off)
    folded: np.ndarray | None = None  # bool: script folding changed this row's normalized text
    # Filled by `evidence.script_evidence`: similarity to the kept row without script folding
    # (NaN where folding could not matter); a removed row whose match needed folding has it < threshold.
    unfolded_similarity: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.kept)


def cluster_rows(
    config: DedupConfig,
    exact: np.ndarray,
    lengths: np.ndarray,
    votes: np.ndarray,
    salt: np.ndarray | None,
    band_column: Callable[[int], np.ndarray] | None,
    signatures: Callable[[np.ndarray], Callable[[np.ndarray], np.ndarray]] | None,
) -> Clusters:
    """Exact groups, LSH candidates among their representatives, verified edges, components.

    `salt` (per-row uint64) keeps keys of different sources apart (None: compare across sources).
    `band_column(j)`: band j's key of every row. `signatures(rows)`: given the sorted candidate
    rows, a function returning the signatures of any of them (None: no verification)."""
    cfg, n = config, len(exact)
    rows = np.arange(n, dtype=np.int64)
    kept, reason = rows.copy(), np.zeros(n, dtype=np.int8)
    similarity = np.full(n, np.nan, dtype=np.float32)
    usable = np.flatnonzero(exact != 0)  # empty after normalization: never a duplicate
    info: dict[str, Any] = {"rows": n, "empty_after_normalization": int(n - len(usable))}

    if cfg.exact and len(usable):
        keys = exact[usable] if salt is None else exact[usable] ^ salt[usable]
        _, groups = np.unique(keys, return_inverse=True)
        rep = usable[choose_kept(groups, votes[usable], lengths[usable])]
        kept[usable] = rep
        reason[usable[rep != usable]] = EXACT
        similarity[usable[rep != usable]] = 1.0

    reps = usable[kept[usable] == usable]
    if cfg.near and band_column is not None and len(reps) > 1:
        bands, _ = cfg.band_rows()

        def columns():  # one band of the representatives at a time
            for j in range(bands):
                col = band_column(j)[reps]
                yield col if salt is None else col ^ salt[reps]

        pairs = pairs_from_columns(columns(), np.arange(len(reps), dtype=np.int64))
        info["candidate_pairs"] = int(len(pairs))
        take = None
        if signatures is not None and len(pairs):
            take = signatures(np.unique(reps[pairs]))
            sims = signature_similarity(take, reps[pairs])
            pairs = pairs[sims >= cfg.threshold]
        info["edges"] = int(len(pairs))
        labels = components(len(reps), pairs)
        near_rep = reps[choose_kept(labels, votes[reps], lengths[reps])]
        dropped = near_rep != reps
        reason[reps[dropped]] = NEAR
        kept[reps] = near_rep
        kept = kept[kept]  # exact duplicates follow their representative's cluster
        if take is not None and dropped.any():
            d = reps[dropped]
            similarity[d] = signature_similarity(take, np.stack([d, kept[d]], axis=1))
    sizes = np.bincount(kept, minlength=n)[kept].astype(np.int32)
    info["exact_duplicates"] = int((reason == EXACT).sum())
    info["near_duplicates"] = int((reason == NEAR).sum())
    info["clusters"] = int(((sizes > 1) & (kept == rows)).sum())
    return Clusters(kept, reason, similarity, sizes, info)


class DedupIndex:
    """In-memory single pass: collects ShardScans into arrays, then clusters them once (`finish`).
    The stage uses the same `cluster_rows` over files instead; this is the reference."""

    def __init__(self, total: int, config: DedupConfig) -> None:
        self.config, self.n, self.pos = config, total, 0
        self.ids: list[str] = []
        self.sources: list[str] = []
        self.lengths = np.zeros(total, dtype=np.int32)
        self.votes = np.zeros(total, dtype=np.float64)
        self.exact = np.zeros(total, dtype=np.uint64)
        self.plain = np.zeros(total, dtype=np.uint64) if config.fold_script else None
        self.folded = np.zeros(total, dtype=bool) if config.fold_script else None
        bands, _ = config.band_rows() if config.near else (0, 0)
        self.bands = np.zeros((total, bands), dtype=np.uint64) if config.near else None
        self.sigs = np.zeros((total, config.num_perm), dtype=np.uint32) if config.near and config.verify else None

    def add(self, scan: ShardScan) -> None:
        s, e = self.pos, self.pos + len(scan.ids)
        if e > self.n:
            raise ValueError(f"more rows than announced ({self.n})")
        self.ids.extend(scan.ids)
        self.sources.extend(scan.sources)
        self.lengths[s:e], self.votes[s:e], self.exact[s:e] = scan.lengths, scan.votes, scan.exact_keys
        if self.plain is not None and self.folded is not None:
            self.plain[s:e], self.folded[s:e] = scan.plain_keys, scan.folded
        if self.bands is not None and scan.band_keys is not None:
            self.bands[s:e] = scan.band_keys
        if self.sigs is not None and scan.signatures is not None:
            self.sigs[s:e] = scan.signatures
        self.pos = e

    def finish(self) -> DedupResult:
        if self.pos != self.n:
            raise ValueError(f"expected {self.n} rows, got {self.pos}")
        salt = None
        if not self.config.across_sources:
            salts = {s: source_salt(s) for s in set(self.sources)}
            salt = np.array([salts[s] for s in self.sources], dtype=np.uint64)
        bands = self.bands
        sigs = self.sigs
        found = cluster_rows(
            self.config, self.exact, self.lengths, self.votes, salt,
            None if bands is None else (lambda j: bands[:, j]),
            None if sigs is None else (lambda _rows: sigs.__getitem__),
        )
        if self.folded is not None:
            found.info["rows_changed_by_script_folding"] = int(self.folded.sum())
        return DedupResult(self.ids, self.sources, self.lengths, self.votes, found.kept, found.reason,
                           found.similarity, found.cluster_size, found.info, plain_keys=self.plain,
                           folded=self.folded)


def find_duplicates(scans: list[ShardScan], config: DedupConfig) -> DedupResult:
    """Convenience for in-memory use (tests, benchmarks): cluster already-computed scans."""
    index = DedupIndex(sum(len(s.ids) for s in scans), config)
    for scan in scans:
        index.add(scan)
    return index.finish()
