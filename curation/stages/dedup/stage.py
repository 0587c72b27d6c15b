"""`dedup` stage in three phases that scale out: signatures per shard, clustering, filter per shard.

1. Signatures (parallel, one executor task per upstream shard): exact key, length, votes, MinHash
   signature and LSH band keys of every row, written to `_dedup/keys-NNNNN.bin` (shardfiles.py).
2. Clustering (one process, memory bounded by a bucket: buckets.py): the exact keys and band keys
   are split by hash into bucket files, each bucket grouped on its own; signatures are read only
   for candidate rows; components over the verified pairs give the clusters (the same result as
   `cluster.cluster_rows`, the in-memory `DedupIndex`; only rows in clusters are held). Writes the
   review report `clusters.jsonl` (one line per duplicate cluster: the kept record and every
   removed member with its reason and similarity; `script_folded: true` and `similarity_unfolded`
   when the match needed traditional/simplified folding: evidence.py), `dedup_summary.json`, and per shard the
   decisions of its rows that are in a cluster (`_dedup/decide-NNNNN.json`).
3. Filter (parallel, the stage's tasks, one per upstream shard): each row kept or dropped with
   the kept record's id as evidence; dropped records go to the runner's rejects with reason
   `exact_duplicate` or `near_duplicate`. A row in no cluster is written as its upstream line.

Phases 1 and 2 run when some filter task is pending (a complete stage is skipped without them);
each leaves a marker, so a killed run resumes where it stopped. `_dedup/` is removed when the
stage completes. Deterministic: same input, same bytes, whichever executor and worker count.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Any

import numpy as np
import orjson

from curation.pipeline.atomic import atomic_writer, read_json, write_json_atomic
from curation.pipeline.executors import Executor
from curation.pipeline.recipe import Recipe
from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import Dropped, Kept, KeptRaw, Stage, iter_shard_lines, stage_input
from curation.pipeline.storage import AnyPath, mkdirs, rmtree
from curation.stages.dedup import minhash_jit, normalize_jit
from curation.stages.dedup import shardfiles as sf
from curation.stages.dedup.buckets import ShardKeys, cluster_buckets, gather
from curation.stages.dedup.cluster import EXACT, KEEP, NEAR, REASONS, DedupResult, source_salt
from curation.stages.dedup.config import DedupConfig
from curation.stages.dedup.evidence import needed_folding, script_evidence
from curation.stages.dedup.scan import scan_lines
from curation.text.normalize import fold_script, normalize_text, script_backend
from schemas import CuratedRecord

REPORT = "clusters.jsonl"
SUMMARY = "dedup_summary.json"
SCRATCH = "_dedup"
CLUSTERED = "clustered.json"


# ---- phase 1: signatures per shard -------------------------------------------------------------
@dataclass(frozen=True)
class ScanJob:
    shards: list[AnyPath]
    config: DedupConfig
    scratch: AnyPath
    key: str  # hash of the upstream stage and the settings: stale files are never reused


def _keys_path(scratch: AnyPath, index: int) -> AnyPath:
    return scratch / f"keys-{index:05d}.bin"


def _meta_path(scratch: AnyPath, index: int) -> AnyPath:
    return scratch / f"meta-{index:05d}.json"


def _fold_path(scratch: AnyPath, index: int) -> AnyPath:
    return scratch / f"fold-{index:05d}.json"


def scan_shard(job: ScanJob, index: int) -> dict[str, Any]:
    """Phase-1 task: keys and signatures of one shard's rows; returns {shard, rows}."""
    meta_path = _meta_path(job.scratch, index)
    if meta_path.exists():
        meta = read_json(meta_path)
        if meta.get("key") == job.key:
            return {"shard": index, "rows": meta["rows"]}
    scan = scan_lines(iter_shard_lines(job.shards[index]), job.config)
    salts = {s: source_salt(s) for s in set(scan.sources)}
    salt = np.array([salts[s] for s in scan.sources], dtype=np.uint64)
    sf.write_keys(_keys_path(job.scratch, index), scan.exact_keys, salt, scan.lengths, scan.votes,
                  scan.band_keys, scan.signatures)
    if job.config.fold_script:  # few rows change: their local index and unfolded key (as text: JSON ints)
        changed = np.flatnonzero(scan.folded)
        write_json_atomic(_fold_path(job.scratch, index),
                          {"rows": changed.tolist(), "plain": [str(k) for k in scan.plain_keys[changed].tolist()]})
    write_json_atomic(meta_path, {"key": job.key, "rows": len(scan.ids), "ids": scan.ids,
                                  "sources": sf.encode_runs(scan.sources)})
    return {"shard": index, "rows": len(scan.ids)}


