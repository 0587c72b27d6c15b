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


def _model_outcome(row: dict) -> tuple[str, object]:
    """What the model path of `validate_row` gives: the reference for the direct check."""
    from pydantic import ValidationError

    from curation.pipeline.rows import row_json
    from curation.stages.validate import VERIFIERS, _unchanged
    from schemas import RAW_TEXT

    try:
        record = CuratedRecord.model_validate(row, context=RAW_TEXT)
    except ValidationError:
        return "invalid", None
    if record.record.human_verified and record.provenance.extra.get("verified_by") not in VERIFIERS:
        return "dropped", None
    if _unchanged(row, record):
        return "kept_raw", row_json(row)
    return "kept", record.model_dump_json().encode()


def _variants() -> list[dict]:
    """A valid row and rows breaking each field's type or validator once (the list mirrors
    schemas/record.py: each model field and validator appears here)."""
    base = orjson.loads(_record(1, verified=True, verified_by="upstream").model_dump_json())
    base["record"].update(input="上下文\t\x01", metadata="元数据", copyright="作者")  # raw text may hold controls
    base["provenance"].update(url="https://x.org/a?b=1", source_id="7", fetched_at="t", raw_sha256="00",
                              license="MIT", author="某人", extra={"verified_by": "upstream", "n": [1, 2.5]})
    base["stats"] = {"chars": 3}
    changes = [
        ("id", 1), ("source", "Demo"), ("source", "-x"), ("source", 3), ("stats", []), ("drop_reason", 5),
        ("drop_reason", "dup"),
        ("record.instruction", " \n"), ("record.instruction", 1), ("record.instruction", "问\x0c"),
        ("record.output", ""), ("record.output", None), ("record.input", None), ("record.input", ""),
        ("record.metadata", "m\x00"), ("record.metadata", 1), ("record.copyright", "c\x7f"),
        ("record.copyright", None), ("record.answer_from", "people"), ("record.answer_from", ["llm"]),
        ("record.answer_from", "llm"), ("record.human_verified", "true"), ("record.human_verified", 1),
        ("record.human_verified", False), ("record.domain", []), ("record.domain", [" "]),
        ("record.domain", ["a\x1b"]), ("record.domain", "通用"), ("record.domain", [1]),
        ("record.task_type.major", []), ("record.task_type.minor", [""]), ("record.task_type.major", ["\x85"]),
        ("record.task_type.minor", ("a",)), ("record.task_type.major", ["a", 2]),
        ("provenance.url", "https://u:p@x.org/"), ("provenance.url", "https://x.org/?token=abc"),
        ("provenance.url", ""), ("provenance.url", None), ("provenance.url", 5),
        ("provenance.location", "f.jsonl:1?api_key=k"), ("provenance.location", "f.jsonl:1"),
        ("provenance.source_id", 7), ("provenance.fetched_at", 1.5), ("provenance.raw_sha256", None),
        ("provenance.license", ["MIT"]), ("provenance.author", True), ("provenance.extra", []),
        ("provenance.extra", {}), ("provenance.extra", {"verified_by": "annotation"}),
        ("provenance.extra", {"verified_by": "someone"}),
    ]
    rows = [("base", base)]
    for path, value in changes:
        row = orjson.loads(orjson.dumps(base))
        *parents, name = path.split(".")
        target = row
        for part in parents:
            target = target[part]
        target[name] = value
        rows.append((f"{path}={value!r}", row))
    missing = orjson.loads(orjson.dumps(base))
    del missing["provenance"]["author"]  # another layout: the model fills the default
    reordered = {k: base[k] for k in reversed(list(base))}
    extra_key = orjson.loads(orjson.dumps(base)) | {"more": 1}
    return [*rows, ("no author", missing), ("reordered", reordered), ("more", extra_key)]


def test_direct_check_gives_the_model_paths_outcome_for_every_rule() -> None:
    """`validate_row` skips the model for rows `_valid_as_is` accepts: for each row breaking one
    rule, the outcome (kind, kept bytes, reject message) must be the model path's."""
    from curation.pipeline.runner import Dropped, Kept, KeptRaw
    from curation.stages.validate import _valid_as_is, validate_row

    accepted = []
    for label, row in _variants():
        kind, data = _model_outcome(row)
        outcome = validate_row("f:1", orjson.loads(orjson.dumps(row)), orjson.dumps(row))
        if _valid_as_is(row):
            accepted.append(label)
            assert kind in ("kept_raw", "dropped"), row  # never a row the model rejects or rewrites
        if isinstance(outcome, KeptRaw):
            assert kind == "kept_raw" and outcome.data == data and outcome.source == row["source"]
        elif isinstance(outcome, Kept):
            assert kind == "kept" and outcome.record.model_dump_json().encode() == data
        elif isinstance(outcome, Dropped):
            assert kind == "dropped"
        else:
            assert kind == "invalid" and outcome.reason == "schema"
    # by hand: the changes that leave the row valid and unchanged (raw text may hold controls in the
    # instruction; an empty url is not scrubbed), and the two unjustified flags (human_verified is
    # true in the base row) the model then drops
    assert accepted == ["base", "drop_reason='dup'", "record.instruction='问\\x0c'", "record.input=''",
                        "record.answer_from='llm'", "record.human_verified=False", "provenance.url=''",
                        "provenance.url=None", "provenance.location='f.jsonl:1'", "provenance.raw_sha256=None",
                        "provenance.extra={}", "provenance.extra={'verified_by': 'annotation'}",
                        "provenance.extra={'verified_by': 'someone'}"]


def test_direct_check_mirrors_the_models_validators() -> None:
    """`_valid_as_is` re-states the models' fields and validators; when they change, it must be
    revisited (this list is what it was written against)."""
    from schemas import TaskType

    def shape(model: type) -> tuple:
        decorators = model.__pydantic_decorators__
        assert not (decorators.model_validators or decorators.validators or decorators.root_validators)
        return ({name: str(f.annotation) for name, f in model.model_fields.items()},
                {name: v.info.fields for name, v in decorators.field_validators.items()},
                model.model_config.get("extra"))

    assert shape(CuratedRecord) == ({"id": "<class 'str'>", "source": "<class 'str'>",
                                     "record": "<class 'schemas.record.InstructionRecord'>",
                                     "provenance": "<class 'schemas.record.Provenance'>",
                                     "stats": "dict[str, typing.Any]", "drop_reason": "str | None"},
                                    {"_config_name": ("source",)}, "forbid")
    assert shape(InstructionRecord) == ({
        "instruction": "<class 'str'>", "input": "<class 'str'>", "output": "<class 'str'>",
        "task_type": "<class 'schemas.record.TaskType'>", "domain": "list[str]", "metadata": "<class 'str'>",
        "answer_from": "typing.Literal['human', 'llm']", "human_verified": "<class 'bool'>",
        "copyright": "<class 'str'>"}, {"_non_empty": ("instruction", "output"), "_input_text": ("input",),
                                        "_clean": ("metadata", "copyright"), "_domains": ("domain",)}, "forbid")
    assert shape(TaskType) == ({"major": "list[str]", "minor": "list[str]"}, {"_labels": ("major", "minor")},
                               "forbid")
    assert shape(Provenance) == ({name: "str | None" for name in ("source_id", "url", "fetched_at", "raw_sha256",
                                                                   "license", "author", "location")}
                                 | {"extra": "dict[str, typing.Any]"}, {"_no_credentials": ("url", "location")},
                                 "forbid")
