#!/usr/bin/env python
"""Curation chain benchmark: cqia's matched chain and full default chain vs data-juicer's matched
chain, plus the I/O ceiling (read + orjson parse + write the same shards with no work), all in one
run, the tools interleaved run by run.

Corpus: scripts/make_bench_corpus.py (real Chinese texts from ../shared/samples, ~150 chars).
data-juicer (.venv-dj, num_proc=2), the matched chain: fix_unicode, whitespace_normalization,
clean_html, clean_email, clean_ip mappers, then text_length, character_repetition (10-grams, 0.5)
and special_characters (0.25) filters.
cqia matched chain (`cqia-matched`): `curate_run` with the packaged `matched` recipe, the same
operations done by our stages (Unicode repair, whitespace, HTML, e-mail + IP redaction, length,
char-repetition and special-character filters), 2 worker processes.
cqia full default chain (`cqia-default`): the default recipe (all cleaning rules, all PII types,
segmentation, language ID, every metric, filter, exact + near dedup), 2 worker processes.
Ceiling: two processes, each reading, parsing and writing half of the input shards.
Reported: median seconds of work (imports excluded), records/s, M chars/s, peak memory (PSS,
process tree), and per cqia chain an `outcome_sha256` over the kept records (canonical JSON, by id)
and every drop/reject (id, stage, reason), so two code versions can be shown to keep the same set:
`--expect FILE` (an earlier `--json` output) fails the run when a hash differs.

    python scripts/bench_curation.py            # 200k records, 3 runs each
    python scripts/bench_curation.py --quick    # 10k records, 1 run
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchcommon import REPO, ensure_data_juicer, last_json, measure, median  # noqa: E402

PY = sys.executable


def outcome_hash(run_dir: Path, stages: list[str]) -> str:
    """sha256 over the last stage's kept records (canonical JSON, sorted by id) and every stage's
    rejects as (stage, id or location, reason): equal hashes = the same kept set, same drops.
    Holds only (id, shard, offset) per record and re-reads rows in id order, so the hash does not
    inflate the peak memory the benchmark samples."""
    import hashlib

    import orjson

    from curation.pipeline.rundir import RunDir

    run = RunDir(run_dir)
    shards = run.shard_paths(stages[-1])
    index = []
    for s, path in enumerate(shards):
        with path.open("rb") as handle:
            offset = 0
            for line in handle:
                index.append((orjson.loads(line)["id"], s, offset))
                offset += len(line)
    index.sort()
    drops = sorted((stage, str(r.get("id") or r.get("location")), str(r.get("reason")))
                   for stage in stages for r in run.iter_rejects(stage))
    digest = hashlib.sha256()
    handles = [path.open("rb") for path in shards]

    def canonical(s: int, offset: int) -> bytes:
        handles[s].seek(offset)
        return orjson.dumps(orjson.loads(handles[s].readline()), option=orjson.OPT_SORT_KEYS)

    try:
        i = 0
        while i < len(index):
            j = i + 1
            while j < len(index) and index[j][0] == index[i][0]:
                j += 1
            # Rows sharing an id (exact re-posts before dedup) in canonical-bytes order.
            for data in sorted(canonical(s, offset) for _, s, offset in index[i:j]):
                digest.update(data + b"\n")
            i = j
    finally:
        for handle in handles:
            handle.close()
    for item in drops:
        digest.update("\t".join(item).encode() + b"\n")
    return digest.hexdigest()


def _ours(corpus: Path, workers: int, recipe_name: str) -> None:
    import time
    from collections import Counter

    sys.path.insert(0, str(REPO))
    from curation.pipeline.recipe import load_recipe
    from curation.pipeline.rundir import RunDir
    from curation.stages.chain import curate_run

    recipe = load_recipe(recipe_name).model_copy(update={"workers": workers})
    run_dir = corpus / f"run-{recipe_name}"
    _link_input(corpus / "run", run_dir)
    started = time.perf_counter()
    results = curate_run(run_dir, recipe, upstream="ingest-bench", force=True, progress=False)
    seconds = time.perf_counter() - started
    stages = [r.manifest["stage"] for r in results]
    reasons = Counter(f"{s}:{r.get('reason')}" for s in stages for r in RunDir(run_dir).iter_rejects(s))
    print(json.dumps({"seconds": seconds, "stages": stages,
                      "stage_seconds": {r.manifest["stage"]: r.manifest.get("timings", {}).get("seconds_this_attempt") for r in results},
                      "kept": results[-1].manifest["counts"]["kept"],
                      "dropped": {r.manifest["stage"]: r.manifest["counts"]["dropped"] for r in results},
                      "reasons": dict(sorted(reasons.items())),
                      "outcome_sha256": outcome_hash(run_dir, stages)}))


def _link_input(src: Path, dst: Path) -> None:
    """A run dir of its own per recipe, sharing the corpus's ingest stage (symlinked)."""
    import shutil

    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    (dst / "ingest-bench").symlink_to((src / "ingest-bench").resolve())
    shutil.copy(src / "run.json", dst / "run.json")


