"""Second step of dedup: exact groups, then near-duplicate clusters, then the keep decision.

Works on the compact arrays of `scan.py` only and never holds text. With a scratch directory
the bulky per-record arrays (MinHash signatures, LSH band keys: ~1.2 KB per record by default)
live in files there (`spill.py`), so the main process holds ~40 bytes per record (ids, source
codes, lengths, votes, exact keys) plus the clustering pass's transient arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from curation.stages.dedup.config import DedupConfig
from curation.stages.dedup.keep import choose_kept
from curation.stages.dedup.lsh import components, pairs_from_columns, signature_similarity
from curation.stages.dedup.scan import ShardScan
from curation.stages.dedup.spill import ColumnStore, RowStore

KEEP, EXACT, NEAR = 0, 1, 2
REASONS = {EXACT: "exact_duplicate", NEAR: "near_duplicate"}


@dataclass
class DedupResult:
    """Per-row decision, in upstream order. Ids are UTF-8 bytes and sources small codes (a Python
    string per record costs ~60 bytes); read them with `id_at` / `source_at`."""

    ids: np.ndarray  # bytes (numpy S dtype)
    source_codes: np.ndarray  # index into source_names
    source_names: list[str]
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

    def id_at(self, i: int) -> str:
        return bytes(self.ids[i]).decode("utf-8")

    def source_at(self, i: int) -> str:
        return self.source_names[int(self.source_codes[i])]


class DedupIndex:
    """Collects ShardScans (band keys and signatures into `scratch` files when given), then
    clusters them once (`finish`)."""

    def __init__(self, total: int, config: DedupConfig, scratch: Path | None = None) -> None:
        self.config, self.n, self.pos = config, total, 0
        self._ids: list[np.ndarray] = []
        self.source_names: list[str] = []
        self._source_code: dict[str, int] = {}
        self.source_codes = np.zeros(total, dtype=np.int32)
        self.lengths = np.zeros(total, dtype=np.int32)
        self.votes = np.zeros(total, dtype=np.float64)
        self.exact = np.zeros(total, dtype=np.uint64)
        self.plain = np.zeros(total, dtype=np.uint64) if config.fold_script else None
        self.folded = np.zeros(total, dtype=bool) if config.fold_script else None
        bands, _ = config.band_rows() if config.near else (0, 0)
        self.bands = ColumnStore(total, bands, np.uint64, scratch and scratch / "bands.u64") if config.near else None
        self.sigs = (RowStore(total, config.num_perm, np.uint32, scratch and scratch / "signatures.u32")
                     if config.near and config.verify else None)

    def add(self, scan: ShardScan) -> None:
        s, e = self.pos, self.pos + len(scan.ids)
        if e > self.n:
            raise ValueError(f"more rows than announced ({self.n})")
        self._ids.append(np.array([i.encode("utf-8") for i in scan.ids], dtype=np.bytes_))
        codes = self._source_code
        for name in dict.fromkeys(scan.sources).keys() - codes.keys():
            codes[name] = len(self.source_names)
            self.source_names.append(name)
        self.source_codes[s:e] = [codes[name] for name in scan.sources]
        self.lengths[s:e], self.votes[s:e], self.exact[s:e] = scan.lengths, scan.votes, scan.exact_keys
        if self.plain is not None and self.folded is not None:
            self.plain[s:e], self.folded[s:e] = scan.plain_keys, scan.folded
        if self.bands is not None and scan.band_keys is not None:
            self.bands.put(s, scan.band_keys)
        if self.sigs is not None and scan.signatures is not None:
            self.sigs.put(s, scan.signatures)
        self.pos = e

    def _source_salt(self) -> np.ndarray:
        salts = np.array([xxhash.xxh3_64_intdigest(s.encode()) for s in self.source_names], dtype=np.uint64)
        return salts[self.source_codes] if len(salts) else np.zeros(self.n, dtype=np.uint64)

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
            bands = self.bands
            columns = (bands.column(b)[reps] if salt is None else bands.column(b)[reps] ^ salt[reps]
                       for b in range(bands.width))
            pairs = pairs_from_columns(columns, np.arange(len(reps), dtype=np.int64))
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
        ids = np.concatenate(self._ids) if self._ids else np.empty(0, dtype=np.bytes_)
        return DedupResult(ids, self.source_codes, self.source_names, self.lengths, self.votes, kept, reason,
                           similarity, sizes, info, plain_keys=self.plain, folded=self.folded)

    def close(self) -> None:
        """Release the scratch files' handles (the caller removes the directory)."""
        for store in (self.bands, self.sigs):
            if store is not None:
                store.close()


def find_duplicates(scans: list[ShardScan], config: DedupConfig) -> DedupResult:
    """Convenience for in-memory use (tests, benchmarks): cluster already-computed scans."""
    index = DedupIndex(sum(len(s.ids) for s in scans), config)
    for scan in scans:
        index.add(scan)
    return index.finish()
