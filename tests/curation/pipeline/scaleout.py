"""Shared by the executor, Ray and object-storage tests: a small real pipeline run through the CLI
(in-process) and a byte-level digest of everything it wrote."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from curation.cli.demo import DEMO_DATA, DEMO_IMPORTS

# Real sample files (../shared/samples): 100 CMMLU rows and 651 LogiQA items, with exact and
# near duplicates among them, so dedup has clusters that span shards.
SAMPLE_INGESTS = [
    ("exam", ["exam/cmmlu__dev_logical.csv", "exam/cmmlu__dev_chinese_civil_service_exam.csv",
              "exam/cmmlu__dev_high_school_mathematics.csv", "exam/cmmlu__dev_ancient_chinese.csv"]),
    ("logiqa", ["exam/logiqa__zh_test.txt"]),
]
DECONTAM_AGAINST = "exam/cmmlu__dev_logical.csv"


def cqia(*args: Any) -> None:
    """Run one `cqia` command in-process; fail the test on a non-zero exit."""
    import typer
    from typer.main import get_command

    from curation.cli import app

    try:
        code = get_command(app).main([str(a) for a in args], prog_name="cqia", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    assert not code, f"`cqia {' '.join(map(str, args))}` exited {code}"


def run_pipeline(run: Any, samples: Path, release: Path, *executor_args: str, shard_size: int = 60) -> None:
    """ingest (embedded demo files + two sample families) -> validate -> curate (clean, filter,
    dedup) -> decontam -> release build, every step with the given executor options."""
    for source, fmt, files in DEMO_IMPORTS:
        cqia("ingest", "import", *[DEMO_DATA / f for f in files], "--format", fmt, "--source", source,
             "--run", run, "--shard-size", 5, *executor_args)
    for command, files in SAMPLE_INGESTS:
        cqia("ingest", command, *[samples / f for f in files], "--run", run, "--shard-size", shard_size,
             "--no-progress", *executor_args)
    cqia("run", "validate", run, *executor_args)
    cqia("curate", run, *executor_args)
    cqia("decontam", run, "--against", samples / DECONTAM_AGAINST, *executor_args)
    cqia("release", "build", run, "--out", release, "--overwrite", *executor_args)


def digest_tree(root: Any) -> dict[str, str]:
    """sha256 of every output file under a run or release directory, by relative path: record and
    reject shards, the dedup report, Parquet files and the card. Left out: manifests, markers and
    dedup_summary.json (they hold timings), run.json, and caches."""
    out = {}
    for path in sorted(_walk(root)):
        rel = str(path)[len(str(root)):].lstrip("/")
        name = rel.rsplit("/", 1)[-1]
        if rel.startswith(("_cache", "llm-cache", "_raw_cache")) or "/_progress/" in f"/{rel}":
            continue
        if name.endswith((".jsonl", ".parquet")) or name == "README.md":
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _walk(root: Any):
    for path in root.rglob("*"):
        if path.is_file():
            yield path


def manifests(run: Any) -> dict[str, dict[str, Any]]:
    """Each stage's counts and shard list (the deterministic part of its manifest)."""
    out = {}
    for stage in orjson.loads((run / "run.json").read_bytes())["stages"]:
        data = orjson.loads((run / stage / "_MANIFEST.json").read_bytes())
        out[stage] = {"counts": data["counts"], "shards": data["shards"], "fingerprint": data["fingerprint"]}
    return out


def wait_for(predicate: Any, timeout: float, step: float = 0.05) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


class StageInThread:
    """`run_stage` in a background thread, so a test can kill a Ray worker while the stage runs."""

    def __init__(self, run: Any, stage: Any, executor: Any) -> None:
        from curation.pipeline.runner import run_stage

        self.outcome: dict[str, Any] = {}

        def go() -> None:
            try:
                self.outcome["manifest"] = run_stage(run, stage, progress=False, executor=executor).manifest
            except BaseException as exc:  # re-raised by finish()
                self.outcome["error"] = exc

        self.thread = threading.Thread(target=go)
        self.thread.start()

    def finish(self, timeout: float = 240) -> dict[str, Any]:
        """Wait for the stage; its manifest (fails the test if it raised or is still running)."""
        self.thread.join(timeout=timeout)
        assert not self.thread.is_alive(), "the stage did not finish"
        if "error" in self.outcome:
            raise self.outcome["error"]
        return self.outcome["manifest"]
