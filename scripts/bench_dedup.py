#!/usr/bin/env python
"""MinHash near-dedup benchmark: cqia's `dedup` stage vs data-juicer's document_minhash_deduplicator.

Same corpus for both (scripts/make_bench_corpus.py: real Chinese texts, ~150 chars, ~12%
generated near-duplicates), same settings (character 5-grams, 256 permutations, Jaccard 0.7,
bands/rows from the threshold), each tool in its own process (data-juicer in .venv-dj with
num_proc=2; cqia with 2 workers). Reported per tool: median seconds of work (load input, dedup,
write output; imports excluded), records/s, M chars/s, process wall time, peak memory
(PSS summed over the process tree), and precision/recall on the labelled pairs (a pair is predicted duplicate when both
records end in the same cluster; labels = generated-as-duplicate, and separately exact
char-5-gram Jaccard >= 0.7). Timing is end to end: read input, dedup, write output.

    python scripts/bench_dedup.py            # 1M records, 3 runs each
    python scripts/bench_dedup.py --quick    # 20k records, 1 run (smoke test)
    python scripts/bench_dedup.py --quick --no-dj --fold-compare   # cost of dedup.fold_script
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchcommon import REPO, ensure_data_juicer, last_json, measure, median  # noqa: E402

PY = sys.executable


def _ours(corpus: Path, labels_out: Path, workers: int, fold_script: bool = True) -> None:
    """Worker: run the dedup stage, then dump each row's cluster label (kept row index)."""
    import time

    import numpy as np

    sys.path.insert(0, str(REPO))
    from curation.pipeline.rundir import RunDir
    from curation.pipeline.runner import run_stage
    from curation.stages.dedup import DedupConfig, dedup_stage

    run = RunDir(corpus / "run")
    started = time.perf_counter()
    stage = dedup_stage(run, "ingest-bench", DedupConfig(workers=workers, fold_script=fold_script),
                        name="dedup-bench")
    manifest = run_stage(run, stage, force=True, progress=False).manifest
    seconds = time.perf_counter() - started
    n = run.count("ingest-bench")
    labels = np.arange(n, dtype=np.int64)
    for _, row in run.iter_rows("dedup-bench", "part"):
        labels[int(row["id"], 16)] = int(row["stats"].get("dedup_cluster", row["id"]), 16)
    for _, row in run.iter_rows("dedup-bench", "rejects"):
        labels[int(row["id"], 16)] = int(row["record"]["stats"]["dedup_cluster"], 16)
    np.save(labels_out, labels)
    summary = json.loads((run.stage_dir("dedup-bench") / "dedup_summary.json").read_text())
    print(json.dumps({"seconds": seconds, "kept": manifest["counts"]["kept"], "summary": summary}))


def _dj(corpus: Path, labels_out: Path, workers: int) -> None:
    """Worker (inside .venv-dj): data-juicer's operator through its own run(), then export."""
    import tempfile
    import time

    import numpy as np

    with tempfile.TemporaryDirectory() as cache:
        import os

        os.environ["HF_DATASETS_CACHE"] = cache  # no cache reuse between runs
        import data_juicer.ops.deduplicator.document_minhash_deduplicator as m
        from data_juicer.core.data import NestedDataset
        from datasets import load_dataset

        captured = {}

        class CapturingUnionFind(m.UnionFind):
            def __init__(self) -> None:
                super().__init__()
                captured["uf"] = self

        m.UnionFind = CapturingUnionFind
        started = time.perf_counter()
        ds = NestedDataset(load_dataset("json", data_files=str(corpus / "corpus.jsonl"), split="train",
                                        cache_dir=cache))
        op = m.DocumentMinhashDeduplicator(tokenization="character", window_size=5, num_permutations=256,
                                           jaccard_threshold=0.7, num_proc=workers)
        out = op.run(ds)
        # Export in one process: forked exporters un-share the parent's pages (14 GB+ at 1M).
        out.to_json(str(Path(cache) / "out.jsonl"), force_ascii=False)
        seconds = time.perf_counter() - started
        uf = captured["uf"]
        labels = np.array([uf.find(i) for i in range(len(ds))], dtype=np.int64)
        np.save(labels_out, labels)
        print(json.dumps({"seconds": seconds, "kept": len(out), "bands": op.num_bands, "rows": op.num_rows_per_band}))


