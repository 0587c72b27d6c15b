"""sources/baike.py over both real Baike samples and fixtures for the layouts the samples lack.

Real: the classic page 蔡健雅 (trafilatura) and a crawler's output table (1181406961/spider).
Fixtures (tests/fixtures/sources/files/baike_fixtures.md): GBK classic page, 2021 classic layout,
2023+ layout with subsections and a table; a Zhidao question page (web fixture) must be rejected.
"""

from __future__ import annotations

from pathlib import Path

from schemas import CuratedRecord, InvalidItem
from sources.baike import iter_baike

FILES = Path(__file__).resolve().parent.parent / "fixtures" / "sources" / "files"
WEB = FILES.parent / "web"
TANYA = "trafilatura__baike.baidu.com.tanya.html"
TABLE = "spider__baike.html"


def run(path: Path) -> tuple[dict[str, CuratedRecord], list[InvalidItem]]:
    out = list(iter_baike([path]))
    return ({o.provenance.source_id.split("#")[1] if "#" in o.provenance.source_id else o.provenance.source_id: o
             for o in out if isinstance(o, CuratedRecord)}, [o for o in out if isinstance(o, InvalidItem)])


def test_summary_infobox_and_sections(samples_dir: Path) -> None:
    records, _ = run(samples_dir / "baike" / TANYA)
    summary = records["summary"]
    assert summary.source == "wiki"  # Baike pages belong to the COIG-CQIA wiki config
    assert summary.record.instruction == "请介绍一下蔡健雅。"
    assert summary.record.output.startswith("蔡健雅（Tanya Chua），1975年1月28日出生于新加坡，祖籍中国江苏省")
    # the page has no canonical link: the item URL is built from the lemma id it states (lemmaId=4407299)
    assert summary.provenance.url == "https://baike.baidu.com/item/蔡健雅/4407299"
    assert summary.provenance.extra["lemma_id"] == "4407299" and summary.provenance.extra["url_from"] == "lemma_id"
    assert summary.provenance.extra["layout"] == "classic"
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
    records, rejects = run(samples_dir / "baike" / TANYA)
    assert sorted(records) == ["infobox", "s0", "s1", "s3", "s5", "summary"]
    assert [(r.reason, r.detail) for r in rejects] == [
        ("empty_section", "蔡健雅: 主要作品 has no prose"),
        ("empty_section", "蔡健雅: 获奖记录 has no prose"),
    ]
    assert all(r.source == "wiki" for r in rejects)


def test_crawler_output_table(samples_dir: Path) -> None:
    path = samples_dir / "baike" / TABLE
    out = list(iter_baike([path]))
    records = [o for o in out if isinstance(o, CuratedRecord)]
    rejects = [o for o in out if isinstance(o, InvalidItem)]
    assert len(records) == 47 and len(rejects) == 2  # 49 rows, two with no summary
    assert [(r.reason, r.location) for r in rejects] == [("empty_section", f"{path}#row40"),
                                                          ("empty_section", f"{path}#row44")]
    assert "实矩阵" in rejects[0].detail and "察哈尔" in rejects[1].detail
    first = records[0]
    assert first.record.instruction in ("请介绍一下网络爬虫。", "请简要介绍网络爬虫。")
    assert first.provenance.url == "https://baike.baidu.com/item/网络爬虫/5162711?fr=aladdin"  # the crawler's URL
    assert first.provenance.source_id == "baike:5162711#summary"
    lawrence = next(r for r in records if r.provenance.extra["title"] == "詹妮弗·劳伦斯")  # /item/劳伦斯 row
    # "[1] \n。" left by the crawler around citations: marker and stray break removed
    assert lawrence.record.output.startswith("詹妮弗·劳伦斯（Jennifer Lawrence），1990年8月15日出生于美国肯塔基州路易斯维尔，"
                                             "美国女演员。2007年，参演喜剧《比尔·英格沃秀》，正式出道。2009年，")
    assert "lemma_id" not in lawrence.provenance.extra  # its URL carries no lemma id


