#!/usr/bin/env python
"""The dedup stage alone (default settings) over a run directory's completed `filter` stage, as a
new stage NAME: prints wall seconds (imports apart), its phases' seconds (from the summary) and
the CPU seconds of this process and its worker processes. Use it to compare code versions in
alternating runs on a shared machine, where CPU time is steadier than wall time; compare their
outputs with `cmp RUN/NAME/* RUN/OTHER/*`.

    python scripts/bench_curation.py --n 200000 --repeat 1 --no-dj --out DIR   # makes DIR/run-default
    python scripts/bench_dedup_stage.py DIR/run-default dedup-try --workers 2
"""

from __future__ import annotations

import time

started = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
from pathlib import Path  # noqa: E402

from curation.pipeline.executors import LocalExecutor  # noqa: E402
from curation.pipeline.rundir import RunDir  # noqa: E402
from curation.pipeline.runner import run_stage  # noqa: E402
from curation.stages.dedup import DedupConfig, dedup_stage  # noqa: E402
from curation.stages.dedup.stage import SUMMARY  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="Run directory with a completed `filter` stage.")
    parser.add_argument("name", help="Stage name to write (recomputed every time).")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    imported = time.perf_counter()
    run = RunDir(args.run)
    result = run_stage(run, dedup_stage(run, "filter", DedupConfig(), name=args.name), force=True,
                       progress=False, executor=LocalExecutor(args.workers))
    done = time.perf_counter()
    summary = json.loads((run.stage_dir(args.name) / SUMMARY).read_text())
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "imports": round(imported - started, 2), "stage": round(done - imported, 2),
        "scan": summary.get("scan_seconds"), "cluster": summary.get("cluster_seconds"),
        "evidence": summary.get("evidence_seconds"),
        "cpu_self": round(own.ru_utime + own.ru_stime, 2),
        "cpu_children": round(children.ru_utime + children.ru_stime, 2),
        "kept": result.manifest["counts"]["kept"],
    }))


if __name__ == "__main__":
    main()
