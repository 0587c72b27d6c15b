"""InstructionRecord / CuratedRecord: validation rules and lossless round trips on real data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from schemas import (
    CLEANED_FIELDS,
    COIG_CQIA_FIELDS,
    RAW_TEXT,
    CuratedRecord,
    InstructionRecord,
    Provenance,
    make_record_id,
    text_rule_violation,
)
from schemas.features import release_features


def _real_rows(samples_dir: Path) -> list[dict]:
    path = samples_dir / "coig_cqia" / "cqia_ruozhiba_first20.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _valid(**overrides) -> dict:
    row = {
        "instruction": "什么是细胞理论？", "input": "", "output": "细胞是生命的基本单位。",
        "task_type": {"major": ["问答"], "minor": ["百科问答"]}, "domain": ["百科"],
        "metadata": "暂无元数据信息", "answer_from": "human", "human_verified": False,
        "copyright": "暂无版权及作者信息",
    }
    row.update(overrides)
    return row


def test_every_real_coig_cqia_record_validates_unchanged(samples_dir: Path) -> None:
    rows = _real_rows(samples_dir)
    assert len(rows) == 20
    for row in rows:
        assert set(row) == set(COIG_CQIA_FIELDS)
        assert InstructionRecord.model_validate(row).model_dump() == row


def test_round_trip_jsonl_parquet_datasets(samples_dir: Path, tmp_path: Path) -> None:
    import datasets

    rows = _real_rows(samples_dir)
    records = [InstructionRecord.model_validate(r) for r in rows]
    features = release_features()
    table = pa.Table.from_pylist([r.model_dump() for r in records], schema=features.arrow_schema)
    pq.write_table(table, tmp_path / "train.parquet")
    ds = datasets.Dataset.from_parquet(str(tmp_path / "train.parquet"), cache_dir=str(tmp_path / "cache"))
    assert ds.features == features
    back = [InstructionRecord.model_validate(row) for row in ds]
    assert [b.model_dump() for b in back] == rows


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"instruction": "  "}, "instruction must not be empty"),
        ({"output": ""}, "output must not be empty"),
        ({"instruction": "第一题\f第二题"}, "U+000C"),
        ({"output": "答案\r\n"}, "U+000D"),
        ({"answer_from": "gpt4"}, "answer_from"),
        ({"task_type": {"major": [], "minor": ["百科问答"]}}, "task_type.major must list"),
        ({"task_type": {"major": ["问答"], "minor": [""]}}, "task_type.minor contains an empty"),
        ({"domain": []}, "domain must list"),
        ({"extra_field": 1}, "extra_field"),
    ],
)
def test_invalid_records_are_refused_with_reason(overrides: dict, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        InstructionRecord.model_validate(_valid(**overrides))
    assert message in str(info.value)


def test_raw_text_mode_relaxes_only_the_text_rule_on_cleaned_fields() -> None:
    dirty = {"instruction": "第一题\f第二题", "input": "甲\x00乙", "output": "答案\r\n\x85"}
    record = InstructionRecord.model_validate(_valid(**dirty), context=RAW_TEXT)
    assert (record.instruction, record.input, record.output) == tuple(dirty.values())  # kept as written
    with pytest.raises(ValidationError, match="U\\+000C"):
        InstructionRecord.model_validate(_valid(**dirty))
    # structure and the fields the cleaner does not touch stay strict in raw mode too
    for overrides, message in (({"output": "  "}, "output must not be empty"),
                               ({"copyright": "作者\x07"}, "U+0007"), ({"metadata": "\r"}, "U+000D"),
                               ({"domain": ["百\x01科"]}, "U+0001"), ({"answer_from": "gpt"}, "answer_from")):
        with pytest.raises(ValidationError, match=re.escape(message)):
            InstructionRecord.model_validate(_valid(**overrides), context=RAW_TEXT)
    # nested: the context reaches the record inside the envelope
    envelope = {"id": "x", "source": "demo", "record": _valid(**dirty)}
    assert CuratedRecord.model_validate(envelope, context=RAW_TEXT).record.input == "甲\x00乙"
    with pytest.raises(ValidationError):
        CuratedRecord.model_validate(envelope)


@pytest.mark.parametrize("value", ["干净", "制表\t换行\n", "回车\r", "换页\f", "空\x00", "删\x7f", "C1\x9f", "  有空格  "])
@pytest.mark.parametrize("field", CLEANED_FIELDS)
def test_raw_valid_plus_text_rule_is_exactly_strict_valid(field: str, value: str) -> None:
    """What the clean stage checks (text_rule_violation on CLEANED_FIELDS of a raw-valid record)
    accepts exactly the records strict validation accepts."""
    row = _valid(**{field: value})
    InstructionRecord.model_validate(row, context=RAW_TEXT)  # raw-valid
    clean_stage_ok = all(text_rule_violation(row[f]) is None for f in CLEANED_FIELDS)
    try:
        InstructionRecord.model_validate(row)
        strict_ok = True
    except ValidationError:
        strict_ok = False
    assert clean_stage_ok == strict_ok


def test_tabs_and_newlines_are_allowed() -> None:
    record = InstructionRecord.model_validate(_valid(output="第一步\n\t第二步"))
    assert record.output == "第一步\n\t第二步"


def test_record_id_is_stable_and_source_scoped() -> None:
    assert make_record_id("zhihu", "123") == make_record_id("zhihu", "123")
    assert make_record_id("zhihu", "123") != make_record_id("segmentfault", "123")
    # content ids ignore width/whitespace variants of the same text
    assert make_record_id("x", content="ＡＢＣ  问题") == make_record_id("x", content="ABC 问题")
    with pytest.raises(ValueError):
        make_record_id("x")


def test_record_id_is_the_documented_key_hash() -> None:
    # ids already in runs and releases: sha256 of "source NUL kind NUL value", first 16 hex digits
    import hashlib

    def expected(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]

    for source in ("zhihu", "bench", "源"):
        assert make_record_id(source, "123") == expected(f"{source}\x00id\x00123")
        assert make_record_id(source, "") == expected(f"{source}\x00id\x00")
        assert make_record_id(source, content="问：\x1f\x1f答 ！") == expected(f"{source}\x00content\x00问: 答 !")


def test_release_row_keeps_exactly_nine_fields_and_inverts() -> None:
    curated = CuratedRecord(
        id="abc", source="zhihu", record=InstructionRecord.model_validate(_valid()),
        provenance=Provenance(source_id="42", url="https://www.zhihu.com/question/1/answer/42", author="张三",
                              license="CC BY-NC-SA 4.0", extra={"votes": 10}),
        stats={"len": 10},
    )
    row = curated.release_row()
    assert tuple(row) == COIG_CQIA_FIELDS
    meta = json.loads(row["metadata"])
    assert meta["provenance"]["author"] == "张三" and meta["provenance"]["extra"] == {"votes": 10}
    back = CuratedRecord.from_release_row(row)
    assert back.record == curated.record and back.provenance == curated.provenance and back.id == "abc"


def test_source_must_be_a_config_name() -> None:
    with pytest.raises(ValidationError):
        CuratedRecord(id="a", source="Zhi Hu", record=InstructionRecord.model_validate(_valid()))
