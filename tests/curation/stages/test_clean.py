"""Cleaning steps on Chinese text: each step fixes its problem and leaves Chinese alone."""

from __future__ import annotations

import pytest

from curation.pipeline.recipe import CleanConfig
from curation.stages.clean import Cleaner
from curation.stages.clean.hygiene import (
    dedup_sentences,
    strip_boilerplate,
    strip_dangling_option,
    truncation,
)
from curation.stages.clean.markup import strip_html, strip_markdown
from curation.stages.clean.unicode import (
    fix_controls,
    fix_mojibake,
    fullwidth_alnum_to_ascii,
    remove_zero_width,
)
from curation.stages.clean.whitespace import normalize_whitespace, strip_cjk_spaces


def test_control_chars_become_newlines_or_vanish() -> None:
    assert fix_controls("请解释\f下面的概念\x00。\r\n第二行\r第三行") == "请解释\n下面的概念。\n第二行\n第三行"


def test_zero_width_and_bom_removed() -> None:
    assert remove_zero_width("\ufeff中\u200b文\u200d字\u00ad") == "中文字"


def test_fullwidth_letters_digits_fold_but_chinese_punctuation_stays() -> None:
    text = "ＧＰＴ－４在２０２３年发布！价格：１００元，（约）。"
    out = fullwidth_alnum_to_ascii(text)
    assert out == "GPT－4在2023年发布！价格：100元，（约）。"
    assert "！" in out and "，" in out and "：" in out  # not NFKC


def test_mojibake_repaired_and_clean_text_untouched() -> None:
    broken = "中文测试，编码修复".encode().decode("cp1252", errors="replace")
    assert fix_mojibake("æµ‹è¯•ä¸­æ–‡") == "测试中文"
    assert fix_mojibake("中文测试，编码修复") == "中文测试，编码修复"
    assert broken != "中文测试，编码修复"


def test_whitespace_collapses_and_keeps_paragraphs() -> None:
    text = "第一段  有   多余空格\t。  \n\n\n\n　　第二段缩进。"
    assert normalize_whitespace(text) == "第一段 有 多余空格 。\n\n第二段缩进。"


@pytest.mark.parametrize(("text", "expected"), [
    ("中 华 人 民 共 和 国成立于1949年", "中华人民共和国成立于1949年"),
    ("这种现象并不意味 着飞机飞行速度异常快", "这种现象并不意味着飞机飞行速度异常快"),
    ("你好 ， 世界 。", "你好，世界。"),
    ("床前明月光 疑是地上霜", "床前明月光 疑是地上霜"),  # verse layout keeps its space
    ("使用 Python 编程", "使用 Python 编程"),  # spaces around Latin words stay
])
def test_cjk_spaces(text: str, expected: str) -> None:
    assert strip_cjk_spaces(text) == expected


def test_code_blocks_are_kept_byte_for_byte() -> None:
    cleaner = Cleaner(CleanConfig())
    code = "```python\ndef f(x):\n    return  x  # 注释 中 文 字 符\n\n\n\n```"
    out = cleaner.text(f"示例代码如下：\n{code}\n<b>完毕</b>  了。")
    assert code in out
    assert out.endswith("```\n完毕了。")  # tags gone, then the lone space between CJK runs


def test_html_tags_and_entities_but_not_book_titles_or_maths() -> None:
    assert strip_html("<p>答案&nbsp;是&lt;北京&gt;</p><script>var a=1;</script>") == "\n答案\xa0是<北京>\n"
    assert strip_html("读了<红楼梦>后发现a<b且b>c") == "读了<红楼梦>后发现a<b且b>c"


def test_markdown_stripping_is_optional() -> None:
    assert strip_markdown("**重点**：见[文档](https://x.cn/a)![图](a.png)\n## 标题") == "重点：见文档\n标题"
    assert "**" in Cleaner(CleanConfig()).text("**重点**内容")  # off by default


def test_duplicated_sentences_removed_short_ones_kept() -> None:
    text = "咖啡和豆浆是不同的饮品。豆浆由大豆制成。咖啡和豆浆是不同的饮品。是的。是的。"
    out, removed = dedup_sentences(text)
    assert out == "咖啡和豆浆是不同的饮品。豆浆由大豆制成。是的。是的。"
    assert removed == 1


@pytest.mark.parametrize(("text", "expected", "stripped"), [
    ("下列哪个是首都？\nA. 北京 B. 上海\nC. 广州 D. 深圳\nA", "下列哪个是首都？\nA. 北京 B. 上海\nC. 广州 D. 深圳", True),
    ("选择正确答案：\nA、对\nB、错\n答案：B", "选择正确答案：\nA、对\nB、错", True),
    ("缺乏哪种维生素会得坏血病？\nA. 维生素 A\nB. 维生素 C", None, False),  # the C is option text
    ("请翻译：Plan A", None, False),  # no options listed
])
def test_dangling_option_letter(text: str, expected: str | None, stripped: bool) -> None:
    out, did = strip_dangling_option(text)
    assert did is stripped
    assert out == (expected if stripped else text)


@pytest.mark.parametrize(("text", "why"), [
    ("综上所述，咖啡不能被称为豆浆，因为", None),
    ("综上所述，咖啡不能被称为豆浆，", "ends_with_comma"),
    ("代码如下：\n```python\nprint(1)", "unclosed_code_block"),
    ("北京", None),
    ("咖啡和豆浆都由植物种子制成，但咖啡豆经过烘焙和研磨。豆浆则是大豆浸泡后磨浆煮沸得到的饮品，两者的口味和营养价值都有很大不同，而且在饮用习惯上", "ends_mid_sentence"),
    ("咖啡和豆浆是两种不同的饮品。", None),
])
def test_truncation_flag(text: str, why: str | None) -> None:
    assert truncation(text) == why


def test_boilerplate_footer_and_edit_stamp() -> None:
    text = ("咖啡不是豆浆。\n作者：张三\n链接：https://www.zhihu.com/question/1/answer/2\n来源：知乎\n"
            "著作权归作者所有。商业转载请联系作者获得授权，非商业转载请注明出处。")
    assert strip_boilerplate(text) == ("咖啡不是豆浆。", 4)
    assert strip_boilerplate("回答正文。编辑于 2021-03-05 12:00・IP 属地北京") == ("回答正文。", 1)
    # an answer that discusses copyright keeps its sentence (not a trailing footer line)
    law = "著作权归作者所有，这是著作权法的基本规定。\n因此转载需要授权。"
    assert strip_boilerplate(law) == (law, 0)


def test_opencc_only_when_configured() -> None:
    assert Cleaner(CleanConfig(opencc="t2s")).text("這是繁體中文") == "这是繁体中文"
    assert Cleaner(CleanConfig()).text("這是繁體中文") == "這是繁體中文"


def test_each_step_switchable() -> None:
    off = Cleaner(CleanConfig(fullwidth_ascii=False, zero_width=False))
    assert off.text("ＡＢ\u200b") == "ＡＢ\u200b"


def test_cleaner_report_names_what_changed() -> None:
    i, inp, o, report = Cleaner(CleanConfig()).clean(
        "请\f回答", "哪个对？\nA. 甲\nB. 乙\nA", "答案是甲。答案是甲的理由很充分。答案是甲的理由很充分。\n发布于 2022-01-01"
    )
    assert (i, inp, o) == ("请\n回答", "哪个对？\nA. 甲\nB. 乙", "答案是甲。答案是甲的理由很充分。")
    assert report["changed"] == ["instruction"]
    assert report["dangling_option"] and report["boilerplate_lines"] == 1 and report["dup_sentences"] == 1
