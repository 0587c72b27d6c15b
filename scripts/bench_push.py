"""Benchmark: push a 100k-record, two-config release to the local Hub server, then verify it.

Push time (create repo, preupload, LFS upload, one commit, tag) and verification time (cold-cache
`load_dataset` of every config in a child process + content hash on both sides) are measured
separately. Each run pushes to a fresh repo so every run uploads everything.

    python scripts/bench_push.py            # median of 3 runs
    python scripts/bench_push.py --quick    # 1 run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SAMPLES = Path(os.environ.get("CQIA_SAMPLES", REPO.parent / "shared" / "samples"))
TOKEN = "hf_bench_local_token"


def build_release(root: Path, n: int) -> int:
    """Two configs (60% / 40%) of COIG-CQIA rows made unique from the alpaca-zh sample."""
    import pyarrow.parquet as pq
    from datasets import Dataset

    from schemas.features import release_features

    base = json.loads((SAMPLES / "instruct_zh" / "llama-factory__alpaca_zh_demo.json").read_text("utf-8"))
    sizes = {"general": n * 6 // 10, "exam": n - n * 6 // 10}
    configs = []
    for name, size in sizes.items():
        rows = []
        for i in range(size):
            b = base[i % len(base)]
            rows.append({
                "instruction": f"{b['instruction']}（{name}第{i}题）", "input": b["input"],
                "output": b["output"] if i % 3 else b["output"] + f"\n补充说明：这是第{i}条。",
                "task_type": {"major": ["问答"], "minor": [name]}, "domain": ["通用"],
                "metadata": json.dumps({"source": "alpaca_zh_demo", "idx": i}, ensure_ascii=False),
                "answer_from": "llm", "human_verified": i % 7 == 0, "copyright": "CC BY-NC-SA 4.0",
            })
        (root / name).mkdir(parents=True, exist_ok=True)
        table = Dataset.from_list(rows, features=release_features()).data.table
        pq.write_table(table, root / name / "train-00000-of-00001.parquet")
        configs.append(f"- config_name: {name}\n  data_files:\n  - split: train\n    path: {name}/*")
    (root / "README.md").write_text("---\nlanguage:\n- zh\nconfigs:\n" + "\n".join(configs)
                                    + "\n---\n# bench\n", encoding="utf-8")
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 run instead of the median of 3")
    ap.add_argument("--records", type=int, default=100_000)
    args = ap.parse_args()
    os.environ["HF_HUB_DISABLE_XET"] = "1"
    from rich.console import Console
    from rich.table import Table

    from curation.release.push import push_release

    console = Console()
    runs = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="cqia-bench-push-") as tmp:
        release = Path(tmp) / "release"
        t0 = time.perf_counter()
        size = build_release(release, args.records)
        console.log(f"built {args.records} records, {size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f}s")
        server = subprocess.Popen([sys.executable, "-m", "curation.hubserver", "--data-dir", f"{tmp}/hub",
                                   "--token", f"bench={TOKEN}"], stdout=subprocess.PIPE, text=True, cwd=REPO)
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            push, verify, total = [], [], []
            for i in range(runs):
                t = time.perf_counter()
                r = push_release(release, f"bench/cqia-{i}", tag="v1.0.0", token=TOKEN, endpoint=url,
                                 progress=False)
                total.append(time.perf_counter() - t)
                push.append(r.push_seconds)
                verify.append(r.verify_seconds)
                assert all(c.ok for c in r.checks)
                console.log(f"run {i + 1}: push {r.push_seconds:.2f}s, verify {r.verify_seconds:.2f}s")
        finally:
            server.terminate()
            server.wait(timeout=10)
    table = Table(title=f"release push to local hub: {args.records} records, 2 configs, {size / 1e6:.1f} MB"
                        f" ({'1 run' if runs == 1 else f'median of {runs}'})")
    for col in ("stage", "seconds", "min", "max", "MB/s"):
        table.add_column(col, justify="right" if col != "stage" else "left")
    for name, xs in (("push (repo+upload+commit+tag)", push), ("verify (cold load + hash)", verify),
                     ("total", total)):
        med = statistics.median(xs)
        table.add_row(name, f"{med:.2f}", f"{min(xs):.2f}", f"{max(xs):.2f}", f"{size / 1e6 / med:.1f}")
    console.print(table)


if __name__ == "__main__":
    main()
