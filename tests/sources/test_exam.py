"""sources/exam.py on the real CMMLU CSV and GAOKAO-Bench JSON samples, plus GBK/malformed CSV."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schemas import CuratedRecord, InvalidItem
from sources.choice import split_options
from sources.exam import iter_exam, repair_pdf_text

GAOKAO = "gaokao-bench__2010-2022_Chinese_Lang_and_Usage_MCQs.json"


@pytest.fixture(scope="module")
def gaokao(samples_dir: Path) -> list:
    return list(iter_exam([samples_dir / "exam" / GAOKAO]))


def test_cmmlu_row(samples_dir: Path) -> None:
    out = list(iter_exam([samples_dir / "exam" / "cmmlu__dev_ancient_chinese.csv"]))
    assert len(out) == 5 and all(isinstance(o, CuratedRecord) for o in out)
    first = out[0]
    assert first.record.instruction == "以下是关于古汉语的单项选择题，请选出正确答案。\n下列四组字中，全是形声字的一组是"
    assert first.record.input == "A. 修约菜苗\nB. 寐融照哀\nC. 问娶分笺\nD. 保禄私空"
    assert first.record.output == "答案：B. 寐融照哀"
    assert first.provenance.location.endswith("cmmlu__dev_ancient_chinese.csv:2")
    assert first.provenance.source_id == "cmmlu/ancient_chinese/0"
    assert first.provenance.extra["benchmark"] == "CMMLU" and first.provenance.license == "CC BY-NC-SA 4.0"


def test_gaokao_single_question_explained(gaokao: list) -> None:
    assert len(gaokao) == 56 and all(isinstance(o, CuratedRecord) for o in gaokao)
    first = gaokao[0]
    assert first.record.instruction == "下列各句中，加点的成语使用不恰当的一项是（　　）"
    assert first.record.input.split("\n")[1] == (
        "B. 看到果农家里汗牛充栋的黄灿灿的橙子，我深感欣慰，因为这说明我们开发的新品种产量高，品质好．"
    )
    assert first.record.output.startswith("答案：B. 看到果农家里汗牛充栋")
    assert "\n\n解析：A．自命不凡：自以为不平凡，比别人高明。符合语境。\nB．汗牛充栋：" in first.record.output
    assert first.provenance.extra["year"] == "2010" and first.provenance.extra["score"] == 3


def test_gaokao_blank_runs_and_subquestions(gaokao: list) -> None:
    ordering = gaokao[5]  # blanks drawn with spaces become ____
    assert "我国是食品生产和消费大国，____，____，" in ordering.record.instruction
    multi = gaokao[50]  # "17. … 18. … 19." sub-questions; option A lacks its separator upstream
    assert multi.record.output.startswith("答案：（17）A（18）C（19）B\n\n解析：【17题详解】")
    assert "（18）依次填入文中横线上的词语，全都恰当的一项是（　　）\nA. 一脉相承 薪火相传 博大精深 源远流长" in multi.record.input
    assert multi.provenance.extra["answers"] == ["A", "C", "B"]
    table = gaokao[31]  # "A．A B．B C．C D．D" under a table: the table rows are the options
    assert table.record.input.split("\n")[0] == "A. / 这 如果 而且 那么 也"


def test_no_dangling_option_letters(gaokao: list, samples_dir: Path) -> None:
    records = gaokao + list(iter_exam(sorted((samples_dir / "exam").glob("cmmlu__*.csv"))))
    for record in records:
        assert not re.search(r"(?:^|\s)[A-D][.．、]?\s*$", record.record.input), record.record.input[-40:]
        assert re.match(r"答案：", record.record.output)


def test_pdf_text_repair() -> None:
    text = "7．（ 3分）下列各句中，这\n样的人 ，终究（ 　　） \nA．甲\nB．乙"
    assert repair_pdf_text(text) == "7．（3分）下列各句中，这样的人，终究（　　）\nA．甲\nB．乙"
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
