"""PII detection on Chinese text: checksums, typed placeholders, hard negatives, measured targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.stages.pii import (
    CHECKSUM_TYPES,
    detect_and_redact,
    find_pii,
    id_card_valid,
    luhn_valid,
)
from curation.stages.pii.score import load_cases, score

LABELLED = Path(__file__).resolve().parents[2] / "fixtures" / "pii" / "labelled.jsonl"


def test_id_card_check_digit() -> None:
    assert id_card_valid("11010519491231002X")
    assert not id_card_valid("110105194912310021")  # wrong check digit
    assert not id_card_valid("110105194913310028")  # month 13


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


def test_typed_placeholders() -> None:
    text = "手机13812345678，身份证11010519491231002X，邮箱li.na@163.com，QQ：12345678"
    out, counts = detect_and_redact(text)
    assert out == "手机<MOBILE>，身份证<ID_CARD>，邮箱<EMAIL>，QQ：<QQ>"
    assert counts == {"mobile": 1, "id_card": 1, "email": 1, "qq": 1}


@pytest.mark.parametrize("text", [
    "订单号6222020200112233445已发货",
    "ISBN 978-7-111-54742-6",
    "会议时间2023-10-01 14:30",
    "总价￥13812.00元",
    "身份证号110105194912310021校验位错误",
    "QQ音乐里有这首歌",
])
def test_hard_negatives(text: str) -> None:
    assert find_pii(text) == []


def test_redaction_can_be_limited_to_types_or_turned_off() -> None:
    text = "电话13812345678，邮箱a.b@example.com"
    assert detect_and_redact(text, types=["email"])[0] == "电话13812345678，邮箱<EMAIL>"
    assert detect_and_redact(text, do_redact=False) == (text, {"mobile": 1, "email": 1})


def test_labelled_set_meets_targets() -> None:
    cases = load_cases(LABELLED)
    assert len(cases) >= 300
    assert sum(c.lookalike_only for c in cases) >= 100  # hard negatives are a real share
    result = score(cases)["per_type"]
    for kind in CHECKSUM_TYPES:
        assert result[kind]["recall"] >= 0.99 and result[kind]["precision"] >= 0.95, (kind, result[kind])
    for kind, r in result.items():
        assert r["precision"] >= 0.9 and r["recall"] >= 0.9, (kind, r)
