"""Executors and partitioned stages: the bytes do not depend on where or how many ways tasks run;
a killed worker's task is re-run; an s3:// run directory (a real S3-compatible server process)
gives the same bytes as a local one and resumes."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import orjson
import pytest

from curation.pipeline.executors import LocalExecutor
from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import Dropped, Stage, map_stage, run_stage
from curation.pipeline.storage import as_path
from schemas import CuratedRecord, InstructionRecord
from tests.curation.pipeline.scaleout import digest_tree, manifests, run_pipeline


def _record(i: int) -> CuratedRecord:
    return CuratedRecord(
        id=f"r{i:06d}", source="demo" if i % 3 else "other",
        record=InstructionRecord(instruction=f"第{i}个问题是什么？", output=f"这是第{i}个回答。",
                                 task_type={"major": ["问答"], "minor": ["通用问答"]}, domain=["通用"],
                                 answer_from="human", human_verified=False),
    )


def _upstream(run: RunDir, n: int, shard_size: int) -> None:
    run_stage(run, Stage("ingest-demo", lambda skip: (_record(i) for i in range(skip, n)), inputs=[{"n": n}],
                         shard_size=shard_size), progress=False)


def _drop_sevens(record: CuratedRecord):
    return Dropped(record, "seven") if int(record.id[1:]) % 7 == 0 else record


def test_map_stage_has_one_task_per_upstream_shard_and_files_per_task(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    _upstream(run, 95, shard_size=20)
    stage = map_stage("odd", run, "ingest-demo", _drop_sevens)
    assert len(stage.task_list()) == 5  # 20+20+20+20+15 rows upstream
    manifest = run_stage(run, stage, progress=False, executor=LocalExecutor(2)).manifest
    names = [s["path"] for s in manifest["shards"]]
    assert names == ["part-00000.jsonl", "rejects-00000.jsonl", "part-00001.jsonl", "rejects-00001.jsonl",
                     "part-00002.jsonl", "rejects-00002.jsonl", "part-00003.jsonl", "rejects-00003.jsonl",
                     "part-00004.jsonl", "rejects-00004.jsonl"]
    # rows 0..19 -> task 0: 0, 7, 14 dropped
    assert [r["id"] for r in run.iter_rejects("odd")][:3] == ["r000000", "r000007", "r000014"]
    assert manifest["counts"]["dropped"] == {"seven": 14} and manifest["counts"]["kept"] == 95 - 14
    # one marker per task (a task that ends within its first chunk needs no chunk checkpoint)
    markers = sorted(p.name for p in (run.stage_dir("odd") / "_progress").iterdir())
    assert markers == [f"{t:05d}.json" for t in range(5)]


def test_worker_count_does_not_change_the_bytes(tmp_path: Path) -> None:
    outputs = []
    for workers in (1, 2, 3):
        run = RunDir(tmp_path / f"w{workers}")
        _upstream(run, 130, shard_size=17)
        run_stage(run, map_stage("odd", run, "ingest-demo", _drop_sevens), progress=False,
                  executor=LocalExecutor(workers))
        outputs.append(digest_tree(run.root / "odd"))
    assert len(outputs[0]) == 2 * 8 and outputs[0] == outputs[1] == outputs[2]


def _die_once(record: CuratedRecord):
    """Kill this worker process the first time it meets row 45 (a flag file records that)."""
    flag = Path(os.environ["CQIA_TEST_DIE_FLAG"])
    if record.id == "r000045" and not flag.exists():
        flag.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return _drop_sevens(record)


def test_local_pool_reruns_the_task_of_a_killed_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flag = tmp_path / "died"
    monkeypatch.setenv("CQIA_TEST_DIE_FLAG", str(flag))
    reference = RunDir(tmp_path / "ref")
    _upstream(reference, 100, shard_size=10)
    run_stage(reference, map_stage("odd", reference, "ingest-demo", _drop_sevens), progress=False)

    run = RunDir(tmp_path / "run")
    _upstream(run, 100, shard_size=10)
    result = run_stage(run, map_stage("odd", run, "ingest-demo", _die_once), progress=False,
                       executor=LocalExecutor(2))
    assert flag.exists() and int(flag.read_text()) != os.getpid()  # a worker died mid-task
    assert result.manifest["counts"]["in"] == 100
    assert digest_tree(run.root / "odd") == digest_tree(reference.root / "odd")


def test_killed_stage_resumes_only_unfinished_tasks(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    _upstream(run, 60, shard_size=10)
    calls: list[int] = []
    interrupted: list[bool] = []

    def counted(record: CuratedRecord):
        calls.append(int(record.id[1:]))
        if len(calls) == 25 and not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt  # the process is stopped in the middle of task 2
        return _drop_sevens(record)

    with pytest.raises(KeyboardInterrupt):
        run_stage(run, map_stage("odd", run, "ingest-demo", counted), progress=False)
    assert {p.name for p in (run.stage_dir("odd") / "_progress").glob("?????.json")} == {"00000.json", "00001.json"}
    calls.clear()
    result = run_stage(run, map_stage("odd", run, "ingest-demo", counted), progress=False)
    assert sorted(calls) == list(range(20, 60))  # tasks 0 and 1 were not run again
    assert result.resumed_from == 20
    reference = RunDir(tmp_path / "ref")
    _upstream(reference, 60, shard_size=10)
    run_stage(reference, map_stage("odd", reference, "ingest-demo", _drop_sevens), progress=False)
    assert digest_tree(run.root / "odd") == digest_tree(reference.root / "odd")


def test_demo_pipeline_is_the_same_with_one_or_two_local_workers(
    tmp_path: Path, samples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI chain (ingest, validate, curate with dedup, decontam, release build) at the same run
    path with 2 worker processes and with 1: every shard, the dedup report and the release are
    the same bytes."""
    run, release = tmp_path / "run", tmp_path / "release"
    monkeypatch.setenv("CQIA_WORKERS", "2")
    run_pipeline(run, samples_dir, release, "--executor", "local")
    first = digest_tree(run) | {f"release/{k}": v for k, v in digest_tree(release).items()}
    first_manifests = manifests(run)
    shutil.move(run, tmp_path / "first")
    shutil.move(release, tmp_path / "first-release")
    monkeypatch.setenv("CQIA_WORKERS", "1")
    run_pipeline(run, samples_dir, release, "--executor", "local")
    again = digest_tree(run) | {f"release/{k}": v for k, v in digest_tree(release).items()}
    assert again == first and manifests(run) == first_manifests
    dedup = first_manifests["dedup"]
    assert dedup["counts"]["dropped_total"] > 0 and len(dedup["shards"]) > 4
    assert any(k.startswith("release/") and k.endswith(".parquet") for k in first)


