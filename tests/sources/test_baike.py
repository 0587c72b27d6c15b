"""sources/baike.py on the real Baidu Baike sample (蔡健雅) and a GBK fixture."""

from __future__ import annotations

from pathlib import Path

from schemas import CuratedRecord, InvalidItem
from sources.baike import iter_baike

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources" / "files"


def _sample(samples_dir: Path) -> list:
    return list(iter_baike([samples_dir / "baike" / "trafilatura__baike.baidu.com.tanya.html"]))


def test_summary_infobox_and_sections(samples_dir: Path) -> None:
    out = _sample(samples_dir)
    records = {o.provenance.source_id.split("#")[1]: o for o in out if isinstance(o, CuratedRecord)}
    summary = records["summary"]
    assert summary.source == "wiki"  # Baike pages belong to the COIG-CQIA wiki config
    assert summary.record.instruction == "请介绍一下蔡健雅。"
    assert summary.record.output.startswith("蔡健雅（Tanya Chua），1975年1月28日出生于新加坡，祖籍中国江苏省")
    assert summary.provenance.url == "https://baike.baidu.com/item/蔡健雅/4407299"
    assert summary.provenance.extra["lemma_id"] == "4407299"
    infobox = records["infobox"].record.output.split("\n")
    assert infobox[:3] == ["中文名：蔡健雅", "外文名：Tanya Chua", "国籍：新加坡"]
    assert "主要成就：新加坡旅游形象大使；台湾金曲奖最佳专辑制作人；三届台湾金曲奖最佳国语女歌手" in infobox
    career = records["s1"]
    assert career.provenance.extra["section"] == "演艺经历"
    assert career.provenance.extra["subsections"][:2] == ["环球时代", "华纳时代"]
    assert career.record.output.startswith("### 环球时代\n\n1999年将国语唱片签约于宝丽金唱片旗下")
    assert "[20]" not in career.record.output and "编辑" not in career.record.instruction
    assert "《Where I Belong 属于》" in records["s3"].record.output  # Latin–Han spacing kept


def test_table_only_sections_are_counted_rejects(samples_dir: Path) -> None:
    rejects = [o for o in _sample(samples_dir) if isinstance(o, InvalidItem)]
    assert [(r.reason, r.detail) for r in rejects] == [
        ("empty_section", "蔡健雅: 主要作品 has no prose"),
        ("empty_section", "蔡健雅: 获奖记录 has no prose"),
    ]
    assert all(r.source == "wiki" for r in rejects)


def test_gbk_page(tmp_path: Path) -> None:
    out = list(iter_baike([FIXTURES / "baike_gbk.html"]))
    assert [o.record.output for o in out] == ["长城是中国古代的军事防御工程。", "中文名：长城\n所在地：中国北方；（多省）",
                                               "始建于春秋战国时期。"]
    assert out[0].provenance.extra["encoding"] == "gb18030"
    assert out[2].record.instruction in ("请介绍长城的历史沿革。", "关于长城，历史沿革方面有哪些情况？")


def test_not_a_baike_page(tmp_path: Path) -> None:
    page = tmp_path / "json.html"
    page.write_text('{"error": "not html"}', encoding="utf-8")
    (out,) = list(iter_baike([page]))
    assert isinstance(out, InvalidItem) and out.reason == "not_baike_article" and out.location == str(page)
