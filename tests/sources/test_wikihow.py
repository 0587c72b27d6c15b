"""sources/wikihow.py on the real wikiHow sample page and a hand-written zh.wikihow.com fixture.

tests/fixtures/sources/web/wikihow_zh_article.html imitates the sample's markup (teknologi-umum/bot
tests/laodeai_fixture/wikihow.html) with Chinese text, a nested sub-step list, things-you'll-need,
tips and warnings sections; its header says what was written for the test.
"""

from __future__ import annotations

from pathlib import Path

from schemas import CuratedRecord, InvalidItem
from sources import wikihow
from sources.http.page import RawPage, page_from_file
from sources.settings import load_settings

SETTINGS = load_settings("wikihow")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "web"
SAMPLE = "teknologi-umum-bot__wikihow_en_stop-ringing-in-ears.html"


def test_every_wikihow_sample_is_covered(samples_dir):
    assert sorted(p.name for p in (samples_dir / "wikihow").iterdir()) == [SAMPLE]


def test_real_article(samples_dir):
    [rec] = list(wikihow.parse(page_from_file(samples_dir / "wikihow" / SAMPLE), SETTINGS))
    assert isinstance(rec, CuratedRecord)
    assert rec.record.instruction == "How to Stop Ringing in Ears"
    out = rec.record.output
    # the intro comes first, as the page shows it (reference markers [1] [2] dropped)
    assert out.startswith("Ringing, buzzing, or roaring in the ears is often used to describe tinnitus, which can be "
                          "extremely annoying and occur without any reason.")
    assert "consult your doctor. One way to stop ringing" in out
    assert out.split("\n\n")[0].endswith("Read on for helpful hints and tips.")
    # section labels are the page's own, in its language (English here)
    assert "\n\n### Method 1 of 3: Treating Momentary Ringing in the Ears\n1. **Try the skull-thumping trick.** If you're" in out
    assert "### Method 3 of 3: Preventing Tinnitus" in out and "方法" not in out and "小提示" not in out
    assert "\n   - Rest your index fingers on top of your middle fingers.\n" in out  # sub-step
    assert out.count("Rest your index fingers on top of your middle fingers.") == 1  # not duplicated
    assert "### Tips\n- Boosting your immune system may also stop ringing in your ears." in out
    assert out.endswith("- You may also want to look into the American Tinnitus Association for information and resources.")
    assert "Image titled" not in out and "[17]" not in out and "Helpful" not in out and "WH." not in out
    extra = rec.provenance.extra
    assert extra["language"] == "en"  # <html lang="en">: curation decides what to do with it
    assert extra["steps"] == 11 and extra["sub_steps"] == 21 and extra["tips"] == 2 and extra["warnings"] == 0
    assert extra["intro"] is True and extra["categories"] == ["Health", "Ear Health", "Tinnitus"]
    assert extra["coauthors"] == ["Luba Lee, FNP-BC, MS"]  # the page's "Medically reviewed by" byline
    assert rec.provenance.url == "https://www.wikihow.com/Stop-Ringing-in-Ears"
    assert "CC BY-NC-SA" in rec.provenance.license


def test_chinese_page_labels_nested_substeps_and_sections():
    [rec] = list(wikihow.parse(page_from_file(FIXTURES / "wikihow_zh_article.html"), SETTINGS))
    assert rec.record.instruction == "如何煮米饭"  # no double 如何
    assert rec.record.output == (
        "米饭是很多家庭的主食。掌握水和米的比例就能煮好。\n\n"
        "### 方法 1/2: 用电饭煲\n"
        "1. **淘米。**用清水把米洗两遍。\n"
        "   - 水变清即可。\n"
        "      - 不要用力搓。\n"
        "   - 洗好后沥干。\n"
        "2. **加水。**米和水的比例约为 1:1.2。\n\n"
        "### 方法 2/2: 用锅\n"
        "1. **大火烧开。**再转小火焖 15 分钟。\n\n"
        "### 你需要准备\n- 大米\n- 电饭煲或锅\n\n"
        "### 小提示\n- 新米少放一点水。\n\n"
        "### 警告\n- 不要在电饭煲工作时打开盖子。")
    extra = rec.provenance.extra
    assert extra["language"] == "zh" and extra["categories"] == ["饮食", "米饭"]
    assert (extra["steps"], extra["sub_steps"], extra["things_needed"]) == (3, 3, 2)
    assert rec.provenance.url == "https://zh.wikihow.com/%E7%85%AE%E7%B1%B3%E9%A5%AD"


