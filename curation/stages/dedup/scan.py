"""First dedup pass: per-shard keys and MinHash band keys (run per shard by executor tasks).

Why workers read the shard files themselves: shipping 1M texts through pipes costs as much as
hashing them; only compact arrays (ids, lengths, votes, 64-bit keys, signatures) are written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import xxhash

from curation.stages.dedup.config import DedupConfig
from curation.stages.dedup.lsh import band_keys
from curation.stages.dedup.minhash import MinHasher
from curation.stages.dedup.normalize_jit import normalize_texts
from curation.text.normalize import fold_script, record_text


@dataclass
class ShardScan:
    """Everything the clustering pass needs about one shard's records, in row order."""

    ids: list[str]
    sources: list[str]
    lengths: np.ndarray  # int32, raw characters over the configured fields
    votes: np.ndarray  # float64, NaN when the record has no vote signal
    exact_keys: np.ndarray  # uint64 hash of the normalized text (0 = empty after normalization)
    plain_keys: np.ndarray  # uint64 hash of the normalized text before script folding
    folded: np.ndarray  # bool: script folding changed the normalized text
    band_keys: np.ndarray | None  # (rows, bands) uint64
    signatures: np.ndarray | None  # (rows, num_perm) uint32, only when verify is on

    @property
    def empty(self) -> np.ndarray:
        return self.exact_keys == 0


def record_votes(row: dict[str, Any], keys: Sequence[str]) -> float:
    extra = (row.get("provenance") or {}).get("extra") or {}
    for key in keys:
        value = extra.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    return math.nan


def _tokenizer(config: DedupConfig):  # type: ignore[no-untyped-def]
    if config.shingle == "char":
        return None
    from curation.text.segment import get_segmenter

    return get_segmenter(config.segmenter).cut


def _keys(texts: Sequence[str]) -> np.ndarray:
    """Exact-duplicate keys: xxh3 of the normalized text, odd; 0 for empty text."""
    return np.fromiter(
        (xxhash.xxh3_64_intdigest(t.encode()) | 1 if t else 0 for t in texts), dtype=np.uint64, count=len(texts)
    )


def _plain_keys(exact: np.ndarray, plain: Sequence[str], folded: np.ndarray) -> np.ndarray:
    """Keys before folding: those of the few rows folding changed; the others' are their exact keys."""
    if not folded.any():
        return exact
    changed = np.flatnonzero(folded)
    keys = exact.copy()
    keys[changed] = _keys([plain[i] for i in changed.tolist()])
    return keys


def scan_rows(rows: Sequence[dict[str, Any]], config: DedupConfig) -> ShardScan:
    """Keys and signatures for CuratedRecord rows (parsed JSON)."""
    votes = np.fromiter((record_votes(r, config.votes_keys) for r in rows), dtype=np.float64, count=len(rows))
    return scan_texts([r["id"] for r in rows], [r["source"] for r in rows],
                      [record_text(r["record"], config.fields) for r in rows], votes, config)


def scan_lines(lines: Iterable[bytes], config: DedupConfig) -> ShardScan:
    """`scan_rows` over JSON lines, parsed one at a time keeping only the fields dedup reads: a
    shard of parsed rows held at once (~60 objects a row) made every garbage collection walk them
    all, which cost more than the parsing."""
    ids: list[str] = []
    sources: list[str] = []
    texts: list[str] = []
    votes: list[float] = []
    fields, keys = config.fields, config.votes_keys
    for line in lines:
        row = orjson.loads(line)
        ids.append(row["id"])
        sources.append(row["source"])
        texts.append(record_text(row["record"], fields))
        votes.append(record_votes(row, keys))
    return scan_texts(ids, sources, texts, np.array(votes, dtype=np.float64), config)


def scan_texts(ids: list[str], sources: list[str], texts: list[str], votes: np.ndarray,
               config: DedupConfig) -> ShardScan:
    """Keys and signatures from each row's id, source, raw text (`record_text`) and votes."""
    plain = normalize_texts(texts)
    norm = [fold_script(t) for t in plain] if config.fold_script else plain
    exact = _keys(norm)
    folded = np.fromiter((a is not b and a != b for a, b in zip(plain, norm, strict=True)), dtype=bool,
                         count=len(norm))
    scan = ShardScan(
        ids=ids,
        sources=sources,
        lengths=np.fromiter(map(len, texts), dtype=np.int32, count=len(texts)),
        votes=votes,
        exact_keys=exact,
        plain_keys=_plain_keys(exact, plain, folded),
        folded=folded,
        band_keys=None,
        signatures=None,
    )
    if config.near:
        hasher = MinHasher(config.num_perm, config.ngram, config.seed, tokenizer=_tokenizer(config))
        sig = hasher.signatures(norm)
        bands, rows_per_band = config.band_rows()
        scan.band_keys = band_keys(sig, bands, rows_per_band)
        scan.signatures = sig if config.verify else None
    return scan


def scan_file(path: str, config: DedupConfig) -> ShardScan:
    with open(path, "rb") as handle:
        return scan_lines(handle, config)
