"""The Ray executor on a real two-node Ray cluster on this machine (tests/clusters.py): the demo's
curation gives the same bytes as the local executor, a worker process killed mid-stage costs a
re-run task and nothing else, and workers read and write an s3:// run directory."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from curation.pipeline.executors import LocalExecutor, RayExecutor
from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import Dropped, Stage, map_stage, run_stage
from curation.pipeline.storage import as_path
from schemas import CuratedRecord, InstructionRecord
from tests.clusters import RayCluster
from tests.curation.pipeline.scaleout import (
    StageInThread,
    cqia,
    digest_tree,
    manifests,
    run_pipeline,
    wait_for,
)


@pytest.fixture
def ray_executor(ray_cluster: RayCluster) -> RayExecutor:
    """The session's driver connection (a connection's first tasks start worker processes with
    our code shipped as py_modules: ~15 s on a busy 2-core machine, so it is made once)."""
    assert ray_cluster.executor.workers == 2  # head + second node, one CPU each
    return ray_cluster.executor


def test_demo_curation_on_ray_matches_local_byte_for_byte(
    tmp_path: Path, samples_dir: Path, ray_cluster: RayCluster, ray_executor: RayExecutor
) -> None:
    run, release = tmp_path / "run", tmp_path / "release"
    run_pipeline(run, samples_dir, release, "--executor", "local")
    local = digest_tree(run) | {f"release/{k}": v for k, v in digest_tree(release).items()}
    local_manifests = manifests(run)
    shutil.move(run, tmp_path / "local")
    shutil.move(release, tmp_path / "local-release")

    run_pipeline(run, samples_dir, release, "--executor", "ray", "--ray-address", ray_cluster.address)
    on_ray = digest_tree(run) | {f"release/{k}": v for k, v in digest_tree(release).items()}
    assert on_ray == local
    assert manifests(run) == local_manifests
    import orjson

    dedup = orjson.loads((run / "dedup" / "_MANIFEST.json").read_bytes())
    assert dedup["timings"]["executor"] == "ray" and dedup["counts"]["dropped_total"] > 0
    assert len(dedup["shards"]) > 4 and (run / "dedup" / "clusters.jsonl").stat().st_size > 0


def _record(i: int) -> CuratedRecord:
    return CuratedRecord(
        id=f"r{i:06d}", source="demo",
        record=InstructionRecord(instruction=f"第{i}个问题是什么？", output=f"这是第{i}个回答。",
                                 task_type={"major": ["问答"], "minor": ["通用问答"]}, domain=["通用"],
                                 answer_from="human", human_verified=False),
    )


def _slow_drop_sevens(record: CuratedRecord):
    """Runs in Ray workers (imported from this module: the cluster's PYTHONPATH holds the repo)."""
    time.sleep(0.04)
    return Dropped(record, "seven") if int(record.id[1:]) % 7 == 0 else record


def _upstream(run: RunDir, n: int, shard_size: int) -> None:
    run_stage(run, Stage("ingest-demo", lambda skip: (_record(i) for i in range(skip, n)), inputs=[{"n": n}],
                         shard_size=shard_size), progress=False)


def test_worker_killed_mid_stage_is_rerun_with_identical_output(
    tmp_path: Path, ray_cluster: RayCluster, ray_executor: RayExecutor
) -> None:
    reference = RunDir(tmp_path / "ref")
    _upstream(reference, 240, shard_size=30)
    run_stage(reference, map_stage("slow", reference, "ingest-demo", _slow_drop_sevens), progress=False,
              executor=LocalExecutor(2))

    run = RunDir(tmp_path / "run")
    _upstream(run, 240, shard_size=30)
    running = StageInThread(run, map_stage("slow", run, "ingest-demo", _slow_drop_sevens), ray_executor)
    busy: list[int] = []

    def running_task() -> bool:
        busy[:] = ray_cluster.busy_workers()
        return bool(busy)

    assert wait_for(running_task, timeout=120, step=0.1), "no Ray worker ever ran a task"
    os.kill(busy[0], signal.SIGKILL)
    killed_at = time.time()
    manifest = running.finish()
    assert not wait_for(lambda: _alive(busy[0]), timeout=0.5)
    assert manifest["timings"]["seconds_this_attempt"] > 0 and killed_at
    assert manifest["counts"] == reference.manifest("slow")["counts"]
    assert digest_tree(run.root / "slow") == digest_tree(reference.root / "slow")


def _title(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().split(b"\0")[0].decode("utf-8", "replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return _title(pid) != ""


def test_ray_workers_read_and_write_an_s3_run_directory(
    tmp_path: Path, samples_dir: Path, s3_server, ray_cluster: RayCluster, ray_executor: RayExecutor
) -> None:
    from curation.cli.demo import DEMO_DATA, DEMO_IMPORTS

    def pipeline(run: object, *executor_args: str) -> None:
        for source, fmt, files in DEMO_IMPORTS:
            cqia("ingest", "import", *[DEMO_DATA / f for f in files], "--format", fmt, "--source", source,
                 "--run", run, "--shard-size", 4, *executor_args)
        cqia("run", "validate", run, *executor_args)
        cqia("curate", run, *executor_args)

    local = tmp_path / "local"
    pipeline(local, "--executor", "local")
    url = s3_server.bucket("cqia-ray") + "/run"
    pipeline(url, "--executor", "ray", "--ray-address", ray_cluster.address)
    remote = as_path(url)
    assert digest_tree(remote) == digest_tree(local)
    assert manifests(remote) == manifests(local)
    assert len(manifests(remote)["dedup"]["shards"]) >= 4
