"""`dedup` stage: a global pass (keys, signatures, clusters) then Kept/Dropped in upstream order.

The first pass runs when `produce` is first called (so a complete stage is skipped without it);
it writes the review report `clusters.jsonl` (one line per duplicate cluster: the kept record
and every removed member with its reason and similarity; `script_folded: true` and
`similarity_unfolded` when the match needed traditional/simplified folding) and `dedup_summary.json` into the stage
directory. Dropped records go to the runner's rejects shards with reason `exact_duplicate` or
`near_duplicate` and the kept record's id in the detail. Deterministic: same input, same output.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from curation.pipeline.atomic import atomic_writer, write_json_atomic
from curation.pipeline.recipe import Recipe
from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import Dropped, Kept, Stage, stage_input
from curation.stages.dedup.cluster import EXACT, KEEP, NEAR, REASONS, DedupIndex, DedupResult
from curation.stages.dedup.config import DedupConfig
from curation.stages.dedup.evidence import needed_folding, script_evidence
from curation.stages.dedup.scan import scan_files
from curation.text.normalize import script_backend
from schemas import CuratedRecord

REPORT = "clusters.jsonl"
SUMMARY = "dedup_summary.json"
SCRATCH = "_scratch"


def analyze(run: RunDir, upstream: str, config: DedupConfig, scratch: Path | None = None) -> DedupResult:
    """Scan the upstream shards (in parallel) and cluster them; with `scratch` (a directory that
    is removed afterwards) signatures and band keys are kept on disk there, not in memory."""
    started = time.perf_counter()
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
    index = DedupIndex(run.count(upstream), config, scratch)
    try:
        for scan in scan_files(run.shard_paths(upstream), config):
            index.add(scan)
        scanned = time.perf_counter()
        result = index.finish()
    finally:
        index.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    clustered = time.perf_counter()
    if config.fold_script:
        script_evidence(run.shard_paths(upstream), result, config)
        removed = np.flatnonzero(result.reason != KEEP)
        result.info["script_folded_duplicates"] = sum(needed_folding(result, int(i), config.threshold)
                                                      for i in removed)
        result.info["fold_script_backend"] = script_backend()
    bands, rows = config.band_rows() if config.near else (0, 0)
    result.info.update(
        bands=bands, rows=rows,
        scan_seconds=round(scanned - started, 3), cluster_seconds=round(clustered - scanned, 3),
        evidence_seconds=round(time.perf_counter() - clustered, 3),
    )
    return result


def _member(result: DedupResult, i: int, threshold: float) -> dict[str, Any]:
    votes = float(result.votes[i])
    entry: dict[str, Any] = {"id": result.id_at(i), "source": result.source_at(i), "row": i,
                             "length": int(result.lengths[i]), "votes": None if math.isnan(votes) else votes}
    if result.reason[i] != KEEP:
        entry["reason"] = REASONS[int(result.reason[i])]
        sim = float(result.similarity[i])
        entry["similarity"] = None if math.isnan(sim) else round(sim, 4)
        if result.unfolded_similarity is not None and not math.isnan(result.unfolded_similarity[i]):
            entry["similarity_unfolded"] = round(float(result.unfolded_similarity[i]), 4)
            entry["script_folded"] = needed_folding(result, i, threshold)
    return entry


def write_report(stage_dir: Path, result: DedupResult, threshold: float) -> None:
    """clusters.jsonl: clusters in order of their kept record; members in upstream order."""
    members = np.flatnonzero(result.reason != KEEP)
    order = members[np.argsort(result.kept[members], kind="stable")]
    with atomic_writer(stage_dir / REPORT) as handle:
        start = 0
        while start < len(order):
            kept = int(result.kept[order[start]])
            end = start
            while end < len(order) and result.kept[order[end]] == kept:
                end += 1
            line = {"cluster": result.id_at(kept), "size": end - start + 1,
                    "kept": _member(result, kept, threshold),
                    "removed": [_member(result, int(i), threshold) for i in order[start:end]]}
            handle.write(orjson.dumps(line) + b"\n")
            start = end
    write_json_atomic(stage_dir / SUMMARY, result.info)


def decide(record: CuratedRecord, i: int, result: DedupResult, threshold: float) -> Kept | Dropped:
    """Annotate cluster members' stats, then keep or drop with the kept record's id as evidence."""
    size = int(result.cluster_size[i])
    if size > 1:
        kept = int(result.kept[i])
        record.stats["dedup_cluster"] = result.id_at(kept)
        record.stats["dedup_cluster_size"] = size
        sim = float(result.similarity[i])
        if not math.isnan(sim):
            record.stats["dedup_similarity"] = round(sim, 4)
    reason = int(result.reason[i])
    if reason == KEEP:
        return Kept(record)
    if needed_folding(result, i, threshold):
        record.stats["dedup_script_folded"] = True
    sim = record.stats.get("dedup_similarity")
    detail = f"kept={result.id_at(int(result.kept[i]))}"
    if reason == NEAR and sim is not None:
        detail += f" similarity={sim}"
    assert reason in (EXACT, NEAR)
    return Dropped(record, REASONS[reason], detail)


def dedup_stage(run: RunDir, upstream: str, config: DedupConfig | None = None, name: str = "dedup") -> Stage:
    """Exact + near-duplicate removal over one completed upstream stage."""
    config = config or DedupConfig()
    cache: dict[str, DedupResult] = {}

    def produce(skip: int) -> Iterator[Kept | Dropped]:
        from curation.pipeline.rows import row_to_record

        if "result" not in cache:
            cache["result"] = analyze(run, upstream, config, run.stage_dir(name) / SCRATCH)
            write_report(run.stage_dir(name), cache["result"], config.threshold)
        result = cache["result"]
        rows = islice(run.iter_rows(upstream), skip, None)
        for i, (_, row) in enumerate(rows, start=skip):
            if row["id"] != result.id_at(i):
                raise RuntimeError(f"upstream {upstream!r} changed during dedup at row {i}")
            # Rows of a completed stage were validated when written: construct, don't re-validate.
            yield decide(row_to_record(row), i, result, config.threshold)

    params = config.model_dump(mode="json", exclude={"workers"})
    if config.near:
        params["bands"], params["rows"] = config.band_rows()
    return Stage(name=name, produce=produce, inputs=[stage_input(run, upstream)], params=params,
                 total=run.count(upstream))


def build_stage(run: RunDir, upstream: str, recipe: Recipe) -> Stage:
    """The recipe's `dedup:` section as a stage (its section model validates the section)."""
    return dedup_stage(run, upstream, recipe.section("dedup", DedupConfig))
