"""Stage runner: counts add up, complete stages are skipped, a kill -9 resumes to identical output."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import Dropped, KeptRaw, Stage, _record_json, map_stage, run_stage
from schemas import CuratedRecord, InstructionRecord, InvalidItem


def _record(i: int, source: str = "demo") -> CuratedRecord:
    return CuratedRecord(
        id=f"r{i:06d}", source=source,
        record=InstructionRecord(
            instruction=f"第{i}个问题是什么？", output=f"这是第{i}个回答。",
            task_type={"major": ["问答"], "minor": ["通用问答"]}, domain=["通用"],
            answer_from="human", human_verified=False,
        ),
    )


def _mixed(n: int):
    def produce(skip: int):
        for i in range(skip, n):
            if i % 10 == 3:
                yield InvalidItem(location=f"input.jsonl:{i + 1}", reason="json_decode", source="demo")
            elif i % 10 == 7:
                yield Dropped(_record(i), "too_short")
            else:
                yield _record(i, "demo" if i % 2 else "other")
    return produce


def test_counts_add_up_per_reason_and_source(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    result = run_stage(run, Stage("ingest-demo", _mixed(95), inputs=[{"n": 95}], shard_size=20), progress=False)
    counts = result.manifest["counts"]
    assert counts["in"] == 95
    assert counts["invalid"] == {"json_decode": 10} and counts["dropped"] == {"too_short": 9}
    assert counts["kept"] == 95 - 19
    for per in counts["by_source"].values():
        assert per["in"] == per["kept"] + per["dropped_total"] + per["invalid_total"]
    assert sum(per["in"] for per in counts["by_source"].values()) == 95
    assert len(list(run.iter_records("ingest-demo"))) == counts["kept"]
    rejects = list(run.iter_rejects("ingest-demo"))
    assert len(rejects) == 19
    invalid = next(r for r in rejects if r["kind"] == "invalid")
    assert invalid["location"] == "input.jsonl:4" and invalid["reason"] == "json_decode"
    dropped = next(r for r in rejects if r["kind"] == "dropped")
    assert dropped["record"]["id"] == "r000007" and dropped["reason"] == "too_short"


def test_kept_raw_writes_the_same_bytes_as_kept(tmp_path: Path) -> None:
    def produce(raw: bool):
        def gen(skip: int):
            for i in range(skip, 30):
                rec = _record(i, "demo" if i % 3 else "other")
                yield KeptRaw(_record_json(rec), rec.source) if raw and i % 2 else rec
        return gen

    run_a, run_b = RunDir(tmp_path / "a"), RunDir(tmp_path / "b")
    a = run_stage(run_a, Stage("s", produce(False), inputs=[], shard_size=7), progress=False).manifest
    b = run_stage(run_b, Stage("s", produce(True), inputs=[], shard_size=7), progress=False).manifest
    assert a["counts"] == b["counts"] and a["counts"]["by_source"]["other"]["kept"] == 10
    assert [f["sha256"] for f in a["shards"]] == [f["sha256"] for f in b["shards"]]
    assert [r.id for r in run_b.iter_records("s")] == [f"r{i:06d}" for i in range(30)]


def test_complete_stage_is_skipped_and_param_change_reruns(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    calls = []

    def produce(skip: int):
        calls.append(skip)
        yield from (_record(i) for i in range(5))

    first = run_stage(run, Stage("s", produce, inputs=[], params={"a": 1}), progress=False)
    second = run_stage(run, Stage("s", produce, inputs=[], params={"a": 1}), progress=False)
    assert not first.skipped and second.skipped and calls == [0]
    third = run_stage(run, Stage("s", produce, inputs=[], params={"a": 2}), progress=False)
    assert not third.skipped and calls == [0, 0]


def test_map_stage_chains_over_upstream(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run_stage(run, Stage("ingest-demo", _mixed(50), inputs=[]), progress=False)

    def keep_even(record: CuratedRecord):
        return record if int(record.id[1:]) % 2 == 0 else Dropped(record, "odd")

    result = run_stage(run, map_stage("filter", run, "ingest-demo", keep_even), progress=False)
    upstream_kept = run.count("ingest-demo")
    counts = result.manifest["counts"]
    assert counts["in"] == upstream_kept == counts["kept"] + counts["dropped"]["odd"]
    assert run.completed_stages() == ["ingest-demo", "filter"]


def _digest_outputs(stage_dir: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(stage_dir.glob("*.jsonl"))
    }


@pytest.mark.parametrize("kill_after_checkpoints", [1, 3])
def test_kill_9_then_rerun_gives_identical_output(tmp_path: Path, kill_after_checkpoints: int) -> None:
    source = tmp_path / "input.jsonl"
    lines = []
    for i in range(60000):
        if i % 997 == 5:
            lines.append("{broken json")
        else:
            lines.append(json.dumps({"instruction": f"问题{i}", "input": "", "output": f"回答{i}" * 3},
                                    ensure_ascii=False))
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "curation.cli", "ingest", "import", "--format", "alpaca", str(source),
           "--source", "demo", "--shard-size", "1000"]
    env = dict(os.environ)

    subprocess.run([*cmd, "--run", str(tmp_path / "clean")], check=True, capture_output=True, env=env)

    killed = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, "--run", str(killed)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    progress = killed / "ingest-demo" / "_progress"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(progress.glob("*.json"))) < kill_after_checkpoints:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "ingest-demo" / "_MANIFEST.json").exists(), "run finished before it was killed"

    rerun = subprocess.run([*cmd, "--run", str(killed)], check=True, capture_output=True, text=True, env=env)
    assert "resumed after" in rerun.stderr
    clean_out = _digest_outputs(tmp_path / "clean" / "ingest-demo")
    assert _digest_outputs(killed / "ingest-demo") == clean_out
    manifest = json.loads((killed / "ingest-demo" / "_MANIFEST.json").read_text())
    assert manifest["counts"]["in"] == 60000
    assert manifest["counts"]["invalid"] == {"json_decode": 61}
    ids = [json.loads(line)["id"] for p in sorted((killed / "ingest-demo").glob("part-*.jsonl"))
           for line in p.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 60000 - 61


def test_unwritable_rejects_and_records_never_stop_the_run(tmp_path: Path) -> None:
    """Raw values JSON cannot hold (bytes, nesting past the serialisers' limits) are written as a
    bounded text rendering; a kept record that cannot be serialised becomes a counted reject."""
    deep: list = []
    for _ in range(300):
        deep = [deep]
    unwritable = _record(2)
    unwritable.provenance.extra["history"] = deep
    outcomes = [
        _record(0),
        InvalidItem(location="in.json#1", reason="schema", source="demo", raw={"blob": b"\xff\x00", "deep": deep}),
        unwritable,
        Dropped(unwritable, "too_short"),
        _record(4),
    ]
    run = RunDir(tmp_path / "run")
    counts = run_stage(run, Stage("ingest-demo", lambda skip: outcomes[skip:], inputs=[]), progress=False).manifest["counts"]
    assert counts["in"] == 5 and counts["kept"] == 2
    assert counts["invalid"] == {"schema": 1, "unserializable": 1} and counts["dropped"] == {"too_short": 1}
    rejects = {r["reason"]: r for r in run.iter_rejects("ingest-demo")}
    assert rejects["schema"]["location"] == "in.json#1" and "raw_unwritable" in rejects["schema"]
    assert len(rejects["schema"]["raw"]) < 5000
    assert rejects["too_short"]["id"] == "r000002" and "depth" in rejects["too_short"]["record_unwritable"]
    assert rejects["unserializable"]["location"] == "r000002"  # no provenance location: the id names it
    assert [r.id for r in run.iter_records("ingest-demo")] == ["r000000", "r000004"]


def test_failed_outside_calls_are_not_final(tmp_path: Path) -> None:
    """A shard holding a failed call is recomputed on resume; a manifest with failed calls is not
    skipped; a stage whose every call failed has no manifest."""
    from curation.pipeline.runner import CallTally, ExternalCallsFailed

    run = RunDir(tmp_path / "run")
    skips: list[int] = []

    def stage(failing: set[int], crash_at: int | None = None) -> Stage:
        tally = CallTally("test service")

        def produce(skip: int):
            skips.append(skip)
            for i in range(skip, 10):
                if i == crash_at:
                    raise KeyboardInterrupt  # the run is cut off here
                if i in failing:
                    tally.failed_with("HTTP 503 from the service")
                    yield InvalidItem(location=f"q.json#{i}", reason="llm_error", source="demo")
                else:
                    tally.succeeded()
                    yield _record(i)
        return Stage("answers", produce, inputs=[], shard_size=2, calls=tally)

    # shards: [0,1] [2,3] [4,5] then cut off at 6; shard 1 holds a failed call
    with pytest.raises(KeyboardInterrupt):
        run_stage(run, stage({3}, crash_at=6), progress=False)
    result = run_stage(run, stage({3}), progress=False)
    assert skips[-1] == 2  # resumed at the shard with the failure, not after shard 2
    assert result.manifest["calls"] == {"service": "test service", "made": 10, "failed": 1,
                                        "errors": {"HTTP 503 from the service": 1}}
    assert result.manifest["counts"]["invalid"] == {"llm_error": 1}
    # failed calls recorded: the next run is not skipped, and now every call succeeds
    again = run_stage(run, stage(set()), progress=False)
    assert not again.skipped and again.manifest["counts"]["kept"] == 10
    assert again.manifest["calls"]["failed"] == 0
    assert run_stage(run, stage(set()), progress=False).skipped

    with pytest.raises(ExternalCallsFailed, match="all 10 test service calls failed"):
        run_stage(run, stage(set(range(10))), force=True, progress=False)
    assert run.manifest("answers") is None


def test_call_errors_in_the_manifest_carry_no_url_credentials() -> None:
    from curation.pipeline.runner import CallTally

    tally = CallTally("LLM answer")
    tally.failed_with("cannot connect to https://bob:s3cret@llm.example:8443/v1: refused")
    assert list(tally.errors) == ["cannot connect to https://***@llm.example:8443/v1: refused"]
