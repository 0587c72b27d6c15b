"""sources/wiki.py + sources/wikitext.py on the real zhwiki sample and hand-written dump fixtures."""

from __future__ import annotations

import bz2
from pathlib import Path

import pytest

from schemas import CuratedRecord, InvalidItem
from sources.wiki import iter_pages, iter_wiki
from sources.wikitext import apply_rules, clean_page, resolve_conversion_markup

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources" / "files"
CONVERSION_DUMP = FIXTURES / "zhwiki_conversion.xml"  # hand-written: -{…}-, noteTA, redirect, ns≠0


@pytest.fixture(scope="module")
def berlin(samples_dir: Path) -> list:
    return list(iter_wiki([samples_dir / "zhwiki" / "dbpedia-minidump__zh_wiki.xml.bz2"]))


def test_sample_dump_lead_record(berlin: list) -> None:
    assert all(isinstance(o, CuratedRecord) for o in berlin)
    lead = berlin[0]
    assert lead.source == "wiki"
    assert lead.record.instruction == "什么是柏林？"
    # {{lang-de|Berlin}} keeps its visible text; {{IPA-de}} and the <ref> disappear; t2s applied.
    assert lead.record.output.startswith("柏林（德语：Berlin）是德意志联邦共和国首都，也是德国最大的城市")
    assert "cite web" not in lead.record.output and "<ref" not in lead.record.output
    assert "{{" not in lead.record.output and "[[" not in lead.record.output
    assert lead.provenance.source_id == "3472#lead"
    assert lead.provenance.url == "https://zh.wikipedia.org/wiki/柏林"
    assert lead.provenance.author == "Ketsu1213"
    assert lead.provenance.extra["revision_id"] == "67692780"
    assert lead.provenance.extra["note_ta_groups"] == ["德国地名", "地名"]
    assert "夏季奥林匹克运动会主办城市" in lead.provenance.extra["categories"]
    assert set(lead.provenance.extra["skipped_sections"]) == {"参考文献", "外部链接"}
    assert lead.record.answer_from == "human" and lead.record.human_verified is False
    assert "CC BY-SA 4.0" in lead.record.copyright


def test_sample_dump_sections(berlin: list) -> None:
    sections = {o.provenance.extra["section"]: o for o in berlin[1:]}
    assert list(sections) == ["历史", "地理", "政府", "经济", "文化", "交通", "景观建筑", "教育"]
    history = sections["历史"]
    assert history.record.instruction.count("柏林") == 1 and "历史" in history.record.instruction
    assert history.record.output.startswith("### 勃兰登堡选帝侯及普鲁士公国\n\n柏林是一座很古老的城市。")
    assert "普鲁士王国时期" in history.provenance.extra["subsections"]
    # Traditional characters in the source (選帝侯, 歸還) come out simplified.
    assert "選" not in history.record.output and "直到1814年才归还" in history.record.output
    assert len({o.id for o in berlin}) == len(berlin)


def test_conversion_markup_variants() -> None:
    rules: dict[str, str] = {}
    text = "以-{R|-{不轉換}-}-與-{原樣}-示例 -{zh-hans:州; zh-hant:邦}- -{}-邦 -{A|zh-cn:贝宁; zh-tw:貝南}- -{H|zh-cn:悉尼; zh-tw:雪梨}-。"
    assert resolve_conversion_markup(text, rules) == "以不轉換與原樣示例 州 邦 贝宁 。"
    assert rules == {"貝南": "贝宁", "雪梨": "悉尼"}
    assert apply_rules("雪梨與貝南", rules) == "悉尼與贝宁"


