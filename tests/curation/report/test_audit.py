"""Audit checks on hand-made fields: each defect kind found where it is, nothing found where it is not."""

from __future__ import annotations

from curation.pipeline.recipe import load_recipe
from curation.report.audit import (
    AuditChecks,
    AuditItem,
    diff_snippet,
    mask,
    schema_defects,
    visible,
    working_row,
)

CLEAN = {
    "instruction": "中国的首都是哪里？", "input": "", "output": "中国的首都是北京。",
    "task_type": {"major": ["问答"], "minor": ["百科问答"]}, "domain": ["百科"], "metadata": "暂无元数据信息",
    "answer_from": "human", "human_verified": True, "copyright": "暂无版权及作者信息",
}


def _check(fields: dict, fmt: str = "coig-cqia", config: str = "demo") -> list[dict]:
    checks = AuditChecks(load_recipe(None))
    row = checks.check(working_row(AuditItem("f.jsonl:1", config, fmt, fields)))
    return row["stats"]["defects"]


def test_a_clean_record_has_no_defect() -> None:
    assert _check(CLEAN) == []


def test_schema_defects_name_the_field() -> None:
    bad = {**CLEAN, "answer_from": "expert", "domain": [], "extra": 1}
    kinds = {d["kind"]: d for d in schema_defects(bad, "coig-cqia")}
    assert set(kinds) == {"schema.answer_from", "schema.domain", "schema.unknown_field"}
    assert "'expert'" in kinds["schema.answer_from"]["example"]
    # Alpaca items have no labels to check: only their text fields
    assert schema_defects({"instruction": "问", "input": "", "output": "答"}, "alpaca") == []


def test_each_cleaning_defect_is_found_with_a_visible_example() -> None:
    fields = {**CLEAN, "instruction": "题目\f里有换页符", "input": "下列城市中哪个是首都？A. 北京 B. 上海 C. 广州 D. 深圳\nA",
              "output": "北京是中国的首都。北京是中国的首都。它有三千多年历史，Ａ股交易所不在这里"}
    found = {d["kind"]: d for d in _check(fields)}
    assert {"clean.control_chars", "clean.dangling_option", "clean.dup_sentences",
            "clean.fullwidth_ascii"} <= set(found)
    assert "\\u000c" in found["clean.control_chars"]["example"]  # the invisible \f made visible
    assert found["clean.dangling_option"]["field"] == "input"


def test_pii_is_found_and_masked_and_filters_say_what_they_would_drop() -> None:
    fields = {**CLEAN, "output": "My phone is 13812345678, call me any time after work please, thanks a lot."}
    found = {d["kind"]: d for d in _check(fields)}
    assert "pii.mobile" in found and "13812345678" not in found["pii.mobile"]["example"]
    assert found["pii.mobile"]["example"].startswith("138")
    assert "filter.low_cjk_ratio" in found


def test_helpers() -> None:
    assert visible("a\u200bb\n") == "a\\u200bb⏎"
    assert diff_snippet("北京 大学", "北京大学") == "北京 大学 → 北京大学"
    assert mask("13812345678") == "138******78"
