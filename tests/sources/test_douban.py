"""sources/douban.py over every real Douban sample and one fixture (a cut comment without full text).

Values asserted were read off the pages: kinds from JSON-LD `@type` / the 首播 line, vote counts,
comment ids, the synopsis the book page cuts mid-sentence.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from schemas import CuratedRecord, InvalidItem
from sources import douban
from sources.http.page import RawPage, page_from_file
from sources.settings import load_settings

SETTINGS = load_settings("douban")
WEB = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "web"
MOVIE = "neodb__https___movie_douban_com_subject_3541415_.html"
TV = "neodb__https___movie_douban_com_subject_3627919_.html"
TV_SPECIAL = "neodb__https___movie_douban_com_subject_4296866_.html"
BOOK = "neodb__https___book_douban_com_subject_1089243_.html"
BOOK_PRETTIFIED = "neodb__https___book_douban_com_subject_36255848_.html"
WORKS = "neodb__https___book_douban_com_works_1008677_.html"
COMMENTS = "magic-html__douban_subject_36151693_comments.html"


def run(path: Path) -> tuple[dict[str, CuratedRecord], list[InvalidItem]]:
    out = list(douban.parse(page_from_file(path), SETTINGS))
    records = {o.provenance.source_id: o for o in out if isinstance(o, CuratedRecord)}
    assert len(records) == sum(isinstance(o, CuratedRecord) for o in out)  # no duplicate ids
    return records, [o for o in out if isinstance(o, InvalidItem)]


def templates(records: dict[str, CuratedRecord]) -> Counter:
    return Counter(r.provenance.extra["template"] for r in records.values())


def test_movie_page(samples_dir):
    recs, rejects = run(samples_dir / "douban" / MOVIE)
    assert not rejects
    assert templates(recs) == {"summary": 1, "recommend": 1, "short_comment": 5, "review_title": 10}
    summary = recs["movie:3541415:summary"]
    assert summary.record.instruction == "请简要介绍电影《盗梦空间 Inception》的主要内容。"
    assert summary.record.output.startswith("道姆·柯布（莱昂纳多·迪卡普里奥 Leonardo DiCaprio 饰）与同事阿瑟")
    assert summary.record.output.endswith("实际情况远比预想危险得多……")  # the hidden full text, not the cut one
    assert summary.record.domain == ["影视", "电影"] and summary.record.task_type.minor == ["电影简介"]
    assert summary.provenance.url == "https://movie.douban.com/subject/3541415/"
    assert summary.provenance.extra["rating"] == "9.4" and summary.provenance.extra["rating_votes"] == 1970885
    rec = recs["movie:3541415:recommend"]
    assert rec.record.instruction == "请推荐一部剧情/科幻电影，并简单说明推荐理由。"
    assert rec.record.output.startswith("推荐电影《盗梦空间 Inception》（2010，导演：克里斯托弗·诺兰，类型：剧情/科幻/悬疑）。"
                                        "它在豆瓣上的评分为 9.4 分（1970885 人评价）。")
    top = recs["movie:3541415:comment:288799445"]
    assert top.record.output == "大概广电局也不知道该从哪里剪"
    assert top.provenance.extra["votes"] == 47799 and top.provenance.author == "山风如月"
    assert top.provenance.extra["time"] == "2010-09-01 10:06:31" and top.provenance.extra["stars"] == 5
    # the writer's own "..." is not a cut: no "(展开)" link on this comment
    assert recs["movie:3541415:comment:277134304"].record.output == "卡梅隆负责革新电影技术，诺兰负责革新电影结构..."
    review = recs["movie:3541415:review:3447868"]
    assert review.record.output == "Inception 情节逻辑完全解析"
    assert review.record.input.startswith("Inception 情节逻辑完全解析 （有不明白地方的进，没看过的别进）")
    assert review.provenance.extra["votes"] == 18904 and review.provenance.extra["excerpt_truncated"]
    # client-side template blocks (`{{votes}}`, `{{content_tmpl content}}`) never leak into records
    assert not any("{{" in r.record.output + r.record.input for r in recs.values())


def test_tv_series_is_called_a_tv_series(samples_dir):
    recs, rejects = run(samples_dir / "douban" / TV)  # JSON-LD @type TVSeries, 集数: 13
    assert not rejects and len(recs) == 17
    assert all(r.provenance.source_id.startswith("tv:3627919:") for r in recs.values())
    assert all("电影" not in r.record.instruction for r in recs.values())
    assert all(r.record.domain == ["影视", "电视剧"] for r in recs.values())
    summary = recs["tv:3627919:summary"]
    assert summary.record.instruction == "请简要介绍电视剧《神秘博士 第四季 Doctor Who Season 4》的主要内容。"
    assert recs["tv:3627919:recommend"].record.instruction == "请推荐一部剧情/科幻电视剧，并简单说明推荐理由。"
    assert recs["tv:3627919:comment:192209905"].provenance.extra["votes"] == 325


def test_tv_special_filed_as_a_film_follows_the_page(samples_dir):
    recs, rejects = run(samples_dir / "douban" / TV_SPECIAL)  # @type Movie, "谁在看这部电影"
    assert not rejects and templates(recs) == {"summary": 1, "recommend": 1, "short_comment": 5, "review_title": 1}
    assert recs["movie:4296866:summary"].record.instruction == \
        "请简要介绍电影《神秘博士：逃跑新娘 Doctor Who: The Runaway Bride》的主要内容。"


def test_book_page(samples_dir):
    path = samples_dir / "douban" / BOOK
    recs, rejects = run(path)
    assert templates(recs) == {"short_comment": 10, "review_title": 9}
    assert all(r.record.domain == ["读书"] for r in recs.values())
    # the page's own intro stops mid-sentence ("…将性爱表现得既放浪形骸又纯"): not a complete answer
    [cut] = rejects
    assert (cut.reason, cut.location) == ("truncated_text", f"{path}#summary") and "又纯" in cut.detail
    first = recs["book:1089243:comment:913021077"]
    assert first.record.instruction == "用一两句话写一条关于图书《黄金时代》的短评。"
    assert first.record.output.startswith("1、他对女士们爱得深沉")
    assert first.record.task_type.minor == ["图书短评"] and first.provenance.extra["votes"] == 185
    # zero-vote comments are records with their count, for curation to filter, not silent drops
    zero = [r for r in recs.values() if r.provenance.extra.get("votes") == 0]
    assert sorted(r.provenance.extra["comment_id"] for r in zero) == [
        "1936248998", "3591683321", "3592288504", "3592420852", "3593102424"]
    assert recs["book:1089243:comment:3593102424"].record.output == "我爱王小波"
    review = recs["book:1089243:review:5915117"]
    assert review.record.output == "王二是不是在装糊涂？不能说话的叙述者"
    assert not review.record.input.startswith("这篇书评可能有关键情节透露")  # spoiler banner removed


def test_prettified_book_page_keeps_paragraphs_and_full_comments(samples_dir):
    recs, rejects = run(samples_dir / "douban" / BOOK_PRETTIFIED)
    assert not rejects and templates(recs) == {"summary": 1, "recommend": 1, "short_comment": 5, "review_title": 9}
    summary = recs["book:36255848:summary"]
    assert summary.record.instruction == "请简要介绍图书《工厂日记》的主要内容。"
    assert summary.record.output.split("\n")[:3] == ["****", "法国向当代世界奉献出的一份珍贵礼物：西蒙娜·薇依。", "——切斯瓦夫·米沃什"]
    assert recs["book:36255848:recommend"].record.instruction == "请推荐一本图书，并简单说明推荐理由。"
    # the page shows this comment cut ("…的情...") and holds the whole text in span.hide-item.full
    long = recs["book:36255848:comment:3924656771"].record.output
    assert long.endswith("浮云望眼，日复一日。 直视世界的残酷与真实面貌需要太大的勇气。") and "..." not in long


def test_works_page_is_rejected_and_its_editions_discovered(samples_dir):
    path = samples_dir / "douban" / WORKS
    recs, [bad] = run(path)
    assert not recs
    assert bad.reason == "not_a_subject_page" and "works" in bad.detail and "黄金时代 全部版本(31)" in bad.detail
    editions = douban.discover(page_from_file(path))
    assert len(editions) == 31 and editions[0] == "https://book.douban.com/subject/1089243/"


def test_short_comment_listing_page(samples_dir):
    recs, rejects = run(samples_dir / "douban" / COMMENTS)
    assert not rejects and len(recs) == 20 and templates(recs) == {"short_comment": 20}
    first = recs["tv:36151693:comment:3682426781"]  # 首播日期 in the aside: a TV series
    assert first.record.instruction == "用一两句话写一条关于电视剧《不够善良的我们》的短评。"
    assert first.record.output == "我们的善良和恶毒都不够纯粹，所以痛苦。"
    assert first.provenance.extra["votes"] == 6765 and first.provenance.extra["stars"] == 5
    assert first.provenance.url == "https://movie.douban.com/subject/36151693/"
    stars = Counter(r.provenance.extra.get("stars") for r in recs.values())
    assert stars == {5: 11, 4: 7, 3: 1, 1: 1}  # allstar50 ×11, 40 ×7, 30 ×1, 10 ×1


def test_cut_comment_without_full_text_is_rejected():
    path = WEB / "douban_book_comments_cut.html"
    recs, rejects = run(path)
    assert [(r.reason, r.location) for r in rejects] == [("truncated_text", f"{path}#comment:4000000001")]
    assert recs["book:90000001:comment:4000000002"].provenance.extra["votes"] == 0
    assert recs["book:90000001:summary"].record.output == "这是一本关于写作的书。\n作者用十二个短章讲述了写作的日常。"


def test_vote_threshold_turns_low_comments_into_counted_rejects(samples_dir):
    settings = SETTINGS.model_copy(update={"options": {**SETTINGS.options, "min_comment_votes": 10}})
    out = list(douban.parse(page_from_file(samples_dir / "douban" / BOOK), settings))
    low = [o for o in out if isinstance(o, InvalidItem) and o.reason == "below_min_votes"]
    assert len(low) == 5 and all("0 votes < min_comment_votes=10" in o.detail for o in low)


def test_gbk_page_parses_like_utf8(samples_dir):
    raw = (samples_dir / "douban" / MOVIE).read_text("utf-8").replace("charset=utf-8", "charset=gbk")
    page = RawPage("https://movie.douban.com/subject/3541415/", raw.encode("gb18030"), "t",
                   content_type="text/html; charset=gbk")
    recs = {o.provenance.source_id: o for o in douban.parse(page, SETTINGS) if isinstance(o, CuratedRecord)}
    assert recs["movie:3541415:comment:288799445"].record.output == "大概广电局也不知道该从哪里剪"


def test_other_douban_pages_are_named():
    def reject(html: str) -> InvalidItem:
        [bad] = list(douban.parse(RawPage("https://www.douban.com/x", html.encode(), "t"), SETTINGS))
        return bad
    music = reject('<html><head><title>Rubber Soul (豆瓣)</title><meta property="og:type" content="music.album">'
                   '</head><body><span property="v:itemreviewed">Rubber Soul</span></body></html>')
    assert music.reason == "not_a_subject_page" and "music album" in music.detail
    blocked = reject("<html><title>禁止访问</title></html>")
    assert blocked.reason == "not_a_subject_page" and "禁止访问" in blocked.detail
