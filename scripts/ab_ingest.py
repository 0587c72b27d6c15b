"""Before/after CPU of `cqia ingest import`: two code trees run in turn on one bench corpus.

Wall time on a shared machine mostly measures the other jobs; CPU time (user + sys of the whole
process tree, workers included) is the steadier measure. Runs alternate (before, after, before,
...) so a change in load hits both sides, and the medians are printed.

    python scripts/ab_ingest.py --before /path/to/old/checkout --records 100000 --pairs 3

The corpus is the one `bench_foundation.py` builds (alpaca JSON Lines from the real sample).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_foundation import FIXED_MTIME, make_corpus  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def run_once(tree: Path, corpus: Path, run_dir: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process tree) of one `cqia ingest import`."""
    shutil.rmtree(run_dir, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "curation.cli", "ingest", "import", "--format", "alpaca", str(corpus),
                    "--source", "bench", "--run", str(run_dir)], cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="Checkout of the old code")
    parser.add_argument("--after", type=Path, default=REPO, help="Checkout of the new code (default: this one)")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--work", type=Path, help="Work folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cqia-ab-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        corpus = work / f"corpus-{args.records}.jsonl"
        if not corpus.exists():
            make_corpus(corpus, args.records)
            os.utime(corpus, (FIXED_MTIME, FIXED_MTIME))
        results: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
        for _ in range(args.pairs):
            for side, tree in (("before", args.before), ("after", args.after)):
                wall, cpu = run_once(tree.resolve(), corpus, work / f"run-{side}")
                results[side].append((wall, cpu))
                print(f"{side}: wall {wall:.2f} s, CPU {cpu:.2f} s, load {os.getloadavg()[0]:.1f}", flush=True)
        for side, values in results.items():
            print(f"{side}: median wall {statistics.median(w for w, _ in values):.2f} s, "
                  f"median CPU {statistics.median(c for _, c in values):.2f} s")


if __name__ == "__main__":
    main()
