"""Exact and near-duplicate (MinHash LSH) removal with reviewable clusters.

    >>> from curation.stages.dedup import DedupConfig, dedup_stage
    >>> run_stage(run, dedup_stage(run, "filter", DedupConfig(threshold=0.8)))

Pipeline: normalize (NFKC, lowercase, no punctuation/whitespace) -> exact groups by xxh3 of the
normalized text -> MinHash of character 5-grams over the exact representatives -> LSH bands
(rows/bands optimal for the threshold) -> candidate edges verified by signature similarity ->
connected components -> keep the most voted, then longest, then earliest member.
"""

from curation.stages.dedup.cluster import DedupResult, find_duplicates
from curation.stages.dedup.config import DedupConfig
from curation.stages.dedup.stage import build_stage, dedup_stage

__all__ = ["DedupConfig", "DedupResult", "build_stage", "dedup_stage", "find_duplicates"]
