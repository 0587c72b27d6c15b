"""sources/douban.py on the real movie and book subject pages."""

from __future__ import annotations

from schemas import CuratedRecord
from sources import douban
from sources.http.page import RawPage, page_from_file
from sources.settings import load_settings

SETTINGS = load_settings("douban")
MOVIE = "neodb__https___movie_douban_com_subject_3541415_.html"
BOOK = "neodb__https___book_douban_com_subject_1089243_.html"


def by_key(out):
    return {o.provenance.source_id: o for o in out if isinstance(o, CuratedRecord)}


def test_movie_page(samples_dir):
    recs = by_key(douban.parse(page_from_file(samples_dir / "douban" / MOVIE), SETTINGS))
    summary = recs["movie:3541415:summary"]
    assert summary.record.instruction == "请简要介绍电影《盗梦空间 Inception》的主要内容。"
    assert summary.record.output.startswith("道姆·柯布（莱昂纳多·迪卡普里奥 Leonardo DiCaprio 饰）与同事阿瑟")
    assert summary.provenance.url == "https://movie.douban.com/subject/3541415/"
    assert summary.provenance.extra["rating"] == "9.4" and summary.provenance.extra["rating_votes"] == 1970885
    rec = recs["movie:3541415:recommend"]
    assert rec.record.instruction == "请推荐一部剧情/科幻电影，并简单说明推荐理由。"
    assert rec.record.output.startswith("推荐电影《盗梦空间 Inception》（2010，导演：克里斯托弗·诺兰，类型：剧情/科幻/悬疑）。它在豆瓣上的评分为 9.4 分（1970885 人评价）。")
    top = recs["movie:3541415:comment:288799445"]
    assert top.record.output == "大概广电局也不知道该从哪里剪"
    assert top.provenance.extra["comment_votes"] == 47799 and top.provenance.author == "山风如月"
    review = recs["movie:3541415:review:3447868"]
    assert review.record.output == "Inception 情节逻辑完全解析"
    assert review.record.input.startswith("Inception 情节逻辑完全解析 （有不明白地方的进，没看过的别进）")
    assert review.provenance.extra["review_useful"] == 18904 and review.provenance.extra["excerpt_truncated"]
    # client-side template blocks (`{{votes}}`, `{{content_tmpl content}}`) never leak into records
    assert not any("{{" in r.record.output + r.record.input for r in recs.values())


def test_book_page(samples_dir):
    out = list(douban.parse(page_from_file(samples_dir / "douban" / BOOK), SETTINGS))
    recs = by_key(out)
    assert recs["book:1089243:summary"].record.instruction == "请简要介绍书《黄金时代》的主要内容。"
    assert recs["book:1089243:summary"].record.output.startswith("《黄金时代》是《时代三部曲》之一。")
    assert "（作者：王小波）" in recs["book:1089243:recommend"].record.output
    assert recs["book:1089243:comment:913021077"].record.output.startswith("1、他对女士们爱得深沉")
    assert recs["book:1089243:comment:913021077"].provenance.extra["comment_votes"] == 185
    review = recs["book:1089243:review:5915117"]
    assert review.record.output == "王二是不是在装糊涂？不能说话的叙述者"
    assert not review.record.input.startswith("这篇书评可能有关键情节透露")  # spoiler banner removed
    comments = [r for r in recs.values() if r.provenance.extra["template"] == "short_comment"]
    assert all(r.provenance.extra["comment_votes"] >= SETTINGS.options["min_comment_votes"] for r in comments)


def test_gbk_page_parses_like_utf8(samples_dir):
    raw = (samples_dir / "douban" / MOVIE).read_text("utf-8").replace("charset=utf-8", "charset=gbk")
    page = RawPage("https://movie.douban.com/subject/3541415/", raw.encode("gb18030"), "t",
                   content_type="text/html; charset=gbk")
    recs = by_key(douban.parse(page, SETTINGS))
    assert recs["movie:3541415:comment:288799445"].record.output == "大概广电局也不知道该从哪里剪"


def test_blocked_page_is_rejected():
    [bad] = list(douban.parse(RawPage("https://movie.douban.com/subject/1/", "<html><title>禁止访问</title></html>".encode(), "t"), SETTINGS))
    assert bad.reason == "not_a_subject_page" and bad.location == "https://movie.douban.com/subject/1/"
