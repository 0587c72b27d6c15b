"""Probe schema contracts: placeholder, mutation lineage, probe kinds, score ranges."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.probes import JailbreakTemplate, Judgement, Probe, is_misleading


def test_template_needs_placeholder_and_renders_with_braces():
    with pytest.raises(ValidationError, match="query"):
        JailbreakTemplate(id="t", text="no placeholder")
    t = JailbreakTemplate(id="t", text='JSON {"a": 1} then {query}')
    assert t.render("你是谁？") == 'JSON {"a": 1} then 你是谁？'


def test_mutated_template_needs_lineage():
    with pytest.raises(ValidationError, match="operator"):
        JailbreakTemplate(id="m", text="x {query}", origin="mutated")
    ok = JailbreakTemplate(id="m", text="x {query}", origin="mutated", operator="shorten", parent_ids=["s"])
    assert ok.operator == "shorten"
    with pytest.raises(ValidationError):
        JailbreakTemplate(id="m", text="x {query}", origin="mutated", operator="explode", parent_ids=["s"])


def test_probe_kind_fields():
    with pytest.raises(ValidationError, match="template_id"):
        Probe(id="p", kind="identity", prompt="x", language="zh")
    with pytest.raises(ValidationError, match="pool"):
        Probe(id="p", kind="rse", prompt="x", language="zh")
    p = Probe(id="p", kind="rse", prompt="1+1=?", language="en", pool="numina")
    assert p.chat_messages() == [{"role": "user", "content": "1+1=?"}]


def test_judgement_scores_in_range():
    with pytest.raises(ValidationError, match="outside 1-5"):
        Judgement(probe_id="p", target="t", judge="rse", judge_model="j", prompt_version="v", raw_output="",
                  scores={"overall": 7}, parse_status="ok")


@pytest.mark.parametrize(("text", "expected"), [("I am ChatGPT", True), ("我是Claude", True), ("I am DeepSeek", False),
                                                 ("GPTs are models", True), ("我是通义千问", False)])
def test_misleading_words(text, expected):
    assert is_misleading(text) is expected
