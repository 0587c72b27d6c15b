"""sources/wikihow.py on the real wikiHow sample page."""

from __future__ import annotations

from schemas import CuratedRecord
from sources import wikihow
from sources.http.page import RawPage, page_from_file
from sources.settings import load_settings

SETTINGS = load_settings("wikihow")


def test_real_article(samples_dir):
    [rec] = list(wikihow.parse(page_from_file(
        samples_dir / "wikihow" / "teknologi-umum-bot__wikihow_en_stop-ringing-in-ears.html"), SETTINGS))
    assert isinstance(rec, CuratedRecord)
    assert rec.record.instruction == "How to Stop Ringing in Ears"
    out = rec.record.output
    assert out.startswith("### 方法1：Treating Momentary Ringing in the Ears\n1. **Try the skull-thumping trick.** If you're")
    assert "\n   - Rest your index fingers on top of your middle fingers.\n" in out  # sub-step
    assert "### 方法3：Preventing Tinnitus" in out
    assert "### 小提示\n- Boosting your immune system" in out
    assert "Image titled" not in out and "[17]" not in out and "Helpful" not in out and "WH." not in out
    assert rec.provenance.extra["steps"] == 11 and rec.provenance.extra["tips"] == 2
    assert rec.provenance.url == "https://www.wikihow.com/Stop-Ringing-in-Ears"
    assert "CC BY-NC-SA" in rec.provenance.license


def test_chinese_title_gets_no_double_prefix_and_missing_steps_rejected():
    html = ('<html lang="zh"><body><h1 id="section_0">如何煮米饭</h1><div class="section steps"><ol class="steps_list_2">'
            '<li><div class="step"><b class="whb">淘米。</b>用清水洗两遍。</div></li></ol></div></body></html>')
    [rec] = list(wikihow.parse(RawPage("u", html.encode(), "t"), SETTINGS))
    assert rec.record.instruction == "如何煮米饭" and rec.record.output == "1. **淘米。**用清水洗两遍。"
    [bad] = list(wikihow.parse(RawPage("u2", b"<html><h1>\xe5\xa6\x82\xe4\xbd\x95</h1></html>", "t"), SETTINGS))
    assert bad.reason == "no_steps" and bad.location == "u2"
