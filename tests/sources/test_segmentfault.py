"""sources/segmentfault.py: the real channel listing sample, and a question-page fixture.

No SegmentFault question page exists in the shared samples (the only one is a channel listing),
so tests/fixtures/sources/web/segmentfault_question.html is written in the site's format.
"""

from __future__ import annotations

from pathlib import Path

from schemas import CuratedRecord
from sources import segmentfault as sf
from sources.http.page import RawPage, page_from_file
from sources.settings import load_settings

SETTINGS = load_settings("segmentfault")
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "web" / "segmentfault_question.html"


def test_channel_listing_discovers_links_and_yields_no_records(samples_dir):
    page = page_from_file(samples_dir / "segmentfault" / "morning-paper-sever__segmentfault_html_mock.js")
    assert list(sf.parse(page, SETTINGS)) == []
    articles = sf.discover_links(page, kinds=("a",))
    assert len(articles) == 76  # 75 news items + 1 article linked outside the news list
    assert articles[0] == "https://segmentfault.com/a/1190000022913729"
    assert sf.discover(page) == []  # the listing links articles only; question URLs are what gets crawled


def test_listing_served_by_url_resolves_against_it():
    html = b'<div class="news-list"><div class="news-item stream__item"><a href="/q/1010000000000001">t</a></div></div>'
    page = RawPage("http://127.0.0.1:9/segmentfault/channel/frontend", html, "t",
                   url="http://127.0.0.1:9/segmentfault/channel/frontend")
    assert sf.discover(page) == ["http://127.0.0.1:9/q/1010000000000001"]


def test_question_page_one_record_per_answer():
    recs = list(sf.parse(page_from_file(FIXTURE), SETTINGS))
    assert all(isinstance(r, CuratedRecord) for r in recs) and len(recs) == 2
    accepted, other = recs
    assert accepted.record.instruction == "为什么 0.1 + 0.2 !== 0.3？"
    assert accepted.record.input.startswith("在控制台里执行：\n\n```javascript\nconsole.log(0.1 + 0.2 === 0.3);")
    assert "`0.1` 和 `0.2` 都无法精确表示" in accepted.record.output
    assert "Math.abs(0.1 + 0.2 - 0.3) < Number.EPSILON" in accepted.record.output
    assert accepted.provenance.extra["accepted"] is True and accepted.provenance.extra["votes"] == 12
    assert accepted.provenance.extra["tags"] == ["javascript", "浮点数"]
    assert accepted.provenance.author == "前端小明"
    assert other.provenance.extra["accepted"] is False and other.provenance.extra["votes"] == 3
    assert accepted.id != other.id


def test_non_question_pages_are_rejected_with_reason():
    [bad] = list(sf.parse(RawPage("https://segmentfault.com/q/1", b"<html><body>404</body></html>", "t"), SETTINGS))
    assert bad.reason == "not_a_question_page" and bad.location == "https://segmentfault.com/q/1"
    [bad] = list(sf.parse(RawPage("x", b'{"status": 1}', "t"), SETTINGS))
    assert bad.reason == "unexpected_json"