def pair_scores(labels, pairs: list[dict], key: str) -> dict[str, float]:
    tp = fp = fn = 0
    for p in pairs:
        truth = p["label"] if key == "generated" else p["jaccard"] >= 0.7
        pred = bool(labels[p["a"]] == labels[p["b"]])
        tp += truth and pred
        fp += (not truth) and pred
        fn += truth and not pred
    return {"precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
            "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0, "tp": tp, "fp": fp, "fn": fn}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20k records, 1 run.")
    parser.add_argument("--n", type=int)
    parser.add_argument("--repeat", type=int)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="Corpus/cache dir (default runs/bench-dedup-<n>).")
    parser.add_argument("--no-dj", action="store_true", help="Only cqia (no data-juicer comparison).")
    parser.add_argument("--dj-max-n", type=int, default=300_000,
                        help="Skip data-juicer above this many records: at 1M it held >14 GB RSS here.")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--fold-compare", action="store_true",
                        help="Also run cqia with dedup.fold_script off (tool cqia-no-fold).")
    parser.add_argument("--no-fold-script", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("worker", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, corpus, labels = args.worker
        if kind == "_ours":
            _ours(Path(corpus), Path(labels), args.workers, fold_script=not args.no_fold_script)
        else:
            _dj(Path(corpus), Path(labels), args.workers)
        return

    import numpy as np

    sys.path.insert(0, str(REPO / "scripts"))
    from make_bench_corpus import build

    n = args.n or (20_000 if args.quick else 1_000_000)
    repeat = args.repeat or (1 if args.quick else 3)
    out = args.out or REPO / "runs" / f"bench-dedup-{n}"
    corpus = build(n, out)
    print(f"corpus: {corpus['records']} records, {corpus['mean_chars']} chars each, "
          f"{corpus['generated_duplicates']} generated duplicates, {corpus['pairs']} labelled pairs", file=sys.stderr)
    pairs = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    tools = {"cqia": [PY, __file__, "--workers", str(args.workers), "_ours"]}
    if args.fold_compare:
        tools["cqia-no-fold"] = [PY, __file__, "--workers", str(args.workers), "--no-fold-script", "_ours"]
    if not args.no_dj and n > args.dj_max_n:
        print(f"skipping data-juicer: {n} > --dj-max-n {args.dj_max_n} (its memory grows past 14 GB at 1M)",
              file=sys.stderr)
    elif not args.no_dj:
        tools["data-juicer"] = [str(ensure_data_juicer()), __file__, "--workers", str(args.workers), "_dj"]
    runs: dict[str, list[dict]] = {t: [] for t in tools}
    for r in range(repeat):
        for tool, cmd in tools.items():
            labels_path = out / f"labels-{tool}.npy"
            m = measure([*cmd, str(out), str(labels_path)])
            m.update(last_json(m.pop("stdout")))
            runs[tool].append(m)
            print(f"run {r + 1}/{repeat} {tool}: {m['wall_seconds']:.1f}s wall, {m['peak_mem_mb']:.0f} MB",
                  file=sys.stderr)
    results = {"corpus": corpus, "repeat": repeat, "workers": args.workers, "tools": {}}
    for tool, ms in runs.items():
        labels = np.load(out / f"labels-{tool}.npy")
        work = median([m["seconds"] for m in ms])
        results["tools"][tool] = {
            "seconds_median": round(work, 2),
            "records_per_s": round(n / work),
            "mchars_per_s": round(corpus["chars"] / work / 1e6, 2),
            "process_wall_seconds_median": round(median([m["wall_seconds"] for m in ms]), 2),
            "peak_mem_mb_median": round(median([m["peak_mem_mb"] for m in ms])),
            "kept": ms[-1]["kept"],
            "generated_labels": pair_scores(labels, pairs, "generated"),
            "jaccard_labels": pair_scores(labels, pairs, "jaccard"),
            "runs_seconds": [round(m["seconds"], 2) for m in ms],
            "detail": {k: v for k, v in ms[-1].items()
                       if k not in ("seconds", "wall_seconds", "peak_mem_mb", "kept")},
        }
    if "data-juicer" in results["tools"]:
        ours, dj = results["tools"]["cqia"], results["tools"]["data-juicer"]
        results["speedup"] = round(dj["seconds_median"] / ours["seconds_median"], 2)
    text = json.dumps(results, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
