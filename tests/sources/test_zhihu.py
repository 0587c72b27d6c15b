"""sources/zhihu.py on every real Zhihu sample, hand-written fixtures for the variants with no
sample, plus crawl + kill/resume through the CLI.

Fixtures (tests/fixtures/sources/web/, each names the real public file it imitates in its header or
below): zhihu_moments_feed.json (zly2006/zhihu-plus-plus shared/src/jvmTest/resources/real-api/
moments-feed-items.json: a feed whose items are an answer, an article, a question, a pin),
zhihu_answer_paid.json (the answer-detail sample's fields with the `paid_info` / `content_need_truncated`
flags seen in that feed file), zhihu_legacy_collection.html (7sDream/zhihu-py3 test/data/collection.html),
zhihu_legacy_more_answers.html (zhihu-py3 test/data/question_more_answer.html), zhihu_column_page.js
(bigo-frontend/morning-paper-sever test/mockData/zhihu/html_mock.js), zhihu_zhuanlan_v1_post.json
(zhihu-py3 test/data/column_post.json: the zhuanlan v1 post keys).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from schemas import CuratedRecord, InvalidItem
from sources import zhihu
from sources.html_markdown import html_to_markdown
from sources.http.page import RawPage, page_from_file
from sources.settings import load_settings
from tests.sources.http.site import REPO, request_log, sample_site

SETTINGS = load_settings("zhihu")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "web"


def parse_file(path: Path) -> list:
    return list(zhihu.parse(page_from_file(path), SETTINGS))


def split(outcomes: list) -> tuple[list[CuratedRecord], Counter]:
    records = [o for o in outcomes if isinstance(o, CuratedRecord)]
    rejects = Counter(o.reason for o in outcomes if isinstance(o, InvalidItem))
    assert len(records) + sum(rejects.values()) == len(outcomes)  # nothing else comes out
    return records, rejects


# Every file in ../shared/samples/zhihu: (records, rejects by reason). Item counts were taken from
# the inputs themselves: 50 `zm-item-answer` blocks in the 2015 question page; 1 main answer + 2
# "更多回答" entries in the 2015 answer page; 3 `ContentItem AnswerItem` blocks in each magic-html
# page; one answer object / one search_result in the JSON files; the two answer-body files and the
# licence text are one page each with no question.
SAMPLE_COUNTS = {
    "magic-html__zhihu_q586816837_a2916374892.html": (3, {}),
    "magic-html__zhihu_q651439951_a3452833521.html": (3, {}),
    "zhihu-plus-plus__issue-495-answer.html": (0, {"content_fragment": 1}),
    "zhihu-plus-plus__real-api_answer-detail.json": (1, {}),
    "zhihu-plus-plus__search-general-sanitized.json": (1, {}),
    "zhihu-plus-plus__zhihu_answer_2035661632110585441_content.html": (0, {"content_fragment": 1}),
    "zhihu-py3__LICENSE": (0, {"unknown_format": 1}),
    "zhihu-py3__answer.html": (3, {}),
    "zhihu-py3__question.html": (50, {}),
}


def test_every_zhihu_sample_is_covered(samples_dir):
    assert sorted(p.name for p in (samples_dir / "zhihu").iterdir()) == sorted(SAMPLE_COUNTS)


@pytest.mark.parametrize("name", sorted(SAMPLE_COUNTS))
def test_sample_counts_add_up(samples_dir, name):
    outcomes = parse_file(samples_dir / "zhihu" / name)
    records, rejects = split(outcomes)
    assert (len(records), dict(rejects)) == SAMPLE_COUNTS[name]
    assert len({r.id for r in records}) == len(records)  # one record per answer, no duplicates
    for reject in (o for o in outcomes if isinstance(o, InvalidItem)):
        assert reject.location.startswith(str(samples_dir / "zhihu" / name)) and reject.detail


def test_api_answer_detail(samples_dir):
    [rec] = parse_file(samples_dir / "zhihu" / "zhihu-plus-plus__real-api_answer-detail.json")
    assert isinstance(rec, CuratedRecord)
    assert rec.record.instruction == "如何评价kotlin？"
    assert rec.record.input == ""
    assert rec.record.output.startswith("以前我也是Kotlin信徒，直到现在我也觉得Kotlin在语言上可圈可点。\n\n但Jvm系")
    assert "```kotlin\n@Composable\nfun MessageCard(msg: Message) {" in rec.record.output
    assert "```csharp\nList(s => {" in rec.record.output
    assert "\n---\n" in rec.record.output  # <hr/>
    assert rec.record.domain == ["Kotlin"]  # question.topics[].name
    extra = rec.provenance.extra
    assert extra["voteup_count"] == 101 and extra["comment_count"] == 71 and extra["thanks_count"] == 7
    assert extra["created_time"] == "2025-08-07T05:53:35Z" and extra["topics"] == ["Kotlin"]
    assert extra["favorites"] == 42 and extra["truncated"] is False
    assert rec.provenance.author == "脱敏用户001"
    assert rec.provenance.url == "https://www.zhihu.com/question/1924054028658116132/answer/1936787046304842491"
    assert rec.provenance.source_id == "1936787046304842491" and len(rec.provenance.raw_sha256) == 64
    assert "脱敏用户001" in rec.record.copyright and rec.record.answer_from == "human"
    assert rec.record.human_verified is False


def test_search_result_answer_loses_highlights(samples_dir):
    """search-general: the answer sits under `object`, its question title in `question.name` with <em>."""
    [rec] = parse_file(samples_dir / "zhihu" / "zhihu-plus-plus__search-general-sanitized.json")
    assert rec.record.instruction == "如何评价kotlin？"  # from '如何评价<em>kotlin</em>？'
    assert rec.provenance.source_id == "1936787046304842491" and rec.provenance.author == "脱敏作者"
    assert rec.record.output.startswith("以前我也是Kotlin信徒")
    assert "<em>" not in rec.record.output and "```\n@Composable" in rec.record.output  # no language class here
    assert rec.provenance.extra["favorites"] == 42 and rec.provenance.extra["voteup_count"] == 101
    assert rec.record.domain == ["通用"]  # a search result carries no topics: the settings' default
    assert rec.provenance.location.endswith("search-general-sanitized.json#answer-1936787046304842491")


def test_answer_content_formulas_footnotes_headings(samples_dir):
    html = (samples_dir / "zhihu" / "zhihu-plus-plus__issue-495-answer.html").read_text("utf-8")
    md = html_to_markdown(html)
    assert "## 一、介绍" in md
    # display formula (alone in its paragraph) from the equation image's alt
    assert "$$\nx=\\cos x\\Rightarrow x-\\frac{\\pi}{2}=\\cos({x-\\frac{\\pi}{2}})=\\sin x\n$$" in md
    assert "角度$\\angle M$被称为**平近点角**[^4]" in md  # inline formula + footnote ref
    assert "[^1]: An exact analytical solution of Kepler's Equation https://link.springer.com/article/10.1007/BF01231473" in md
    assert "eeimg" not in md and "<img" not in md


@pytest.mark.parametrize("name", ["zhihu-plus-plus__issue-495-answer.html",
                                  "zhihu-plus-plus__zhihu_answer_2035661632110585441_content.html"])
def test_answer_body_alone_is_rejected_with_reason(samples_dir, name):
    [bad] = parse_file(samples_dir / "zhihu" / name)
    assert isinstance(bad, InvalidItem) and bad.reason == "content_fragment"
    assert bad.location.endswith(name) and "no question" in bad.detail


def test_server_rendered_question_page(samples_dir):
    recs = parse_file(samples_dir / "zhihu" / "magic-html__zhihu_q586816837_a2916374892.html")
    assert [r.provenance.source_id for r in recs] == ["2916374892", "2915543920", "2916156099"]
    title = "2 月 28 日四川甘孜州泸定县发生 4.8 级地震，震源深度 8 千米，当地情况如何？"
    assert all(r.record.instruction == title for r in recs)
    assert all(r.record.domain == ["地震", "四川", "地震分析"] for r in recs)  # the question's topics
    first = recs[0]
    assert first.record.input.startswith("中国地震台网正式测定：02月28日22时46分在四川甘孜州泸定县")
    assert first.record.output.startswith("这是确实有震感")
    assert first.provenance.author == "西日韩留学吕老师"
    assert first.provenance.extra["created_time"] == "2023-03-01T06:29:33Z"  # entity createdTime
    second = recs[1]
    assert second.provenance.extra["voteup_count"] == 104 and second.provenance.extra["comment_count"] == 40
    assert second.provenance.author == "等风"
    assert second.provenance.url == "https://www.zhihu.com/question/586816837/answer/2915543920"
    # DOM-only answer: its <p> paragraphs stay paragraphs
    assert "（窗户作响，杯子中的水溅出）\n\n本次地震发生在主震附近" in second.record.output
    third = recs[2].record.output
    # two 淘宝 shop cards (广告 … 去购买) and the rule before them are page furniture, not answer text
    assert third.endswith("比起此前九月**「泸定地震」**小很多。")
    assert "去购买" not in third and "淘宝" not in third


def test_logged_in_snapshot_question_page(samples_dir):
    recs = parse_file(samples_dir / "zhihu" / "magic-html__zhihu_q651439951_a3452833521.html")
    assert [(r.provenance.source_id, r.provenance.author, r.provenance.extra["voteup_count"]) for r in recs] == [
        ("3452833521", "等风", 161), ("3452894996", "Rara", 41), ("3452940492", "七小七", 33)]
    assert recs[0].record.instruction == ("台湾突发 7.3 级地震，福建、广东、浙江、江苏、上海等地有震感，"
                                          "这次地震波及范围为何如此之广？")  # no "(99+ 封私信…)" title prefix
    assert recs[0].record.domain == ["地震", "地震分析", "地震学", "台湾花莲县海域地震"]


def test_2015_question_page(samples_dir):
    recs = parse_file(samples_dir / "zhihu" / "zhihu-py3__question.html")
    assert all(r.record.instruction == "关系亲密的人之间要说「谢谢」吗？" for r in recs)
    assert all(r.record.domain == ["心理学", "恋爱", "社会", "礼仪", "亲密关系"] for r in recs)
    first = recs[0]
    assert first.record.input.startswith("从小父母和大家庭里，长辈都教我们得到别人帮助时要说“谢谢”。")
    assert first.record.output.startswith("幽冥之事，实所难言，幽魂不须超度。")
    assert first.provenance.source_id == "39753456"  # data-atoken: the id in the answer URL
    assert first.provenance.url == "https://www.zhihu.com/question/24825703/answer/39753456"
    extra = first.provenance.extra
    assert (extra["voteup_count"], extra["comment_count"], extra["created_time"]) == (97, 20, "2015-02-14T10:13:00Z")
    assert first.provenance.author == "芝士就是力量" and extra["author_slug"] == "zhi-shi-jiu-shi-li-liang-13"
    anonymous = next(r for r in recs if r.provenance.source_id == "31009017")
    assert anonymous.provenance.author == "匿名用户" and anonymous.provenance.extra["voteup_count"] == 2


def test_2015_answer_page_reads_more_answers_from_textarea(samples_dir):
    recs = parse_file(samples_dir / "zhihu" / "zhihu-py3__answer.html")
    assert [(r.provenance.source_id, r.provenance.author, r.provenance.extra["voteup_count"]) for r in recs] == [
        ("30975949", "甜阁下", 1164), ("39753456", "芝士就是力量", 97), ("29362657", "小不点儿", 203)]
    assert recs[0].provenance.extra["comment_count"] == 160
    # the "更多回答" entries show a truncated summary ("…显示全部"); the full text is in textarea.content
    more = recs[1].record.output
    assert more.startswith("幽冥之事") and more.endswith("只是为了少给自己惹上些完全没必要存在的解释的麻烦。")
    assert "显示全部" not in more and "…" not in more


def test_licence_text_is_not_a_page(samples_dir):
    [bad] = parse_file(samples_dir / "zhihu" / "zhihu-py3__LICENSE")
    assert bad.reason == "unknown_format"


# ---- variants with no real sample in ../shared/samples: hand-written fixtures ----------------------


def test_feed_articles_questions_and_pins_are_counted():
    out = parse_file(FIXTURES / "zhihu_moments_feed.json")
    records, rejects = split(out)
    assert dict(rejects) == {"article_not_qa": 1, "question_without_answer": 1, "not_an_answer": 1}
    [rec] = records
    assert rec.record.instruction == "周邦彦和姜夔为什么名气不如苏辛？" and rec.record.output == "文学作品的意义比形式更重要。"
    locations = {o.reason: o.location for o in out if isinstance(o, InvalidItem)}
    assert locations["article_not_qa"].endswith("zhihu_moments_feed.json#article-900000000000000002")
    assert locations["question_without_answer"].endswith("#data[2]")
    assert locations["not_an_answer"].endswith("#data[3]")
    assert "十多年了，一件放不下的事" in next(o.detail for o in out if getattr(o, "reason", "") == "article_not_qa")


def test_paid_answer_is_kept_and_flagged_truncated():
    [rec] = parse_file(FIXTURES / "zhihu_answer_paid.json")
    assert rec.record.output == "这是付费内容的开头部分。"
    assert rec.provenance.extra["truncated"] is True
    assert rec.provenance.extra["truncation"] == ["content_need_truncated", "paid_preview"]
    assert rec.record.domain == ["心理学", "情感"]


def test_2015_collection_page_titles_follow_their_question():
    recs = parse_file(FIXTURES / "zhihu_legacy_collection.html")
    assert [r.provenance.source_id for r in recs] == ["13808753", "13900001"]
    assert all(r.record.instruction == "叠词为什么会有美感？" for r in recs)  # 2nd item has no title of its own
    first, second = recs
    assert first.record.output == "孔子问：您最近可好？老子说：不过尔尔。\n**每句都是叠字。**"  # no "编辑于" date line
    assert first.provenance.extra["collapsed"] is True and first.provenance.extra["voteup_count"] == 2529
    assert first.provenance.author == "东东"
    assert second.provenance.author == "匿名用户"
    # link.zhihu.com redirect unwrapped, utm_source dropped; a /question/ path in the text stays text
    assert second.record.output == "叠词读起来有节奏感。参见 [这篇](https://example.org/rhythm)，另见 /question/1/answer/2 。"


def test_answer_list_fragment_without_question_is_rejected():
    [bad] = parse_file(FIXTURES / "zhihu_legacy_more_answers.html")
    assert bad.reason == "missing_question" and bad.location.endswith("zhihu_legacy_more_answers.html#answer-39958704")


def test_column_page_saved_as_js_literal_counts_its_articles():
    out = parse_file(FIXTURES / "zhihu_column_page.js")
    assert [(o.reason, o.location.rsplit("#", 1)[1]) for o in out] == [
        ("article_not_qa", "article-348810960"), ("article_not_qa", "article-347402803")]


def test_zhuanlan_v1_post_is_an_article():
    [bad] = parse_file(FIXTURES / "zhihu_zhuanlan_v1_post.json")
    assert bad.reason == "article_not_qa" and "为了做一个称职的吃货" in bad.detail


def _page(body: bytes | str, location: str = "mem") -> RawPage:
    return RawPage(location=location, body=body.encode() if isinstance(body, str) else body, fetched_at="t")


def test_feed_items_and_lists(samples_dir):
    answer = json.loads((samples_dir / "zhihu" / "zhihu-plus-plus__real-api_answer-detail.json").read_text())
    feed = {"data": [{"verb": "ANSWER_VOTE_UP", "target": answer},
                     {"verb": "ARTICLE", "target": {"type": "article", "id": 1, "title": "专栏"}}],
            "paging": {"is_end": False, "next": "https://www.zhihu.com/api/v3/feed/topstory?page=2"}}
    out = list(zhihu.parse(_page(json.dumps(feed)), SETTINGS))
    assert [getattr(o, "reason", None) or o.record.instruction for o in out] == ["如何评价kotlin？", "article_not_qa"]
    assert zhihu.discover(_page(json.dumps(feed))) == ["https://www.zhihu.com/api/v3/feed/topstory?page=2"]
    feed["paging"]["is_end"] = True
    assert zhihu.discover(_page(json.dumps(feed))) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty_body"),
        ('{"data": [{"type": "answer", "id": 1, "question": {"title": "t"}', "json_decode"),
        ('{"error": {"code": 40352, "message": "需要登录"}}', "api_error"),
        ("<html><body><h1>请登录</h1></body></html>", "unknown_layout"),
        ('{"type": "answer", "id": 5, "question": {"title": "标题"}, "excerpt": "只有摘要"}', "excerpt_only"),
        ('{"type": "answer", "id": 5, "question": {"title": "标题"}}', "empty_answer"),
        ('{"type": "answer", "id": 5, "content": "<p>x</p>"}', "missing_question"),
        ('{"type": "comment", "id": 5, "content": "评论"}', "not_an_answer"),
        ('{"data": [], "paging": {"is_end": true}}', "no_answers"),
        ('{"stories": [], "date": "20250101"}', "unknown_json"),
    ],
)
def test_bad_inputs_become_invalid_items(body, reason):
    [out] = list(zhihu.parse(_page(body, "https://www.zhihu.com/api/v4/answers/5"), SETTINGS))
    assert isinstance(out, InvalidItem) and out.reason == reason
    assert out.location.startswith("https://www.zhihu.com/api/v4/answers/5")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "curation.cli", "ingest", "zhihu", *args]


def _records(run: Path) -> list[dict]:
    rows = []
    for part in sorted((run / "ingest-zhihu").glob("part-*.jsonl")):
        rows += [json.loads(line) for line in part.read_text().splitlines()]
    return rows


def test_cli_crawl_paging_and_faults(tmp_path, samples_dir):
    with sample_site() as site:
        run = tmp_path / "run"
        result = subprocess.run(
            _cli("--url", f"{site}/fault/429/1/zhihu/api/v4/questions/7/answers?offset=0&limit=4&total=10",
                 "--url", f"{site}/fault/500/1/zhihu/api/v4/answers/99",
                 "--url", f"{site}/fault/html-for-json/zhihu/api/v4/answers/98",
                 "--run", str(run), "--rate", "0", "--retries", "2"),
            cwd=REPO, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        rows = _records(run)
        assert len(rows) == 11  # 10 answers over 3 pages + answer 99
        assert len({r["id"] for r in rows}) == 11
        rejects = (run / "ingest-zhihu" / "rejects-00000.jsonl").read_text()
        assert '"reason":"unknown_layout"' in rejects and "/zhihu/api/v4/answers/98" in rejects
        manifest = json.loads((run / "ingest-zhihu" / "_MANIFEST.json").read_text())
        assert manifest["counts"]["kept"] == 11 and manifest["counts"]["invalid_total"] == 1
        log = request_log(site)
        assert sum("offset=" in p for p in log) == 4  # page 1 twice (429 then ok), pages 2 and 3


def test_cli_killed_crawl_resumes_without_refetch_or_duplicates(tmp_path, samples_dir):
    url = "{site}/zhihu/api/v4/questions/5/answers?offset=0&limit=1&total=30"
    with sample_site("--delay-ms", "150") as site:
        run = tmp_path / "run"
        args = _cli("--url", url.format(site=site), "--run", str(run), "--rate", "0", "--shard-size", "3")
        proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(request_log(site)) < 12 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        cached_before = set(_cached_urls(run))
        assert 5 <= len(cached_before) < 30
        log_before = len(request_log(site))
        result = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        refetched = [p for p in request_log(site)[log_before:] if "offset=" in p]
        assert not {site + p for p in refetched} & cached_before  # nothing cached was fetched again
    rows = _records(run)
    assert len(rows) == 30 and len({r["id"] for r in rows}) == 30
    assert "resumed after" in result.stderr or "done" in result.stderr


def _cached_urls(run: Path) -> list[str]:
    from sources.http import RawCache

    return RawCache(run / "_raw_cache").urls()