def test_s3_run_directory_matches_local_and_resumes(tmp_path: Path, samples_dir: Path, s3_server) -> None:
    """The same CLI chain into s3://bucket/run on a real S3-compatible server (moto_server)."""
    local_run, local_release = tmp_path / "local", tmp_path / "local-release"
    run_pipeline(local_run, samples_dir, local_release, "--executor", "local")
    bucket = s3_server.bucket("cqia-runs")
    remote_url = f"{bucket}/run1"
    remote_release = tmp_path / "remote-release"
    run_pipeline(remote_url, samples_dir, remote_release, "--executor", "local")
    remote = as_path(remote_url)
    assert digest_tree(remote) == digest_tree(local_run)
    assert digest_tree(remote_release) == digest_tree(local_release)
    assert manifests(remote) == manifests(local_run)

    # Kill simulation: the dedup stage lost its manifest and two task markers (and the files of
    # one task); a re-run redoes only those tasks and gives the same bytes.
    stage = remote / "dedup"
    (stage / "_MANIFEST.json").unlink()
    for name in ("_progress/00001.json", "_progress/00002.json", "part-00002.jsonl"):
        (stage / name).unlink()
    from curation.pipeline.recipe import load_recipe
    from curation.stages.chain import curate_run

    results = curate_run(remote_url, load_recipe(), progress=False)
    dedup = next(r for r in results if r.manifest["stage"] == "dedup")
    assert not dedup.skipped and [r.skipped for r in results[:-1]] == [True] * (len(results) - 1)
    assert digest_tree(remote) == digest_tree(local_run)
    rows = [orjson.loads(line) for line in (remote / "dedup" / "clusters.jsonl").read_bytes().splitlines()]
    assert rows and all(len(r["removed"]) >= 1 for r in rows)
