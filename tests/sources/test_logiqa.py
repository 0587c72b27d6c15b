"""sources/logiqa.py on the real LogiQA 1.0 (zh_test.txt, zh_eval.txt) and LogiQA 2.0 (dev_zh) samples,
and hand-written malformed inputs. Expected values were read off the files with `sed -n`."""

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


def test_zh_eval_lowercase_option_marker(samples_dir: Path) -> None:
    """logiqa__zh_eval.first500blocks.txt: 500 blocks; the block at line 314 writes its option D as "d."."""
    path = samples_dir / "logiqa" / "logiqa__zh_eval.first500blocks.txt"
    out = list(iter_logiqa([path]))
    assert len(out) == 500 and all(isinstance(o, CuratedRecord) for o in out)
    block = _at(out, 314)
    assert block.record.input.split("\n")[3] == "D. 生育率不与育龄妇女数量成正比。"
    assert block.record.output == "答案：D. 生育率不与育龄妇女数量成正比。"
    assert block.provenance.extra["question_number"] == "24"


def test_logiqa2_json_lines(samples_dir: Path) -> None:
    """LogiQA 2.0 dev_zh (.txt upstream, one JSON object per line; answer is a 0-based index)."""
    path = samples_dir / "logiqa" / "logiqa2.0__LOGIQA_dev_zh.first300.jsonl"
    out = list(iter_logiqa([path]))
    assert len(out) == 300 and all(isinstance(o, CuratedRecord) for o in out)
    first = out[0]
    assert first.record.instruction.startswith("政治家-我们应该对进口水果征收关税")
    assert first.record.instruction.endswith("\n政治家的建议最符合哪个以下原则之一？")
    assert first.record.input.split("\n")[3] == "D. 社会问题有时应该优先于经济效率。"
    assert first.record.output == "答案：D. 社会问题有时应该优先于经济效率。"  # answer 3
    assert first.provenance.location == f"{path}:1" and first.provenance.license == "CC BY-NC-SA 4.0"
    assert first.provenance.source_id == f"logiqa2/{path.name}/9775"
    assert first.provenance.extra["benchmark"] == "LogiQA 2.0"


def test_logiqa2_bad_lines_and_nli(tmp_path: Path) -> None:
    """Imitates csitfun/LogiQA2.0 logiqa/DATA/LOGIQA/dev_zh.txt and logiqa2nli/DATA/QA2NLI/dev.txt lines."""
    path = tmp_path / "dev_zh.txt"
    path.write_text(
        '{"id": 1, "answer": 4, "text": "甲", "question": "问", "options": ["a", "b", "c", "d"]}\n'
        '{"premise": "前提", "hypothesis": "假设", "label": "entailed"}\n'
        'not json\n'
        '{"id": 2, "answer": 1, "text": "乙", "question": "问", "options": ["a", "", "c", "d"]}\n', encoding="utf-8")
    out = list(iter_logiqa([path]))
    assert [(o.reason, o.location.rsplit(":", 1)[1]) for o in out] == [
        ("bad_answer", "1"), ("unknown_layout", "2"), ("json_decode", "3"), ("empty_option", "4")]
    assert "NLI pair" in out[1].detail
