"""Evidence for matches that rest on script folding: the similarity without folding.

Why a second look instead of a second signature per row: folding changes few rows in most data,
and only removed rows need the evidence, so re-reading just those rows (and their kept rows) from
the upstream shards costs one streaming pass and memory for those texts only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import orjson

from curation.pipeline.runner import iter_shard_lines
from curation.pipeline.storage import AnyPath
from curation.stages.dedup.cluster import EXACT, KEEP, DedupResult
from curation.stages.dedup.config import DedupConfig
from curation.stages.dedup.lsh import signature_similarity
from curation.stages.dedup.minhash import MinHasher
from curation.stages.dedup.scan import _tokenizer
from curation.text.normalize import normalize_text, record_text


def _plain_texts(paths: Sequence[AnyPath], rows: set[int], config: DedupConfig) -> dict[int, str]:
    """Normalized (unfolded) text of the wanted upstream rows, by row index."""
    out: dict[int, str] = {}
    index = 0
    for path in paths:
        for line in iter_shard_lines(path):
            if index in rows:
                out[index] = normalize_text(record_text(orjson.loads(line)["record"], config.fields))
            index += 1
    return out


def script_evidence(paths: Sequence[AnyPath], result: DedupResult, config: DedupConfig) -> None:
    """Set `result.unfolded_similarity` for removed rows where folding changed either side.

    Exact duplicates whose unfolded keys are equal did not need folding (similarity 1.0). The
    others get the MinHash similarity of their unfolded texts to the kept row's (near dedup on),
    or 0.0 when near dedup is off (without folding they were simply not identical).
    """
    out = np.full(len(result), np.nan, dtype=np.float32)
    result.unfolded_similarity = out
    if result.folded is None or result.plain_keys is None:
        return
    removed = np.flatnonzero(result.reason != KEEP)
    kept = result.kept[removed]
    touched = result.folded[removed] | result.folded[kept]
    removed, kept = removed[touched], kept[touched]
    same_plain = (result.reason[removed] == EXACT) & (result.plain_keys[removed] == result.plain_keys[kept])
    out[removed[same_plain]] = 1.0
    removed, kept = removed[~same_plain], kept[~same_plain]
    if not len(removed):
        return
    if not config.near:
        out[removed] = 0.0
        return
    texts = _plain_texts(paths, set(removed.tolist()) | set(kept.tolist()), config)
    order = sorted(texts)
    position = {row: i for i, row in enumerate(order)}
    hasher = MinHasher(config.num_perm, config.ngram, config.seed, tokenizer=_tokenizer(config))
    signatures = hasher.signatures([texts[row] for row in order])
    pairs = np.array([[position[int(r)], position[int(k)]] for r, k in zip(removed, kept, strict=True)],
                     dtype=np.int64)
    out[removed] = signature_similarity(signatures, pairs)


def needed_folding(result: DedupResult, row: int, threshold: float) -> bool:
    """True when, without script folding, this removed row would not match its kept row."""
    if result.unfolded_similarity is None:
        return False
    sim = float(result.unfolded_similarity[row])
    return not np.isnan(sim) and sim < threshold
