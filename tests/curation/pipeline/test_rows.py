"""row_json must write exactly the bytes of the model path (row_to_record + pydantic-core);
source_and_stats must read exactly what a full parse of the row gives, or decline."""

from __future__ import annotations

import orjson

from curation.pipeline.rows import row_json, row_to_record, source_and_stats
from schemas import CuratedRecord, InstructionRecord, Provenance, TaskType


def _model_bytes(row: dict) -> bytes:
    record = row_to_record(row)
    return record.__pydantic_serializer__.to_json(record)


def _row(**stats: object) -> dict:
    record = CuratedRecord(
        id="0123456789abcdef", source="zhihu",
        record=InstructionRecord(instruction="什么是“量子纠缠”？", input="", output="答：两个粒子……\n\t缩进 😀 \u2028",
                                 task_type=TaskType(major=["问答"], minor=["物理"]), domain=["百科"],
                                 answer_from="human", human_verified=False),
        provenance=Provenance(url="https://www.zhihu.com/question/1", location="a.jsonl:3",
                              extra={"votes": 12, "tags": ["物理", "科普"], "nested": {"x": None}}),
    )
    row = orjson.loads(record.__pydantic_serializer__.to_json(record))
    row["stats"] = dict(stats)
    return row


def test_same_bytes_as_the_model_path_for_stage_rows() -> None:
    row = _row(len_output=23, cjk_ratio=0.8123, lang_score=1e-05, tiny=1e-7, big=1e16, neg=-0.0, whole=2.0,
               pii={"email": 1}, clean={"rules": ["html", "whitespace"]}, truncated=None, lang="zh",
               odd="\x00\x1f\x7f\x9f\u2028\"\\/")
    assert row_json(row) == _model_bytes(row)


def test_rows_without_the_model_layout_take_the_model_path() -> None:
    row = _row(words=3)
    del row["drop_reason"]  # pydantic fills the default; orjson alone would not
    reordered = {"source": row["source"], **{k: v for k, v in row.items() if k != "source"}}
    beyond_64_bits = _row(votes=2**70)
    for case in (row, reordered, beyond_64_bits):
        assert row_json(case) == _model_bytes(case)
    assert b'"drop_reason":null' in row_json(row)


def test_source_and_stats_reads_what_the_full_parse_reads_or_declines() -> None:
    tricky = ',"stats":{"a":1},"drop_reason":null}'  # inside strings: escaped, never taken for keys
    rows = [
        _row(len_output=23, cjk_ratio=0.8123, pii={"email": 1}, clean={}, truncated=None),
        _row(note=tricky, nested={"stats": {"x": 1}, "drop_reason": None}),  # a nested "stats" key last
        _row(stats={"stats": {}}, drop_reason=None),
        _row(),
    ]
    rows[1]["provenance"]["extra"]["stats"] = {"votes": 3}  # a nested "stats" key before the row's own
    rows[3]["source"] = "知乎\u2028"
    rows[3]["record"]["output"] = tricky
    rows[3]["id"] = "id with , \",\"source\":\"x"
    for row in rows:
        line = row_json(row) + b"\n"
        full = orjson.loads(line)
        expected = None if "\"" in row["id"] else (full["source"], full["stats"])  # escapes: declined
        assert source_and_stats(line) == expected
        assert source_and_stats(line[:-1]) == expected
    escaped = _row(words=1)
    escaped["source"] = 'odd"source'
    assert source_and_stats(row_json(escaped)) is None
    dropped = _row(words=1)
    dropped["drop_reason"] = "char_repetition"
    no_stats_last = {k: v for k, v in _row(words=1).items() if k != "stats"}
    no_stats_last["stats"] = {"words": 1}  # stats after drop_reason: not the runner's layout
    nested_last = _row(inner={"a": 1, "stats": {"x": 1}})  # the last `,"stats":` is not the row's own
    assert orjson.dumps(nested_last).endswith(b',"stats":{"x":1}}},"drop_reason":null}')
    for row in (dropped, no_stats_last, nested_last):
        assert source_and_stats(orjson.dumps(row)) is None
    assert source_and_stats(b'{"id":"x","source":"s","stats":[1],"drop_reason":null}') is None
