#!/usr/bin/env python
"""Peak memory of `cqia curate` (default recipe: clean -> filter -> dedup) at a given corpus size.

Runs `python -m curation.cli curate RUN --upstream ingest-bench --force` as a child process (or,
with `--dedup-only`, `python -m curation.cli dedup RUN --upstream filter --force` over a filter
stage left by an earlier run) and samples, every 0.2 s, the RSS of the main process (where
per-record state would accumulate: the workers only ever hold one batch or one shard) and the RSS
summed over the process tree. Dedup is split into its phases by the files in `dedup/_dedup/`
(1 signatures until every shard's meta file exists, 2 clustering until `clustered.json`, 3 filter).
Prints one JSON line: peaks overall, per stage and dedup phase, seconds, and the sha256 of dedup's
outputs (kept shards, rejects, clusters.jsonl, dedup_summary.json without its timings) so two code
versions can be compared byte for byte.

    python scripts/bench_curate_memory.py --n 200000            # builds runs/bench-curation-200000
    python scripts/bench_curate_memory.py --n 1000000 --out /tmp/bench-1m
    python scripts/bench_curate_memory.py --n 1000000 --out /tmp/bench-1m --dedup-only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchcommon import REPO  # noqa: E402

TIMINGS = ("cluster_seconds", "evidence_seconds", "scan_seconds")


def _running_stage(run: Path, stages: tuple[str, ...]) -> str:
    """The first stage of the chain without a manifest yet (the one being computed); dedup by phase."""
    stage = next((s for s in stages if not (run / s / "_MANIFEST.json").exists()), "done")
    if stage == "dedup":
        scratch = run / "dedup" / "_dedup"
        if (scratch / "clustered.json").exists():
            return "dedup:3-filter"
        shards = len(list((run / "filter").glob("part-*.jsonl")))
        if scratch.exists() and len(list(scratch.glob("meta-*.json"))) >= shards:
            return "dedup:2-clustering"
        return "dedup:1-signatures"
    return stage


def output_hashes(stage: Path) -> dict[str, str]:
    """sha256 of every dedup output file; the summary without its timings."""
    out = {}
    for path in sorted(stage.glob("*.jsonl")):
        out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    summary = {k: v for k, v in json.loads((stage / "dedup_summary.json").read_text()).items() if k not in TIMINGS}
    out["dedup_summary.json"] = hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()
    return out


def measure(run: Path, dedup_only: bool = False) -> dict:
    import psutil

    if dedup_only:
        stages: tuple[str, ...] = ("dedup",)
        cmd = [sys.executable, "-m", "curation.cli", "dedup", str(run), "--upstream", "filter", "--force"]
    else:
        stages = ("clean", "filter", "dedup")
        cmd = [sys.executable, "-m", "curation.cli", "curate", str(run), "--upstream", "ingest-bench", "--force"]
    started = time.perf_counter()
    with open(run.parent / "curate-memory.stderr", "w") as err:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
    main = psutil.Process(proc.pid)
    peaks: dict[str, dict[str, int]] = {}
    while proc.poll() is None:
        try:
            rss = main.memory_info().rss
            tree = rss + sum(c.memory_info().rss for c in main.children(recursive=True))
        except psutil.Error:
            continue
        # --force removes a stage's old manifest when that stage starts; before the first one
        # starts (imports) and after the last one ends, every manifest exists
        stage = _running_stage(run, stages)
        stage = "start-up/exit" if stage == "done" else stage
        peak = peaks.setdefault(stage, {"main_rss": 0, "tree_rss": 0})
        peak["main_rss"], peak["tree_rss"] = max(peak["main_rss"], rss), max(peak["tree_rss"], tree)
        time.sleep(0.2)
    if proc.returncode != 0:
        raise SystemExit(f"curate failed ({proc.returncode}); see {run.parent / 'curate-memory.stderr'}")
    mb = 2**20
    upstream = "filter" if dedup_only else "ingest-bench"
    summary = json.loads((run / "dedup" / "dedup_summary.json").read_text())
    return {
        "command": " ".join(cmd[1:]),
        "records": int(json.loads((run / upstream / "_MANIFEST.json").read_text())["counts"]["kept"]),
        "seconds": round(time.perf_counter() - started, 1),
        "peak_main_rss_mb": round(max(p["main_rss"] for p in peaks.values()) / mb),
        "peak_tree_rss_mb": round(max(p["tree_rss"] for p in peaks.values()) / mb),
        "per_stage": {s: {k: round(v / mb) for k, v in p.items()} for s, p in sorted(peaks.items())},
        "stage_seconds": {s: json.loads((run / s / "_MANIFEST.json").read_text())["timings"]["seconds_this_attempt"]
                          for s in stages},
        "dedup_seconds": {k: summary.get(k) for k in TIMINGS},
        "dedup_outputs_sha256": output_hashes(run / "dedup"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--out", type=Path, help="Corpus dir (default runs/bench-curation-<n>); reused if built.")
    parser.add_argument("--dedup-only", action="store_true",
                        help="Only the dedup stage, over the filter stage of an earlier full run in --out.")
    args = parser.parse_args()
    out = args.out or REPO / "runs" / f"bench-curation-{args.n}"
    if not (out / "run" / "ingest-bench" / "_MANIFEST.json").exists():
        sys.path.insert(0, str(REPO / "scripts"))
        from make_bench_corpus import build

        build(args.n, out)
    print(json.dumps(measure(out / "run", args.dedup_only)))


if __name__ == "__main__":
    main()
