"""Foundation benchmark: throughput and peak RSS of ingest (import → run dir) and release build.

Builds alpaca-format JSONL corpora of N records from the real alpaca-zh sample (each record made
unique by a suffix), then runs `cqia ingest import` and `cqia release build` as separate processes
and samples their RSS. The ceiling is plain orjson read + parse + write of the same file.

    python scripts/bench_foundation.py            # 100k and 1M records, median of 3 (1M: 1 run)
    python scripts/bench_foundation.py --quick    # 20k records, 1 run
    python scripts/bench_foundation.py --quick --work /tmp/fb --expect BEFORE.json  # outputs unchanged?

Each step's output is hashed (stage shards in order; every release file but the run-specific
`cqia_pipeline.yaml`): with the same `--work` folder (the corpus path and a fixed mtime end up in
the records' provenance), `--expect` fails the run when a hash differs from an earlier `--json`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psutil
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
SAMPLES = Path(os.environ.get("CQIA_SAMPLES", REPO.parent / "shared" / "samples"))


def make_corpus(path: Path, n: int) -> int:
    base = json.loads((SAMPLES / "instruct_zh" / "llama-factory__alpaca_zh_demo.json").read_text("utf-8"))
    chars = 0
    with path.open("wb") as out:
        for i in range(n):
            row = dict(base[i % len(base)])
            row["instruction"] = f"{row['instruction']}（第{i}题）"
            chars += len(row["instruction"]) + len(row["input"]) + len(row["output"])
            out.write(orjson.dumps(row) + b"\n")
    return chars


FIXED_MTIME = 1_700_000_000  # the corpus's mtime is every record's fetched_at: fixed, so hashes compare


def tree_hash(root: Path, skip: tuple[str, ...] = ()) -> str:
    """sha256 over the relative paths and bytes of the files under `root` (sorted; progress
    markers and manifests, which hold times, left out)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("_progress/") or path.name == "_MANIFEST.json" or path.name in skip:
            continue
        digest.update(rel.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def measure(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of a command, sampling its process tree every 20 ms."""
    start = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        try:
            rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
            peak = max(peak, rss)
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr.read().decode()[-2000:]}")
    return elapsed, peak


def ceiling(src: Path, dst: Path) -> float:
    start = time.perf_counter()
    with src.open("rb") as inp, dst.open("wb") as out:
        for line in inp:
            out.write(orjson.dumps(orjson.loads(line)) + b"\n")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="*")
    parser.add_argument("--repeats", type=int,
                        help="Runs per size (default: 3 up to 200k records, 1 above; given: every size)")
    parser.add_argument("--work", type=Path, help="Work folder (default: a temporary one); keep it the "
                        "same for runs whose output hashes are compared")
    parser.add_argument("--json", type=Path, help="Write the results (hashes included) here")
    parser.add_argument("--expect", type=Path, help="Results of an earlier run: fail if an output hash differs")
    args = parser.parse_args()
    sizes = args.sizes or ([20_000] if args.quick else [100_000, 1_000_000])
    repeats = 1 if args.quick else args.repeats
    cqia = [sys.executable, "-m", "curation.cli"]
    table = Table(title="Foundation: ingest and release build (medians)")
    for col in ("records", "M chars", "step", "seconds", "records/s", "peak RSS MB", "vs ceiling"):
        table.add_column(col)
    results = []
    hashes: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="cqia-bench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            corpus = work / f"corpus-{n}.jsonl"
            chars = make_corpus(corpus, n)
            os.utime(corpus, (FIXED_MTIME, FIXED_MTIME))
            reps = repeats or (3 if n <= 200_000 else 1)
            ceil = statistics.median(ceiling(corpus, work / "ceiling.jsonl") for _ in range(reps))
            rows: dict[str, list[tuple[float, int]]] = {"ingest": [], "validate": [], "release build": []}
            for _ in range(reps):
                run, out = work / f"run-{n}", work / f"rel-{n}"
                shutil.rmtree(run, ignore_errors=True)
                shutil.rmtree(out, ignore_errors=True)
                rows["ingest"].append(measure([*cqia, "ingest", "import", "--format", "alpaca", str(corpus),
                                               "--source", "bench", "--run", str(run)]))
                rows["validate"].append(measure([*cqia, "run", "validate", str(run)]))
                rows["release build"].append(measure([*cqia, "release", "build", str(run), "--out", str(out)]))
            hashes[f"{n} ingest"] = tree_hash(run / "ingest-bench")
            hashes[f"{n} validate"] = tree_hash(run / "validate")
            hashes[f"{n} release build"] = tree_hash(out, skip=("cqia_pipeline.yaml",))
            for step, values in rows.items():
                secs = statistics.median(v[0] for v in values)
                rss = statistics.median(v[1] for v in values)
                results.append({"records": n, "step": step, "seconds": secs, "peak_rss_mb": rss / 2**20,
                                "ceiling_seconds": ceil, "output_sha256": hashes[f"{n} {step}"]})
                table.add_row(f"{n:,}", f"{chars / 1e6:.1f}", step, f"{secs:.1f}", f"{n / secs:,.0f}",
                              f"{rss / 2**20:.0f}", f"{ceil / secs:.0%}")
            table.add_row(f"{n:,}", f"{chars / 1e6:.1f}", "ceiling (orjson read+write)", f"{ceil:.1f}",
                          f"{n / ceil:,.0f}", "-", "100%")
    Console().print(table)
    print(json.dumps(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.expect:
        before = {f"{r['records']} {r['step']}": r.get("output_sha256") for r in json.loads(args.expect.read_text())}
        differ = [key for key, value in hashes.items() if key in before and before[key] != value]
        if differ:
            sys.exit(f"output differs from {args.expect}: {', '.join(differ)}")
        print(f"outputs identical to {args.expect}: {', '.join(k for k in hashes if k in before)}")


if __name__ == "__main__":
    main()
