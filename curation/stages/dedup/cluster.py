"""Second step of dedup: exact groups, then near-duplicate clusters, then the keep decision.

Works on the compact arrays of `scan.py` only, so 1M records need ~1.3 GB (signatures dominate
when `verify` is on) and no text is held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xxhash

from curation.stages.dedup.config import DedupConfig
from curation.stages.dedup.keep import choose_kept
from curation.stages.dedup.lsh import candidate_pairs, components, signature_similarity
from curation.stages.dedup.scan import ShardScan

KEEP, EXACT, NEAR = 0, 1, 2
REASONS = {EXACT: "exact_duplicate", NEAR: "near_duplicate"}


@dataclass
class DedupResult:
    """Per-row decision, in upstream order."""

    ids: list[str]
    sources: list[str]
    lengths: np.ndarray
    votes: np.ndarray
    kept: np.ndarray  # row index of the record kept for this row's cluster (itself if kept)
    reason: np.ndarray  # KEEP / EXACT / NEAR
    similarity: np.ndarray  # estimated Jaccard to the kept row (1.0 exact, NaN if not a duplicate)
    cluster_size: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    plain_keys: np.ndarray | None = None  # exact keys before script folding (None: folding off)
    folded: np.ndarray | None = None  # bool: script folding changed this row's normalized text
    # Filled by `evidence.script_evidence`: similarity to the kept row without script folding
    # (NaN where folding could not matter); a removed row whose match needed folding has it < threshold.
    unfolded_similarity: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)


class DedupIndex:
    """Collects ShardScans into preallocated arrays, then clusters them once (`finish`)."""

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

    def _source_salt(self) -> np.ndarray:
        salts = {s: np.uint64(xxhash.xxh3_64_intdigest(s.encode())) for s in set(self.sources)}
        return np.array([salts[s] for s in self.sources], dtype=np.uint64)

    def finish(self) -> DedupResult:
        if self.pos != self.n:
            raise ValueError(f"expected {self.n} rows, got {self.pos}")
        cfg, n = self.config, self.n
        rows = np.arange(n, dtype=np.int64)
        kept, reason = rows.copy(), np.zeros(n, dtype=np.int8)
        similarity = np.full(n, np.nan, dtype=np.float32)
        salt = None if cfg.across_sources else self._source_salt()
        usable = np.flatnonzero(self.exact != 0)  # empty after normalization: never a duplicate
        info: dict[str, Any] = {"rows": n, "empty_after_normalization": int(n - len(usable))}

        if cfg.exact and len(usable):
            keys = self.exact[usable] if salt is None else self.exact[usable] ^ salt[usable]
            _, groups = np.unique(keys, return_inverse=True)
            rep = usable[choose_kept(groups, self.votes[usable], self.lengths[usable])]
            kept[usable] = rep
            reason[usable[rep != usable]] = EXACT
            similarity[usable[rep != usable]] = 1.0

        reps = usable[kept[usable] == usable]
        if cfg.near and self.bands is not None and len(reps) > 1:
            keys = self.bands[reps] if salt is None else self.bands[reps] ^ salt[reps, None]
            pairs = candidate_pairs(keys)
            info["candidate_pairs"] = int(len(pairs))
            if self.sigs is not None and len(pairs):
                sims = signature_similarity(self.sigs, reps[pairs])
                pairs = pairs[sims >= cfg.threshold]
            info["edges"] = int(len(pairs))
            labels = components(len(reps), pairs)
            near_rep = reps[choose_kept(labels, self.votes[reps], self.lengths[reps])]
            dropped = near_rep != reps
            reason[reps[dropped]] = NEAR
            kept[reps] = near_rep
            kept = kept[kept]  # exact duplicates follow their representative's cluster
            if self.sigs is not None and dropped.any():
                d = reps[dropped]
                similarity[d] = signature_similarity(self.sigs, np.stack([d, kept[d]], axis=1))
        sizes = np.bincount(kept, minlength=n)[kept].astype(np.int32)
        info["exact_duplicates"] = int((reason == EXACT).sum())
        info["near_duplicates"] = int((reason == NEAR).sum())
        info["clusters"] = int(((sizes > 1) & (kept == rows)).sum())
        if self.folded is not None:
            info["rows_changed_by_script_folding"] = int(self.folded.sum())
        return DedupResult(self.ids, self.sources, self.lengths, self.votes, kept, reason, similarity, sizes, info,
                           plain_keys=self.plain, folded=self.folded)


def find_duplicates(scans: list[ShardScan], config: DedupConfig) -> DedupResult:
    """Convenience for in-memory use (tests, benchmarks): cluster already-computed scans."""
    index = DedupIndex(sum(len(s.ids) for s in scans), config)
    for scan in scans:
        index.add(scan)
    return index.finish()
