"""sources/exam.py on the real CMMLU / C-Eval CSV and GAOKAO-Bench JSON samples, plus hand-written
fixtures for GAOKAO layouts without a sample and for GBK / malformed CSV.

Expected values were read off the inputs (row counts with `csv.reader`, texts by eye)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from schemas import CuratedRecord, InvalidItem
from sources.choice import split_options
from sources.exam import iter_exam, repair_pdf_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources" / "files"
GAOKAO = "gaokao-bench__2010-2022_Chinese_Lang_and_Usage_MCQs.json"


def _by_item(path: Path) -> tuple[dict[str, CuratedRecord], list[InvalidItem]]:
    """Records keyed by the location after the file ('#5', '#50/18', ':2'), and the rejects."""
    out = list(iter_exam([path]))
    records = {o.provenance.location[len(str(path)):]: o for o in out if isinstance(o, CuratedRecord)}
    rejects = [o for o in out if isinstance(o, InvalidItem)]
    assert len(records) + len(rejects) == len(out)
    return records, rejects


@pytest.fixture(scope="module")
def gaokao(samples_dir: Path) -> dict[str, CuratedRecord]:
    records, rejects = _by_item(samples_dir / "exam" / GAOKAO)
    assert not rejects
    return records


def test_cmmlu_row(samples_dir: Path) -> None:
    records, rejects = _by_item(samples_dir / "exam" / "cmmlu__dev_ancient_chinese.csv")
    assert len(records) == 5 and not rejects
    first = records[":2"]
    assert first.record.instruction == "以下是关于古汉语的单项选择题，请选出正确答案。\n下列四组字中，全是形声字的一组是"
    assert first.record.input == "A. 修约菜苗\nB. 寐融照哀\nC. 问娶分笺\nD. 保禄私空"
    assert first.record.output == "答案：B. 寐融照哀"
    assert first.record.domain == ["古汉语"] and first.record.task_type.minor == ["考试题", "单项选择题"]
    assert first.provenance.source_id == "cmmlu/ancient_chinese/dev/0"
    assert first.provenance.extra["benchmark"] == "CMMLU" and first.provenance.license == "CC BY-NC-SA 4.0"


def test_cmmlu_test_split_latex(samples_dir: Path) -> None:
    records, rejects = _by_item(samples_dir / "exam" / "cmmlu__test_college_actuarial_science.csv")
    assert len(records) == 106 and not rejects  # 107 CSV rows = header + 106 questions
    first = records[":2"]
    assert first.record.domain == ["大学精算学"] and first.provenance.extra["split"] == "test"
    assert first.record.instruction.endswith("则$q_x^{r(2)}=( )$。") and first.record.output == "答案：C. 0.60"


def test_ceval_dev_with_explanation(samples_dir: Path) -> None:
    """C-Eval dev: id,question,A-D,answer,explanation; 4 of 5 rows have quoted multi-line cells."""
    records, rejects = _by_item(samples_dir / "exam" / "mi-optimize__ceval-exam_dev_high_school_chinese_dev.csv")
    assert len(records) == 5 and not rejects
    first = records[":2"]
    assert first.record.instruction == "以下是关于高中语文的单项选择题，请选出正确答案。\n下列各句中，没有语病的一项是____"
    assert first.record.output.startswith("答案：D. 疫情防控期间，群众积累了巨大的消费需求")
    assert first.record.output.endswith("\n\n解析：1. 分析选项：(A)选项“流露”与“脸庞”搭配有误；(B)选项“是因为”“的缘故”重复；"
                                        "(C)选项缺乏主语；(D)选项没有语病。")
    assert first.provenance.source_id == "c-eval/high_school_chinese/dev/0" and first.record.domain == ["高中语文"]
    assert first.provenance.extra["benchmark"] == "C-Eval"


def test_ceval_val_without_explanation(samples_dir: Path) -> None:
    records, rejects = _by_item(samples_dir / "exam" / "mi-optimize__ceval-exam_val_logic_val.csv")
    assert len(records) == 22 and not rejects
    assert records[":2"].record.output == "答案：C. 有规律的锻炼可以减少心脏病发病率并使人的精力更加充沛。"
    assert records[":2"].record.domain == ["逻辑学"] and records[":2"].provenance.extra["split"] == "val"


def test_ceval_test_split_has_no_answers(samples_dir: Path) -> None:
    """Header id,question,A,B,C,D: every row is a located no_answer reject, none is answered."""
    records, rejects = _by_item(samples_dir / "exam" / "mi-optimize__ceval-exam_test_high_school_chinese_test.csv")
    assert not records and len(rejects) == 178
    assert {r.reason for r in rejects} == {"no_answer"}
    assert rejects[0].location.endswith("_test.csv:2") and "unlabelled" in rejects[0].detail


def test_gaokao_single_question_explained(gaokao: dict) -> None:
    first = gaokao["#0"]
    assert first.record.instruction == "下列各句中，加点的成语使用不恰当的一项是（　　）"
    assert first.record.input.split("\n")[1] == (
        "B. 看到果农家里汗牛充栋的黄灿灿的橙子，我深感欣慰，因为这说明我们开发的新品种产量高，品质好．"
    )
    assert first.record.output.startswith("答案：B. 看到果农家里汗牛充栋")
    assert "\n\n解析：A．自命不凡：自以为不平凡，比别人高明。符合语境。\nB．汗牛充栋：" in first.record.output
    assert first.provenance.extra["year"] == "2010" and first.provenance.extra["score"] == 3
    assert first.record.domain == ["语文"] and first.record.task_type.minor == ["考试题", "单项选择题"]


def test_gaokao_blank_runs_and_subquestions(gaokao: dict) -> None:
    assert len(gaokao) == 80  # 44 single questions + 12 items × 3 sub-questions
    ordering = gaokao["#5"]  # blanks drawn with spaces become ____
    assert "我国是食品生产和消费大国，____，____，" in ordering.record.instruction
    sub = gaokao["#50/18"]  # "17. … 18. … 19."; the analysis splits at 【17题详解】【18题详解】…
    assert sub.record.instruction.endswith("\n\n（18）依次填入文中横线上的词语，全都恰当的一项是（　　）")
    assert sub.record.input.split("\n")[0] == "A. 一脉相承 薪火相传 博大精深 源远流长"  # "A" lacked its "．" upstream
    assert sub.record.output.startswith("答案：C. 互为一体 薪火相传 繁荣昌盛 源远流长\n\n解析：【18题详解】")
    assert "【17题详解】" not in sub.record.output and "【19题详解】" not in sub.record.output
    assert sub.provenance.source_id.endswith("/50/18") and sub.provenance.extra["answers"] == ["C"]
    table = gaokao["#31"]  # "A．A B．B C．C D．D" under a table: the table rows are the options
    assert table.record.input.split("\n")[0] == "A. / 这 如果 而且 那么 也"


def test_gaokao_reading_passage_one_record_per_question(samples_dir: Path) -> None:
    records, rejects = _by_item(samples_dir / "exam" / "gaokao-bench__2010-2022_Chinese_Modern_Lit.json")
    assert [(r.location.rsplit("#", 1)[1], r.reason) for r in rejects] == [("27", "no_options"), ("28", "no_options")]
    assert "(3)" in rejects[0].detail  # upstream "（）3A．…": option A glued to a stray "3"
    assert [records[f"#0/{n}"].record.output[3] for n in (1, 2, 3)] == ["C", "A", "D"]  # answer ['C','A','D']
    first = records["#0/1"]
    assert first.record.instruction.startswith("阅读下面文字，完成问题。\n“书”本是指文字符号")  # heading dropped
    assert first.record.instruction.endswith("\n\n（1）下列关于“书”的表述，不符合原文意思的一项是")  # blank: spaces only
    assert first.record.output.split("\n\n解析：")[1].startswith("（1）C项说")
    assert "（2）A项" not in first.record.output
    whole = [k for k in records if "/" not in k]  # items whose analysis does not split stay whole
    assert sorted(whole) == ["#4", "#9"]
    assert len(records) == 25 * 3 + 2


def test_gaokao_subjective_fill_in(samples_dir: Path) -> None:
    records, rejects = _by_item(samples_dir / "exam" / "gaokao-bench__2010-2022_Math_I_Fill-in-the-Blank.json")
    assert len(records) == 81 and not rejects
    first = records["#0"]
    assert first.record.instruction.startswith("设 $y=f(x)$ 为区间 $[0,1]$ 上的连续函数")  # "13. (5 分)" removed
    assert first.record.output.startswith("答案：$\\frac{\\mathrm{N}_{1}}{\\mathrm{~N}}$\n\n解析：解: 由题意可知")
    assert first.record.input == "" and first.record.domain == ["数学"]
    assert first.record.task_type.minor == ["考试题", "填空题"]


def test_gaokao_open_ended_multi_part() -> None:
    """Imitates GAOKAO-Bench Data/Subjective_Questions/2010-2022_History_Open-ended_Questions.json."""
    records, rejects = _by_item(FIXTURES / "gaokao_History_Open-ended.fixture.json")
    item = records["#0"]
    assert item.record.instruction == ("阅读材料，完成下列要求。\n材料一 某朝改革盐法，设盐院，官收盐利。\n"
                                       "（1）根据材料，指出改革的主要内容。\n（2）说明改革的意义。")
    assert item.record.output == "答案：（1）设置盐院；官府专卖。\n（2）增加财政收入。"  # empty analysis: no 解析
    assert item.record.domain == ["历史"] and item.record.task_type.minor == ["考试题", "解答题"]
    assert [(r.location.rsplit("#", 1)[1], r.reason) for r in rejects] == [("1", "empty_answer")]


def test_gaokao_shared_option_cloze() -> None:
    """Imitates GAOKAO-Bench Objective_Questions/2012-2022_English_Cloze_Test.json (七选五)."""
    records, rejects = _by_item(FIXTURES / "gaokao_English_Cloze_Test.fixture.json")
    assert not rejects
    item = records["#0"]
    assert item.record.input.split("\n")[-1] == "E. Fifth option."
    assert item.record.output.startswith("答案：（71）C（72）A（73）E\n\n解析：71．C 手写解析一．\n72．A")
    assert item.record.domain == ["英语"] and item.record.task_type.minor == ["考试题", "完形填空"]


def test_no_dangling_option_letters(gaokao: dict, samples_dir: Path) -> None:
    records = list(gaokao.values()) + [o for o in iter_exam(sorted((samples_dir / "exam").glob("*.csv")))
                                       if isinstance(o, CuratedRecord)]
    for record in records:
        assert not re.search(r"(?:^|\s)[A-D][.．、]?\s*$", record.record.input), record.record.input[-40:]
        assert re.match(r"答案：", record.record.output)


def test_pdf_text_repair() -> None:
    text = "7．（ 3分）下列各句中，这\n样的人 ，终究（ 　　） \nA．甲\nB．乙"
    assert repair_pdf_text(text) == "7．（3分）下列各句中，这样的人，终究（　　）\nA．甲\nB．乙"
    assert repair_pdf_text("设 $x$\n\n\n\n为实数") == "设 $x$\n\n为实数"  # LaTeX text: newlines only
    assert split_options("问题 A 一 B. 二 C. 三 D. 四") == ("问题", [("A", "一"), ("B", "二"), ("C", "三"), ("D", "四")])


def test_gbk_and_malformed_csv(tmp_path: Path) -> None:
    # No GBK CMMLU file exists in the samples: this one is written here in the same layout.
    csv_path = tmp_path / "dev_logical.csv"
    csv_path.write_bytes(",Question,A,B,C,D,Answer\n0,命题是什么,推论,陈述,语句,命题,D\n1,坏行,只有,三列\n2,答案错,甲,乙,丙,丁,E\n"
                         .encode("gbk"))
    out = list(iter_exam([csv_path]))
    assert out[0].record.output == "答案：D. 命题" and out[0].provenance.extra["encoding"] == "gb18030"
    assert isinstance(out[1], InvalidItem) and out[1].reason == "csv_columns" and out[1].location.endswith(":3")
    assert isinstance(out[2], InvalidItem) and out[2].reason == "bad_answer" and out[2].location.endswith(":4")


def test_unknown_layouts(tmp_path: Path) -> None:
    csv_path = tmp_path / "x.csv"
    csv_path.write_text("题目,答案\n1+1,2\n", encoding="utf-8")
    json_path = tmp_path / "x.json"
    json_path.write_text('{"data": []}', encoding="utf-8")
    out = list(iter_exam([csv_path, json_path]))
    assert Counter(o.reason for o in out) == {"unknown_layout": 2}
    assert out[0].location == f"{csv_path}:1" and "neither CMMLU" in out[0].detail