def _dj(corpus: Path, workers: int) -> None:
    import os
    import tempfile
    import time

    with tempfile.TemporaryDirectory() as cache:
        os.environ["HF_DATASETS_CACHE"] = cache
        from data_juicer.core.data import NestedDataset
        from data_juicer.ops import load_ops
        from datasets import load_dataset

        process = [
            {"fix_unicode_mapper": {}},
            {"whitespace_normalization_mapper": {}},
            {"clean_html_mapper": {}},
            {"clean_email_mapper": {}},
            {"clean_ip_mapper": {}},
            {"text_length_filter": {"min_len": 4, "max_len": 20000}},
            {"character_repetition_filter": {"rep_len": 10, "max_ratio": 0.5}},
            {"special_characters_filter": {"max_ratio": 0.25}},
        ]
        for op in process:
            next(iter(op.values()))["num_proc"] = workers
        ops = load_ops(process)
        started = time.perf_counter()
        ds = NestedDataset(load_dataset("json", data_files=str(corpus / "corpus.jsonl"), split="train",
                                        cache_dir=cache))
        for op in ops:
            ds = op.run(ds)
        ds.to_json(str(Path(cache) / "out.jsonl"), force_ascii=False)
        seconds = time.perf_counter() - started
        print(json.dumps({"seconds": seconds, "kept": len(ds), "ops": [next(iter(o)) for o in process]}))


def _copy_shards(paths: list[str], out_dir: str) -> int:
    import orjson

    rows = 0
    for i, path in enumerate(paths):
        with open(path, "rb") as src, open(Path(out_dir) / f"{i}-{Path(path).name}", "wb") as dst:
            for line in src:
                dst.write(orjson.dumps(orjson.loads(line)) + b"\n")
                rows += 1
    return rows


def _ceiling(corpus: Path, workers: int) -> None:
    import tempfile
    import time
    from concurrent.futures import ProcessPoolExecutor

    sys.path.insert(0, str(REPO))
    from curation.pipeline.rundir import RunDir

    paths = [str(p) for p in RunDir(corpus / "run").shard_paths("ingest-bench")]
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        with ProcessPoolExecutor(workers) as pool:
            rows = sum(pool.map(_copy_shards, [paths[i::workers] for i in range(workers)], [out] * workers))
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "kept": rows}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10k records, 1 run.")
    parser.add_argument("--n", type=int)
    parser.add_argument("--repeat", type=int)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="Corpus dir (default runs/bench-curation-<n>).")
    parser.add_argument("--no-dj", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--expect", type=Path, help="An earlier --json output: fail if the kept set differs.")
    parser.add_argument("worker", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, corpus = args.worker
        if kind.startswith("_ours-"):
            _ours(Path(corpus), args.workers, kind.removeprefix("_ours-"))
        else:
            {"_dj": _dj, "_ceiling": _ceiling}[kind](Path(corpus), args.workers)
        return

    sys.path.insert(0, str(REPO / "scripts"))
    from make_bench_corpus import build

    n = args.n or (10_000 if args.quick else 200_000)
    repeat = args.repeat or (1 if args.quick else 3)
    out = args.out or REPO / "runs" / f"bench-curation-{n}"
    corpus = build(n, out)
    base = ["--workers", str(args.workers)]
    tools = {"ceiling": [PY, __file__, *base, "_ceiling"],
             "cqia-matched": [PY, __file__, *base, "_ours-matched"],
             "cqia-default": [PY, __file__, *base, "_ours-default"]}
    if not args.no_dj:
        tools["data-juicer"] = [str(ensure_data_juicer()), __file__, *base, "_dj"]
    runs: dict[str, list[dict]] = {t: [] for t in tools}
    for r in range(repeat):
        for tool, cmd in tools.items():
            m = measure([*cmd, str(out)])
            m.update(last_json(m.pop("stdout")))
            runs[tool].append(m)
            print(f"run {r + 1}/{repeat} {tool}: {m['seconds']:.1f}s work, {m['peak_mem_mb']:.0f} MB", file=sys.stderr)
    results: dict = {"corpus": corpus, "repeat": repeat, "workers": args.workers, "tools": {}}
    for tool, ms in runs.items():
        work = median([m["seconds"] for m in ms])
        results["tools"][tool] = {
            "seconds_median": round(work, 2), "records_per_s": round(n / work),
            "mchars_per_s": round(corpus["chars"] / work / 1e6, 2),
            "peak_mem_mb_median": round(median([m["peak_mem_mb"] for m in ms])),
            "runs_seconds": [round(m["seconds"], 2) for m in ms],
            "detail": {k: v for k, v in ms[-1].items() if k not in ("seconds", "wall_seconds", "peak_mem_mb")},
        }
    t = results["tools"]
    for chain in ("cqia-matched", "cqia-default"):
        hashes = {m["outcome_sha256"] for m in runs[chain]}
        if len(hashes) != 1:
            raise SystemExit(f"{chain}: runs of the same code disagree on the outcome: {hashes}")
        results[chain] = {"share_of_ceiling": round(t["ceiling"]["seconds_median"] / t[chain]["seconds_median"], 3),
                          "outcome_sha256": hashes.pop()}
        if "data-juicer" in t:
            results[chain]["speedup_vs_data_juicer_matched"] = round(
                t["data-juicer"]["seconds_median"] / t[chain]["seconds_median"], 2)
    text = json.dumps(results, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    if args.expect:
        expected = json.loads(args.expect.read_text())
        for chain in ("cqia-matched", "cqia-default"):
            before, now = expected.get(chain, {}).get("outcome_sha256"), results[chain]["outcome_sha256"]
            status = "same" if before == now else "DIFFERENT"
            print(f"{chain}: kept records + drop reasons {status} as {args.expect} ({now[:16]})", file=sys.stderr)
            if before != now:
                raise SystemExit(1)


if __name__ == "__main__":
    main()