def test_conversion_fixture_dump() -> None:
    out = list(iter_wiki([CONVERSION_DUMP]))
    records = [o for o in out if isinstance(o, CuratedRecord)]
    rejects = {o.reason: o for o in out if isinstance(o, InvalidItem)}
    lead = records[0]
    # noteTA rule 1 (zh-tw 雪梨 → zh-cn 悉尼) applies page-wide, including the title.
    assert lead.record.instruction == "什么是悉尼歌剧院？"
    assert lead.record.output == (
        "悉尼歌剧院（英语：Sydney Opera House）是位于澳大利亚新南威尔士州悉尼的表演艺术中心，"
        "其设计软件模型以不转换与原样示例。贝宁代表曾到访。"
    )
    assert lead.provenance.extra["title_original"] == "雪梨歌劇院"
    assert lead.provenance.extra["categories"] == ["澳大利亚建筑"]
    history = records[1]
    assert history.record.output == "1973年由女王主持开幕。软件公司曾为其建模。\n\n### 设计\n\n设计者为约恩·乌松。"
    assert rejects["redirect"].location.endswith("#page=102")
    assert rejects["not_article"].detail == "Template:測試 (namespace 10)"
    assert rejects["empty_section"].location.endswith("#page=104#lead")
    assert [r.provenance.extra["section"] for r in records] == [None, "历史", "概述"]


def test_tables_galleries_and_comments_are_dropped() -> None:
    page = clean_page("前文<!-- 注释 -->\n{| class=wikitable\n|a||b\n|}\n<gallery>\nA.jpg|说明\n</gallery>\n后文<br/>下一行")
    assert page.lead == "前文\n\n后文\n下一行"


def test_multistream_bz2_and_truncated_dump(tmp_path: Path, samples_dir: Path) -> None:
    xml = CONVERSION_DUMP.read_bytes()
    head, tail = xml.split(b"<page>", 1)
    pages = b"<page>" + tail
    multi = tmp_path / "multistream.xml.bz2"
    cut = pages.index(b"<page>", 10)
    multi.write_bytes(bz2.compress(head) + bz2.compress(pages[:cut]) + bz2.compress(pages[cut:]))
    assert [p.page_id for p in iter_pages(multi) if hasattr(p, "page_id")] == ["101", "102", "103", "104"]

    sample = (samples_dir / "zhwiki" / "dbpedia-minidump__zh_wiki.xml.bz2").read_bytes()
    truncated = tmp_path / "truncated.xml.bz2"
    truncated.write_bytes(sample[: len(sample) // 2])
    out = list(iter_wiki([truncated]))
    assert len(out) == 1 and isinstance(out[0], InvalidItem)
    assert out[0].reason == "truncated_dump" and out[0].location.endswith("after start of dump")

    cut_xml = tmp_path / "cut.xml"  # plain XML cut after the first page: that page still counts
    cut_xml.write_bytes(xml[: xml.index(b"<page>", xml.index(b"</page>"))])
    out = list(iter_wiki([cut_xml]))
    assert isinstance(out[0], CuratedRecord)
    assert out[-1].reason == "truncated_dump" and "'雪梨歌劇院' (id 101)" in out[-1].location


def test_wikiextractor_json_lines(samples_dir: Path) -> None:
    """WikiExtractor --json output: one lead record per article; template leftovers removed."""
    path = samples_dir / "zhwiki" / "Chinese-relation-extraction__wiki_00.first20.jsonl"
    out = list(iter_wiki([path]))
    assert len(out) == 20 and all(isinstance(o, CuratedRecord) for o in out)
    math = out[0]
    assert math.record.instruction == "什么是数学？" and math.provenance.location == f"{path}:1"
    assert math.record.output.startswith("数学是利用符号语言研究数量、结构、变化以及空间等概念的一门学科")
    assert "\n\n" not in math.record.output.split("。")[0]  # the title line "数学" is not part of the answer
    philosophy = out[1]  # "哲学（）是研究普遍的、根本的问题的学科" upstream
    assert philosophy.record.output.startswith("哲学是研究普遍的、根本的问题的学科")
    assert philosophy.provenance.extra["removed_brackets"] == 2
    computing = out[4]  # "计算机科学（，有时缩写为）是系统性研究…" upstream
    assert computing.record.output.startswith("计算机科学是系统性研究信息与计算的理论基础")
    assert computing.provenance.source_id == "extract/25#lead"
    assert computing.provenance.url == "https://zh.wikipedia.org/wiki/计算机科学"


def test_wikiextractor_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "wiki_00.jsonl"
    path.write_text('{"id": "1", "title": "甲", "text": "甲\\n\\n"}\n{"id": "2"}\n{broken\n', encoding="utf-8")
    assert [(o.reason, o.location.rsplit(":", 1)[1]) for o in iter_wiki([path])] == [
        ("empty_section", "1"), ("unknown_layout", "2"), ("json_decode", "3")]
