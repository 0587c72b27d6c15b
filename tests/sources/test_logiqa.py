"""sources/logiqa.py on the real LogiQA zh_test.txt sample and malformed blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import CuratedRecord, InvalidItem
from sources.logiqa import iter_logiqa


@pytest.fixture(scope="module")
def logiqa(samples_dir: Path) -> list:
    return list(iter_logiqa([samples_dir / "exam" / "logiqa__zh_test.txt"]))


def _at(records: list, line: int) -> CuratedRecord:
    return next(r for r in records if r.provenance.location.endswith(f":{line}"))


def test_all_blocks_parse(logiqa: list) -> None:
    assert len(logiqa) == 651 and all(isinstance(o, CuratedRecord) for o in logiqa)
    assert {o.source for o in logiqa} == {"logi_qa"}


def test_first_block(logiqa: list) -> None:
    first = logiqa[0]
    assert first.record.instruction.startswith("某乡镇进行新区规划，决定以市民公园为中心")  # "35." stripped
    assert first.record.instruction.endswith("\n根据以上陈述，可以得出以下哪项？")
    assert first.record.input == "A. 市民公园在行政服务区的北面\nB. 休闲区在文化区的西南\nC. 文化区在商业区的东北\nD. 商业区在休闲区的东南"
    assert first.record.output == "答案：A. 市民公园在行政服务区的北面"
    assert first.provenance.extra["question_number"] == "35"


def test_irregular_markers_and_order(logiqa: list) -> None:
    spaced = _at(logiqa, 18)  # options written "A 没有党参" (no separator)
    assert spaced.record.input.startswith("A. 没有党参\nB. 没有首乌")
    reordered = _at(logiqa, 866)  # the file lists A, C, B, D: letters decide, answer b keeps its text
    assert reordered.record.input.split("\n")[1] == "B. 2号阀和3号阀。"
    assert reordered.record.output == "答案：B. 2号阀和3号阀。"
    numbered_question = _at(logiqa, 1538)  # number on the question line, not the passage
    assert numbered_question.record.instruction.endswith("\n如果J是第一位演讲者，谁一定是第二位演讲者？")
    assert numbered_question.record.output == "答案：B. G"


def test_malformed_blocks(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("\nx\n1.题干\n问题\nA.一\nB.二\nC.三\nD.四\n\nb\n2.题干\n问题\nA.一\nB.二\nC.三\n\n"
                    "c\n3.题干\n问题\nA.一\nA.二\nC.三\nD.四\n", encoding="utf-8")
    out = list(iter_logiqa([path]))
    assert [(o.reason, o.location.rsplit(":", 1)[1]) for o in out] == [
        ("no_answer_line", "2"), ("bad_option", "10"), ("bad_option", "17")]
    assert all(isinstance(o, InvalidItem) and o.source == "logi_qa" for o in out)