# ---- phase 2: clustering on the compact keys ----------------------------------------------------
def _shard_keys(job: ScanJob, rows: list[int]) -> list[ShardKeys]:
    """Readers of every shard's phase-1 file (global row = shard start + local row)."""
    cfg = job.config
    bands, _ = cfg.band_rows() if cfg.near else (0, 0)
    starts = np.concatenate(([0], np.cumsum(rows))).astype(np.int64)
    out = []
    for shard, count in enumerate(rows):
        path, layout = _keys_path(job.scratch, shard), sf.Layout(count, bands, cfg.num_perm, cfg.near and cfg.verify)
        out.append(ShardKeys(int(starts[shard]), count, partial(sf.read_compact, path, layout),
                             partial(sf.read_bands, path, layout), partial(sf.read_signatures, path, layout)))
    return out


class _Utf8Strings(Sequence[str]):
    """Strings kept as one fixed-width bytes array: the ids of cluster members, without a Python
    object each (hundreds of thousands of small strings would stay scattered over the heap)."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        return self.data[i].decode()


def _cluster_phase(job: ScanJob, rows: list[int], stage_dir: AnyPath) -> dict[str, Any]:
    """Cluster (bucketed: buckets.py), then write the per-shard decisions, the report and the summary."""
    started = time.perf_counter()
    cfg = job.config
    shards = _shard_keys(job, rows)
    found = cluster_buckets(cfg, shards)
    members = found.rows  # global rows in a cluster; the result below holds only them
    exact, lengths, votes = gather(shards, members)
    plain_keys = folded = None
    changed = 0
    if cfg.fold_script:
        plain_keys, folded = exact, np.zeros(len(members), dtype=bool)
        for shard in range(len(rows)):
            fold = read_json(_fold_path(job.scratch, shard))
            changed += len(fold["rows"])
            local = np.array(fold["rows"], dtype=np.int64) + shards[shard].start
            at = np.searchsorted(members, local)
            hit = at < len(members)
            hit[hit] = members[at[hit]] == local[hit]
            folded[at[hit]] = True
            plain_keys[at[hit]] = np.array([int(k) for k, h in zip(fold["plain"], hit, strict=True) if h], dtype=np.uint64)
    id_parts: list[np.ndarray] = []  # of each entry (cluster member), in row order
    sources: list[str] = []
    canonical: dict[str, str] = {}
    shard_sources: list[list[Any]] = []  # run-encoded, for phase 3's rows outside clusters
    bounds = np.searchsorted(members, [s.start for s in shards] + [sum(rows)])
    for shard in range(len(rows)):
        lo, hi = int(bounds[shard]), int(bounds[shard + 1])
        meta = read_json(_meta_path(job.scratch, shard))
        shard_sources.append(meta["sources"])
        if lo == hi:
            continue
        names = sf.decode_runs(meta["sources"])
        local = (members[lo:hi] - shards[shard].start).tolist()
        id_parts.append(np.array([meta["ids"][i].encode() for i in local], dtype=bytes))
        sources.extend(canonical.setdefault(names[i], names[i]) for i in local)
        del meta, names
    ids = _Utf8Strings(np.concatenate(id_parts) if id_parts else np.zeros(0, dtype=bytes))
    del id_parts
    result = DedupResult(ids, sources, lengths, votes, np.searchsorted(members, found.kept), found.reason,
                         found.similarity, found.cluster_size, found.info, plain_keys=plain_keys, folded=folded,
                         rows=members)
    evidence_started = time.perf_counter()
    if folded is not None:
        script_evidence(job.shards, result, cfg)
        removed = np.flatnonzero(result.reason != KEEP)
        result.info["rows_changed_by_script_folding"] = changed
        result.info["script_folded_duplicates"] = sum(needed_folding(result, int(i), cfg.threshold) for i in removed)
        result.info["fold_script_backend"] = script_backend()
    for shard in range(len(rows)):
        lo, hi = int(bounds[shard]), int(bounds[shard + 1])
        decisions = []
        for entry in range(lo, hi):
            sim = float(result.similarity[entry])
            decisions.append([int(members[entry]) - shards[shard].start, int(result.reason[entry]),
                              ids[int(result.kept[entry])], None if math.isnan(sim) else sim,
                              int(result.cluster_size[entry]), needed_folding(result, entry, cfg.threshold)])
        write_json_atomic(job.scratch / f"decide-{shard:05d}.json",
                          {"rows": rows[shard], "clustered": decisions, "sources": shard_sources[shard]})
    bands, band_rows = cfg.band_rows() if cfg.near else (0, 0)
    result.info.update(bands=bands, rows=band_rows, shards=len(rows),
                       cluster_seconds=round(evidence_started - started, 3),
                       evidence_seconds=round(time.perf_counter() - evidence_started, 3))
    write_report(stage_dir, result, cfg.threshold)
    return result.info


def _member(result: DedupResult, i: int, threshold: float) -> dict[str, Any]:
    votes = float(result.votes[i])
    entry: dict[str, Any] = {"id": result.ids[i], "source": result.sources[i], "row": result.row(i),
                             "length": int(result.lengths[i]), "votes": None if math.isnan(votes) else votes}
    if result.reason[i] != KEEP:
        entry["reason"] = REASONS[int(result.reason[i])]
        sim = float(result.similarity[i])
        entry["similarity"] = None if math.isnan(sim) else round(sim, 4)
        if result.unfolded_similarity is not None and not math.isnan(result.unfolded_similarity[i]):
            entry["similarity_unfolded"] = round(float(result.unfolded_similarity[i]), 4)
            entry["script_folded"] = needed_folding(result, i, threshold)
    return entry


def write_report(stage_dir: AnyPath, result: DedupResult, threshold: float) -> None:
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
            line = {"cluster": result.ids[kept], "size": end - start + 1,
                    "kept": _member(result, kept, threshold),
                    "removed": [_member(result, int(i), threshold) for i in order[start:end]]}
            handle.write(orjson.dumps(line) + b"\n")
            start = end
    write_json_atomic(stage_dir / SUMMARY, result.info)


# ---- phase 3: keep or drop, per shard -----------------------------------------------------------
def decide_row(record: CuratedRecord, decision: list[Any] | None) -> Kept | Dropped:
    """Annotate cluster members' stats, then keep or drop with the kept record's id as evidence.
    `decision`: [local row, reason, kept id, similarity or None, cluster size, match needed script
    folding], None if alone."""
    if decision is None:
        return Kept(record)
    _, reason, kept_id, sim, size, script_folded = decision
    record.stats["dedup_cluster"] = kept_id
    record.stats["dedup_cluster_size"] = size
    if sim is not None:
        record.stats["dedup_similarity"] = round(sim, 4)
    if reason == KEEP:
        return Kept(record)
    if script_folded:
        record.stats["dedup_script_folded"] = True
    rounded = record.stats.get("dedup_similarity")
    detail = f"kept={kept_id}"
    if reason == NEAR and rounded is not None:
        detail += f" similarity={rounded}"
    assert reason in (EXACT, NEAR)
    return Dropped(record, REASONS[reason], detail)


@dataclass(frozen=True)
class DedupTask:
    """Phase-3 task over one upstream shard and its decisions."""

    path: AnyPath
    decisions: AnyPath

    def __call__(self, skip: int) -> Iterator[Kept | KeptRaw | Dropped]:
        from curation.pipeline.rows import row_to_record

        data = read_json(self.decisions)
        by_row = {d[0]: d for d in data["clustered"]}
        sources = sf.decode_runs(data.get("sources", []))  # absent: written by an older version
        seen = skip
        for i, line in enumerate(islice(iter_shard_lines(self.path), skip, None), start=skip):
            decision = by_row.get(i)
            if decision is None and i < len(sources):
                # Alone (most rows): the upstream line is this record as the runner serialised
                # it, unchanged by dedup; written as is (as the filter stage does).
                yield KeptRaw(line[:-1] if line.endswith(b"\n") else line, sources[i])
            else:
                # Rows of a completed stage were validated when written: construct, don't re-validate.
                yield decide_row(row_to_record(orjson.loads(line)), decision)
            seen = i + 1
        if seen != data["rows"]:
            raise RuntimeError(f"{self.path}: {seen} rows, the dedup scan saw {data['rows']} (upstream changed?)")


# ---- the stage -----------------------------------------------------------------------------------
def _warm(config: DedupConfig) -> None:
    """Build here, once, what every phase-1 worker would otherwise build for itself (forked workers
    inherit it, and phase 2 reuses it): the normalisation tables, the OpenCC converters and the
    compiled kernels (normalize_jit.py, minhash_jit.py)."""
    if not normalize_jit.warm():
        normalize_text("Ａ漢字")
    if config.fold_script:
        fold_script("軟體")  # traditional: loads both converters
    if config.near:
        minhash_jit.warm()


def _prepare(run: RunDir, job: ScanJob, stage_dir: AnyPath, executor: Executor) -> None:
    """Phases 1 and 2, each skipped when its markers say it is done."""
    marker = job.scratch / CLUSTERED
    if marker.exists() and read_json(marker).get("key") == job.key:
        return
    mkdirs(job.scratch)
    started = time.perf_counter()
    _warm(job.config)
    rows = [0] * len(job.shards)
    for done in executor.map_unordered(scan_shard, job, list(range(len(job.shards)))):
        rows[done["shard"]] = done["rows"]
    scanned = round(time.perf_counter() - started, 3)
    info = _cluster_phase(job, rows, stage_dir)
    info["scan_seconds"] = scanned
    write_json_atomic(stage_dir / SUMMARY, info)
    write_json_atomic(marker, {"key": job.key})


def dedup_stage(run: RunDir, upstream: str, config: DedupConfig | None = None, name: str = "dedup") -> Stage:
    """Exact + near-duplicate removal over one completed upstream stage."""
    config = config or DedupConfig()
    params = config.model_dump(mode="json", exclude={"workers"})
    if config.near:
        params["bands"], params["rows"] = config.band_rows()
    inputs = [stage_input(run, upstream)]
    key = hashlib.sha256(orjson.dumps({"inputs": inputs, "params": params}, option=orjson.OPT_SORT_KEYS)).hexdigest()
    stage_dir = run.stage_dir(name)
    scratch = stage_dir / SCRATCH
    shards = run.shard_paths(upstream)
    job = ScanJob(shards, config, scratch, key)
    return Stage(
        name=name,
        tasks=[DedupTask(path, scratch / f"decide-{i:05d}.json") for i, path in enumerate(shards)],
        inputs=inputs,
        params=params,
        total=run.count(upstream),
        prepare=lambda executor: _prepare(run, job, stage_dir, executor),
        cleanup=lambda: rmtree(scratch),
        workers=config.workers,
    )


def build_stage(run: RunDir, upstream: str, recipe: Recipe) -> Stage:
    """The recipe's `dedup:` section as a stage (its section model validates the section)."""
    return dedup_stage(run, upstream, recipe.section("dedup", DedupConfig))
