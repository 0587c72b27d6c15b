"""The validate stage: broken rows become located rejects; unjustified verification flags are dropped."""

from __future__ import annotations

from pathlib import Path

import orjson

from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import Stage, run_stage
from curation.stages.validate import validate_stage
from schemas import CuratedRecord, InstructionRecord, Provenance


def _record(i: int, *, verified: bool = False, verified_by: str | None = None) -> CuratedRecord:
    extra = {"verified_by": verified_by} if verified_by else {}
    return CuratedRecord(
        id=f"r{i}", source="demo",
        record=InstructionRecord(instruction=f"问题{i}", output=f"回答{i}", task_type={"major": ["问答"], "minor": ["通用"]},
                                 domain=["通用"], answer_from="human", human_verified=verified),
        provenance=Provenance(location=f"in.jsonl:{i}", extra=extra),
    )


def test_validate_flags_broken_rows_and_unjustified_verification(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    records = [_record(0), _record(1, verified=True), _record(2, verified=True, verified_by="annotation"),
               _record(3, verified=True, verified_by="upstream")]
    run_stage(run, Stage("ingest-demo", lambda skip: records[skip:], inputs=[]), progress=False)
    # corrupt one row by hand, as a careless edit of a shard would
    shard = run.shard_paths("ingest-demo")[0]
    lines = shard.read_bytes().splitlines()
    broken = orjson.loads(lines[0])
    broken["record"]["output"] = "   "
    lines[0] = orjson.dumps(broken)
    shard.write_bytes(b"\n".join(lines) + b"\n")

    result = run_stage(run, validate_stage(run, ["ingest-demo"]), progress=False)
    counts = result.manifest["counts"]
    assert counts["in"] == 4 and counts["kept"] == 2
    assert counts["invalid"] == {"schema": 1} and counts["dropped"] == {"unjustified_human_verified": 1}
    rejects = {r["reason"]: r for r in run.iter_rejects("validate")}
    assert rejects["schema"]["location"] == f"{shard}:1" and "output must not be empty" in rejects["schema"]["detail"]
    assert rejects["unjustified_human_verified"]["id"] == "r1"
    assert [r.id for r in run.iter_records("validate")] == ["r2", "r3"]


def test_validate_turns_damaged_shard_lines_into_located_rejects(tmp_path: Path) -> None:
    """A line that is not JSON, a list instead of an object, a non-string source: rejects, not a crash."""
    run = RunDir(tmp_path / "run")
    records = [_record(i) for i in range(4)]
    run_stage(run, Stage("ingest-demo", lambda skip: records[skip:], inputs=[]), progress=False)
    shard = run.shard_paths("ingest-demo")[0]
    lines = shard.read_bytes().splitlines()
    lines[1] = lines[1][: len(lines[1]) // 2]  # cut mid-row
    lines[2] = b'[1, 2, 3]'
    lines[3] = orjson.dumps({**orjson.loads(lines[3]), "source": ["not", "a", "name"]})
    shard.write_bytes(b"\n".join(lines) + b"\n")

    counts = run_stage(run, validate_stage(run, ["ingest-demo"]), progress=False).manifest["counts"]
    assert counts["in"] == 4 and counts["kept"] == 1 and counts["invalid"] == {"json_decode": 1, "schema": 2}
    rejects = {r["location"]: r for r in run.iter_rejects("validate")}
    assert rejects[f"{shard}:2"]["reason"] == "json_decode" and rejects[f"{shard}:2"]["raw"]
    assert rejects[f"{shard}:3"]["reason"] == "schema" and rejects[f"{shard}:4"]["reason"] == "schema"


def test_validate_checks_structure_and_keeps_raw_text(tmp_path: Path) -> None:
    """Control characters are the cleaner's to repair: validate keeps such a row; a structural
    fault (an empty output) is still a located reject."""
    run = RunDir(tmp_path / "run")
    raw = {"id": "raw", "source": "demo", "provenance": {"location": "in.jsonl:1"},
           "record": {"instruction": "问题\r\n换行\x0b", "input": "\x85", "output": "回答\x00",
                      "task_type": {"major": ["问答"], "minor": ["通用"]}, "domain": ["通用"],
                      "answer_from": "human", "human_verified": False}}
    empty = {**raw, "id": "empty", "record": {**raw["record"], "output": " "}}
    run_stage(run, Stage("ingest-demo", lambda skip: [_record(0)][skip:], inputs=[]), progress=False)
    shard = run.shard_paths("ingest-demo")[0]
    shard.write_bytes(orjson.dumps(raw) + b"\n" + orjson.dumps(empty) + b"\n")

    result = run_stage(run, validate_stage(run, ["ingest-demo"]), progress=False)
    assert result.manifest["counts"]["kept"] == 1 and result.manifest["counts"]["invalid"] == {"schema": 1}
    [kept] = [row for _, row in run.iter_rows("validate")]
    assert kept["record"]["instruction"] == "问题\r\n换行\x0b" and kept["record"]["output"] == "回答\x00"


def test_kept_lines_are_the_model_bytes_whether_or_not_validation_changed_the_row() -> None:
    """A row taken as it is is written from the row (KeptRaw); one validation changed (a default
    filled in, a URL scrubbed, a "true" made a bool) is written from the model: the bytes are the
    model's either way."""
    import orjson

    from curation.pipeline.runner import Kept, KeptRaw
    from curation.stages.validate import validate_row
    from schemas import RAW_TEXT, CuratedRecord

    def row(**changes):
        base = {"id": "a", "source": "s", "record": {
            "instruction": "问\x0c", "input": "", "output": "答 1.5e300", "task_type": {"major": ["x"], "minor": ["y"]},
            "domain": ["通用"], "metadata": "m", "answer_from": "human", "human_verified": False, "copyright": "c"},
            "provenance": {"source_id": None, "url": "https://x.org/", "fetched_at": None, "raw_sha256": None,
                           "license": None, "author": None, "location": "f:1", "extra": {"n": 1.5, "b": [True]}},
            "stats": {"chars": 3, "ratio": 0.1}, "drop_reason": None}
        for path, value in changes.items():
            *parents, last = path.split(".")
            target = base
            for name in parents:
                target = target[name]
            if value is ...:
                del target[last]
            else:
                target[last] = value
        return base

    cases = [(row(), KeptRaw), (row(**{"record.input": ...}), Kept),
             (row(**{"provenance.url": "https://u:p@x.org/?token=abc"}), Kept),
             (row(**{"record.human_verified": "false"}), Kept)]
    for data, kind in cases:
        outcome = validate_row("f:1", orjson.loads(orjson.dumps(data)))
        assert type(outcome) is kind
        model = CuratedRecord.model_validate(data, context=RAW_TEXT)
        expected = model.__pydantic_serializer__.to_json(model)
        assert (outcome.data if kind is KeptRaw else expected) == expected
    assert b"abc" not in CuratedRecord.model_validate(cases[2][0], context=RAW_TEXT).model_dump_json().encode()