def _page(html: str, location: str = "u") -> RawPage:
    return RawPage(location, html.encode(), "t")


def test_quirks_mode_snapshot_keeps_tips_and_drops_affiliate_links():
    """A browser snapshot without doctype/<html> (as magic-html's 2024 wikiHow page) parses in quirks
    mode, where `#tips` also matches the `id="Tips"` headline; Amazon links carry `tag=wikihow…-20`."""
    html = ('<head><title>How to Get a Flatter Stomach - wikiHow</title>'
            '<link rel="canonical" href="https://www.wikihow.com/Get-a-Flatter-Stomach-in-a-Week"></head><body>'
            '<h1 id="section_0"><a href="https://www.wikihow.com/Get-a-Flatter-Stomach-in-a-Week">How to Get a Flat '
            'Stomach</a></h1><div class="section steps steps_first sticky"><div class="method_label">Method 1 of 1:'
            '</div><h3><span class="mw-headline" id="Diet">Diet</span></h3><ol class="steps_list_2"><li>'
            '<div class="step"><a href="/Do-Crunches"><b class="whb">Eat</b></a><b class="whb"> fiber.</b> Use '
            '<a href="https://www.amazon.com/s?k=beano&amp;tag=wikihow1341961-20">Beano</a>.</div>'
            '<div class="al_method">Advertisement</div></li></ol></div>'
            '<div class="section tips sticky"><h2><span class="mw-headline" id="Tips">Tips</span></h2>'
            '<div id="tips" class="section_text"><ul><li><div>Sleep.</div></li></ul></div></div></body>')
    [rec] = list(wikihow.parse(_page(html), SETTINGS))
    assert rec.record.output == ("### Method 1 of 1: Diet\n1. **Eat fiber.** Use Beano.\n\n"
                                 "### Tips\n- Sleep.")
    assert rec.provenance.extra["language"] == "en"  # no <html lang>: from the www.wikihow.com host


def test_instruction_prefix_follows_the_page_language():
    body = ('<h1 id="section_0">{}</h1><div class="section steps"><ol class="steps_list_2">'
            '<li><div class="step"><b class="whb">淘米。</b>用清水洗两遍。</div></li></ol></div>')
    zh = f'<html lang="zh-CN"><title>煮米饭 - wikiHow</title>{body.format("煮米饭")}</html>'
    [rec] = list(wikihow.parse(_page(zh), SETTINGS))
    assert rec.record.instruction == "如何煮米饭" and rec.record.output == "1. **淘米。**用清水洗两遍。"
    assert rec.provenance.extra["language"] == "zh"
    de = f'<html lang="de"><title>Reis kochen - wikiHow</title>{body.format("Reis kochen")}</html>'
    [rec] = list(wikihow.parse(_page(de), SETTINGS))
    assert rec.record.instruction == "Reis kochen"  # no prefix configured for German: nothing invented


def test_non_articles_and_other_sites_are_rejected_with_reason():
    [bad] = list(wikihow.parse(_page("<html><title>x - wikiHow</title><h1>如何</h1></html>", "u2"), SETTINGS))
    assert isinstance(bad, InvalidItem) and bad.reason == "no_steps" and bad.location == "u2"
    [bad] = list(wikihow.parse(_page('<html><title>Recipe - Example</title><h1>Rice</h1>'
                                     '<ol class="steps_list_2"><li>x</li></ol></html>', "u3"), SETTINGS))
    assert bad.reason == "not_wikihow" and bad.location == "u3"
    [bad] = list(wikihow.parse(_page('{"title": "x"}'), SETTINGS))
    assert bad.reason == "unexpected_json"