def test_gbk_page() -> None:
    out = list(iter_baike([FILES / "baike_gbk.html"]))
    assert [o.record.output for o in out] == ["长城是中国古代的军事防御工程。", "中文名：长城\n所在地：中国北方；（多省）",
                                               "始建于春秋战国时期。"]
    assert out[0].provenance.extra["encoding"] == "gb18030"
    assert out[0].provenance.url is None  # no canonical link and no lemma id on the page: no URL
    assert out[2].record.instruction in ("请介绍长城的历史沿革。", "关于长城，历史沿革方面有哪些情况？")


def test_classic_2021_layout() -> None:
    records, rejects = run(FILES / "baike_classic_2021.html")
    assert not rejects and sorted(records) == ["s0", "s1", "summary"]  # the empty basic-info box adds nothing
    assert records["summary"].record.output == "前端即网站前台部分，运行在PC端、移动端等浏览器上展现给用户浏览的网页。"
    assert records["s0"].record.output == "前端技术一般分为前端设计和前端开发。\n\n### 前端设计\n\n前端设计一般可以理解为网站的视觉设计。"
    assert records["s1"].record.output == "HTML、CSS、JavaScript\n\n这三个是前端开发中最基本也是最必须的三个技能。"
    assert records["s1"].provenance.url == "https://baike.baidu.com/item/前端/5956545"


def test_2023_layout(samples_dir: Path) -> None:
    path = FILES / "baike_v6_subsections.html"
    records, rejects = run(path)
    summary = records["summary"]
    assert summary.record.output == "示例湖是江南某县的淡水湖，面积约12平方千米。"
    assert summary.provenance.url == "https://baike.baidu.com/item/示例湖/90000002"  # canonical link
    assert summary.provenance.extra["layout"] == "v6" and summary.provenance.extra["description"] == "江南某县的淡水湖"
    assert records["infobox"].record.output == "中文名：示例湖\n面积：约12平方千米"
    history = records["s0"]
    assert history.record.output == "明代已有记载。\n\n### 近代\n\n1950年代修建堤坝。"  # picture caption not prose
    assert history.provenance.extra["subsections"] == ["近代"]
    assert [(r.reason, r.location) for r in rejects] == [("empty_section", f"{path}#s1")]  # table-only section


def test_not_a_baike_item(tmp_path: Path) -> None:
    zhidao = WEB / "zhidao_question_2017_gbk.html"
    [out] = list(iter_baike([zhidao]))
    assert isinstance(out, InvalidItem) and out.reason == "not_baike_page" and out.location == str(zhidao)
    assert "Zhidao" in out.detail and "cqia ingest zhidao" in out.detail
    home = tmp_path / "home.html"
    home.write_text("<html><head><title>百度百科_全球最大中文百科全书</title></head><body></body></html>", "utf-8")
    [out] = list(iter_baike([home]))
    assert out.reason == "not_baike_page" and "home page" in out.detail
    page = tmp_path / "json.html"
    page.write_text('{"error": "not html"}', encoding="utf-8")
    [out] = list(iter_baike([page]))
    assert out.reason == "not_baike_page" and out.location == str(page)


def test_other_baike_pages_are_named(tmp_path: Path) -> None:
    pages = {
        "disambiguation": ("<html><head><title>苹果_百度百科</title></head><body><div class='lemmaWgt-subLemmaListTitle'>"
                           "“苹果”是一个多义词，请在下列义项上选择浏览</div></body></html>", "disambiguation_page"),
        "verify": ("<html><head><title>百度安全验证</title></head><body>网络不给力</body></html>", "blocked_page"),
        "empty": ("<html><head><title>长城_百度百科</title></head><body></body></html>", "no_lemma_content"),
    }
    for name, (html, reason) in pages.items():
        path = tmp_path / f"{name}.html"
        path.write_text(html, "utf-8")
        [out] = list(iter_baike([path]))
        assert (out.reason, out.location) == (reason, str(path)), name
