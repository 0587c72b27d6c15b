#!/usr/bin/env python
"""Bytes a re-release uploads when 1% of the rows changed: Parquet writer settings compared.

The Hub stores files with Xet: each file is cut into content-defined chunks (gear hash, ~64 KiB,
8-128 KiB) and only chunks the Hub does not hold yet are uploaded. This script estimates that with
the same kind of chunker (a gear hash with its own random table, not Xet's code or server): it
builds release v1 from a benchmark corpus run (scripts/make_bench_corpus.py: real Chinese texts),
changes 1% of the rows, builds v2 with the same writer, and counts

- `new chunk bytes`: bytes of v2's chunks that v1 does not have (what Xet would upload), and
- `changed files`: bytes of v2 files whose content differs from every v1 file (what plain LFS
  uploads),

for `legacy` (zstd, 10k-row row groups, no content-defined chunking: the writer before this
change), `hub-snappy` (release/parquet.py as `datasets` writes for the Hub: CDC, page index,
Snappy, 100 MB row groups) and `hub-zstd` (the same with zstd, the build's default).

Scenarios (1% of rows each): `scattered-edit` (outputs of rows spread uniformly get a sentence),
`clustered-edit` (a contiguous block of rows edited, e.g. one review batch), `clustered-churn`
(a block deleted and as many new rows inserted elsewhere) and `append` (new rows at the end).

    python scripts/bench_release_dedup.py            # 100k records
    python scripts/bench_release_dedup.py --quick    # 20k records
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from curation.pipeline.rundir import RunDir  # noqa: E402
from curation.pipeline.runner import KeptRaw, Stage, run_stage  # noqa: E402
from curation.release.build import build_release  # noqa: E402

TARGET, MIN_CHUNK, MAX_CHUNK = 64 * 1024, 8 * 1024, 128 * 1024
_MASK = np.uint64((TARGET - 1) << 48)  # top 16 bits zero: one boundary per 64 KiB on average
_GEAR = np.random.default_rng(0x6EA5).integers(0, 2**64, size=256, dtype=np.uint64)
WRITERS = {
    "legacy": {"compression": "zstd", "cdc": False, "row_group_bytes": 1},  # batch_rows=10k: a group per batch
    "hub-snappy": {"compression": "snappy", "cdc": True},
    "hub-zstd": {"compression": "zstd", "cdc": True},
}
SCENARIOS = ("scattered-edit", "clustered-edit", "clustered-churn", "append")
EDIT = "（本条答案已在新版本中修订。）"


def chunk_bounds(data: bytes, block: int = 8 << 20) -> list[int]:
    """Chunk end offsets: gear hash h_i = sum_k gear[b_(i-k)] << k (the last 64 bytes decide)."""
    raw = np.frombuffer(data, dtype=np.uint8)
    candidates = []
    for start in range(0, len(raw), block):
        lo = max(0, start - 63)
        g = _GEAR[raw[lo : start + block]]
        h = np.zeros(len(g), dtype=np.uint64)
        for k in range(64):
            h[k:] += g[: len(g) - k] << np.uint64(k)
        hits = np.flatnonzero((h & _MASK) == 0) + lo
        candidates.extend(int(i) + 1 for i in hits if i >= start)
    bounds, last = [], 0
    for end in candidates:
        while end - last > MAX_CHUNK:
            last += MAX_CHUNK
            bounds.append(last)
        if end - last >= MIN_CHUNK:
            bounds.append(end)
            last = end
    while len(data) - last > MAX_CHUNK:
        last += MAX_CHUNK
        bounds.append(last)
    if last < len(data):
        bounds.append(len(data))
    return bounds


def chunks(path: Path) -> list[tuple[bytes, int]]:
    data = path.read_bytes()
    out, start = [], 0
    for end in chunk_bounds(data):
        out.append((hashlib.blake2b(data[start:end], digest_size=16).digest(), end - start))
        start = end
    return out


def release_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def file_chunks(root: Path) -> dict[Path, list[tuple[bytes, int]]]:
    return {f.relative_to(root): chunks(f) for f in release_files(root)}


def upload_estimate(old: dict[Path, list[tuple[bytes, int]]], old_root: Path, new_root: Path) -> dict:
    have = {h for cs in old.values() for h, _ in cs}
    old_files = {hashlib.sha256((old_root / f).read_bytes()).hexdigest() for f in old}
    total = new_bytes = changed = 0
    for f in release_files(new_root):
        size = f.stat().st_size
        total += size
        if hashlib.sha256(f.read_bytes()).hexdigest() not in old_files:
            changed += size
        for h, n in chunks(f):
            if h not in have:
                have.add(h)
                new_bytes += n
    return {"release_bytes": total, "changed_file_bytes": changed, "new_chunk_bytes": new_bytes,
            "new_chunk_share": round(new_bytes / total, 4), "changed_file_share": round(changed / total, 4)}


def changed_run(src: RunDir, dst: Path, scenario: str, share: float, seed: int) -> dict:
    """v2 of the corpus run with `share` of the rows changed as the scenario says."""
    rows = [orjson.loads(line) for path in src.shard_paths("ingest-bench") for line in path.open("rb")]
    rng = random.Random(seed)
    n, k = len(rows), int(len(rows) * share)

    def new_row(j: int, like: dict) -> dict:
        row = orjson.loads(orjson.dumps(like))
        row["id"] = f"new{j:013x}"
        row["record"]["instruction"] = "新问题：" + row["record"]["instruction"]
        return row

    if scenario == "scattered-edit":
        for i in rng.sample(range(n), k):
            rows[i]["record"]["output"] += EDIT
    elif scenario == "clustered-edit":
        start = rng.randrange(n - k)
        for i in range(start, start + k):
            rows[i]["record"]["output"] += EDIT
    elif scenario == "clustered-churn":
        start = rng.randrange(n - k // 2)
        gone = rows[start:start + k // 2]
        del rows[start:start + k // 2]
        at = rng.randrange(len(rows))
        rows[at:at] = [new_row(j, r) for j, r in enumerate(gone)]
    elif scenario == "append":
        rows += [new_row(j, rows[rng.randrange(n)]) for j in range(k)]
    else:
        raise ValueError(scenario)
    run = RunDir(dst)

    def produce(skip: int):
        for row in rows[skip:]:
            yield KeptRaw(orjson.dumps(row), row["source"])

    run_stage(run, Stage("ingest-bench", produce, inputs=[{"scenario": scenario, "seed": seed, "n": n}]),
              force=True, progress=False)
    return {"rows_v1": n, "rows_v2": len(rows), "rows_changed": k}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20k records.")
    parser.add_argument("--n", type=int)
    parser.add_argument("--share", type=float, default=0.01, help="Share of rows changed.")
    parser.add_argument("--out", type=Path, help="Work dir (default runs/bench-release-dedup-<n>).")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    from make_bench_corpus import build

    n = args.n or (20_000 if args.quick else 100_000)
    out = args.out or REPO / "runs" / f"bench-release-dedup-{n}"
    corpus = build(n, out / "corpus")
    v1_run = RunDir(out / "corpus" / "run")
    results: dict = {"records": n, "mean_chars": corpus["mean_chars"], "share": args.share,
                     "chunker": {"target": TARGET, "min": MIN_CHUNK, "max": MAX_CHUNK}, "scenarios": {}}
    runs = {sc: changed_run(v1_run, out / f"v2-{sc}" / "run", sc, args.share, seed=1) for sc in SCENARIOS}
    for name, options in WRITERS.items():
        rel1 = out / f"rel-{name}-v1"
        build_release(v1_run.root, rel1, figures=False, overwrite=True, **options)
        old = file_chunks(rel1)
        for sc, info in runs.items():
            started = time.perf_counter()
            rel2 = out / f"v2-{sc}" / f"rel-{name}"
            build_release(out / f"v2-{sc}" / "run", rel2, figures=False, overwrite=True, **options)
            est = {**upload_estimate(old, rel1, rel2), "seconds": round(time.perf_counter() - started, 1)}
            results["scenarios"].setdefault(sc, {**info, "writers": {}})["writers"][name] = est
            print(f"{sc} {name}: {json.dumps(est)}", file=sys.stderr)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
