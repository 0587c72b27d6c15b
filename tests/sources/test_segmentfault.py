"""sources/segmentfault.py on the real SegmentFault sample (a channel listing) and on hand-written
fixtures for the variants with no real file in ../shared/samples.

Fixtures (tests/fixtures/sources/web/; each file's header names what it imitates):
- segmentfault_question.html — the 2015 server-rendered question page
  oscarcuihang/capstone_project@fea018a pages/qa/detail_q.php (accepted, plain and folded answers,
  the "1 个答案被忽略" row, the "这个问题已被隐藏" alert);
- segmentfault_question_microdata.html / segmentfault_question_jsonld.html — the same question
  carried by schema.org QAPage microdata / JSON-LD (standard vocabulary; no real SF page with it found);
- segmentfault_nextjs_question.html — a Next.js (__NEXT_DATA__) shell without either: must be rejected;
- segmentfault_article.html, segmentfault_acw_challenge.html — an article page and the anti-bot
  challenge, reduced to what DIYgod/RSSHub lib/routes/segmentfault/utils.ts reads from the real ones;
- segmentfault_gateway_rows.json — the `/gateway/…` list API rows with the fields RSSHub's
  `parseList` reads (title, url, user.name, created).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import CuratedRecord, InvalidItem
from sources import segmentfault as sf
from sources.http.page import RawPage, page_from_file
from sources.settings import load_settings

SETTINGS = load_settings("segmentfault")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "web"
SAMPLE = "morning-paper-sever__segmentfault_html_mock.js"


def parse(path: Path) -> list:
    return list(sf.parse(page_from_file(path), SETTINGS))


def test_every_segmentfault_sample_is_covered(samples_dir):
    assert sorted(p.name for p in (samples_dir / "segmentfault").iterdir()) == [SAMPLE]


def test_channel_listing_is_one_located_reject_and_discovers_links(samples_dir):
    page = page_from_file(samples_dir / "segmentfault" / SAMPLE)
    [bad] = list(sf.parse(page, SETTINGS))
    assert isinstance(bad, InvalidItem) and bad.reason == "listing_page"
    assert bad.location == str(samples_dir / "segmentfault" / SAMPLE)
    assert "76 question/article links" in bad.detail
    articles = sf.discover_links(page, kinds=("a",))
    assert len(articles) == 76  # 75 news items + 1 article linked outside the news list
    assert articles[0] == "https://segmentfault.com/a/1190000022913729"
    assert sf.discover(page) == []  # the listing links articles only; question URLs are what gets crawled


def test_listing_served_by_url_resolves_against_it():
    html = (b'<title>SegmentFault</title><div class="news-list"><div class="news-item stream__item">'
            b'<a href="/q/1010000000000001">t</a></div></div>')
    page = RawPage("http://127.0.0.1:9/segmentfault/channel/frontend", html, "t",
                   url="http://127.0.0.1:9/segmentfault/channel/frontend")
    assert sf.discover(page) == ["http://127.0.0.1:9/q/1010000000000001"]
    assert [o.reason for o in sf.parse(page, SETTINGS)] == ["listing_page"]


def test_2015_question_page_one_record_per_answer_folded_flagged():
    out = parse(FIXTURES / "segmentfault_question.html")
    assert all(isinstance(r, CuratedRecord) for r in out) and len(out) == 3  # the "被忽略" row is not an answer
    accepted, plain, folded = out
    assert accepted.record.instruction == "为什么 0.1 + 0.2 !== 0.3？"
    assert accepted.record.input.startswith("在控制台里执行：\n\n```javascript\nconsole.log(0.1 + 0.2 === 0.3);")
    assert "`0.1` 和 `0.2` 都无法精确表示" in accepted.record.output
    assert "Math.abs(0.1 + 0.2 - 0.3) < Number.EPSILON" in accepted.record.output
    extra = accepted.provenance.extra
    assert extra["accepted"] is True and extra["votes"] == 12 and extra["question_votes"] == 7
    assert extra["tags"] == ["javascript", "浮点数"] and accepted.record.domain == ["javascript", "浮点数"]
    assert extra["question_hidden"] is True and extra["answer_count"] == 3
    assert accepted.provenance.author == "前端小明"
    assert accepted.provenance.url == "https://segmentfault.com/q/1010000022913801/a-1020000022913900"
    assert plain.provenance.extra["accepted"] is False and plain.provenance.extra["votes"] == 3
    assert plain.provenance.author == "coder" and "ignored" not in plain.provenance.extra
    assert folded.provenance.extra["ignored"] is True and folded.provenance.extra["votes"] == -2
    assert folded.record.output == "用 Python 吧。"
    assert len({r.id for r in out}) == 3


@pytest.mark.parametrize(("name", "layout"), [("segmentfault_question_microdata.html", "microdata"),
                                              ("segmentfault_question_jsonld.html", "json-ld")])
def test_schema_org_qapage_variants(name, layout):
    accepted, suggested = parse(FIXTURES / name)
    assert accepted.record.instruction == "为什么 0.1 + 0.2 !== 0.3？" and accepted.record.input == "这是为什么？"
    assert accepted.record.output == "IEEE 754 双精度浮点数无法精确表示 `0.1`。"
    assert accepted.provenance.author == "前端小明" and accepted.provenance.extra["accepted"] is True
    assert accepted.provenance.extra["votes"] == 12 and accepted.provenance.extra["layout"] == layout
    assert accepted.provenance.extra["created"] == "2020-06-12T08:30:00+08:00"
    assert suggested.record.output == "先转成整数再计算。" and suggested.provenance.extra["votes"] == 3
    assert suggested.provenance.url == "https://segmentfault.com/q/1010000022913801/a-1020000022913955"


@pytest.mark.parametrize(("name", "reason", "words"), [
    ("segmentfault_nextjs_question.html", "unsupported_layout", "Next.js"),
    ("segmentfault_article.html", "article_not_qa", "https://segmentfault.com/a/1190000045000001"),
    ("segmentfault_acw_challenge.html", "anti_crawler_challenge", "acw_sc__v2"),
    ("segmentfault_gateway_rows.json", "listing_page", "2 rows"),
])
def test_pages_without_answers_are_one_located_reject_saying_why(name, reason, words):
    [bad] = parse(FIXTURES / name)
    assert bad.reason == reason and words in bad.detail and bad.location == str(FIXTURES / name)


def test_gateway_rows_discover_question_links_only():
    page = page_from_file(FIXTURES / "segmentfault_gateway_rows.json")
    assert sf.discover(page) == ["https://segmentfault.com/q/1010000045000002"]


def test_other_pages_are_rejected_with_reason():
    cases = {
        b"<html><body>404</body></html>": "not_segmentfault",
        b"<html><head><title>SegmentFault</title></head><body>404</body></html>": "not_a_question_page",
        b'<title>SegmentFault</title><h1 id="questionTitle" data-id="1">\xe9\x97\xae</h1>': "no_answers",
        b'{"status": 1}': "unexpected_json",
        b'{"rows": 1': "json_decode",
        b"": "empty_body",
    }
    got = {body: [(o.reason, o.location) for o in sf.parse(RawPage("saved.html", body, "t"), SETTINGS)]
           for body in cases}
    assert got == {body: [(reason, "saved.html")] for body, reason in cases.items()}
    # the same unmarked 404 body fetched from segmentfault.com is the site's page without a question
    [bad] = sf.parse(RawPage("https://segmentfault.com/q/1", b"<html><body>404</body></html>", "t"), SETTINGS)
    assert bad.reason == "not_a_question_page"
