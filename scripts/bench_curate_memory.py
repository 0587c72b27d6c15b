#!/usr/bin/env python
"""Peak memory of `cqia curate` (default recipe: clean -> filter -> dedup) at a given corpus size.

Runs `python -m curation.cli curate RUN --upstream ingest-bench --force` as a child process and
samples, every 0.2 s, the RSS of the main process (where per-record state would accumulate:
the workers only ever hold one batch or one shard) and the RSS summed over the process tree.
Prints one JSON line: peaks overall and per stage (by the stage running at the sample), seconds.

    python scripts/bench_curate_memory.py --n 200000            # builds runs/bench-curation-200000
    python scripts/bench_curate_memory.py --n 1000000 --out runs/bench-1m
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchcommon import REPO  # noqa: E402


def _running_stage(run: Path, stages: tuple[str, ...]) -> str:
    """The first stage of the chain without a manifest yet (the one being computed)."""
    return next((s for s in stages if not (run / s / "_MANIFEST.json").exists()), "done")


def measure(run: Path, stages: tuple[str, ...] = ("clean", "filter", "dedup")) -> dict:
    import psutil

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
    return {
        "records": int(json.loads((run / "ingest-bench" / "_MANIFEST.json").read_text())["counts"]["kept"]),
        "seconds": round(time.perf_counter() - started, 1),
        "peak_main_rss_mb": round(max(p["main_rss"] for p in peaks.values()) / mb),
        "peak_tree_rss_mb": round(max(p["tree_rss"] for p in peaks.values()) / mb),
        "per_stage": {s: {k: round(v / mb) for k, v in p.items()} for s, p in peaks.items()},
        "stage_seconds": {s: json.loads((run / s / "_MANIFEST.json").read_text())["timings"]["seconds_this_attempt"]
                          for s in stages},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--out", type=Path, help="Corpus dir (default runs/bench-curation-<n>); reused if built.")
    args = parser.parse_args()
    out = args.out or REPO / "runs" / f"bench-curation-{args.n}"
    if not (out / "run" / "ingest-bench" / "_MANIFEST.json").exists():
        sys.path.insert(0, str(REPO / "scripts"))
        from make_bench_corpus import build

        build(args.n, out)
    print(json.dumps(measure(out / "run")))


if __name__ == "__main__":
    main()
