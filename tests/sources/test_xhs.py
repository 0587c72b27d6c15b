"""sources/xhs.py over every real Xiaohongshu sample and hand-written fixtures for the other layouts.

Fixtures (tests/fixtures/sources/web/, origins in README.md there) imitate: the home feed and search
APIs (previews), user posted notes (previews), the app search API (desc excerpt), a server-rendered
note page, and MediaCrawler's JSON / JSONL / CSV outputs. Expected values were read off the inputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import CuratedRecord, InvalidItem
from sources import xhs
from sources.http.page import RawPage, page_from_file
from sources.settings import load_settings

SETTINGS = load_settings("xhs")
WEB = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "web"
INFO = "Spider_XHS__media_datas_68739bb5000000002201f057_info.json"
DETAIL = "Spider_XHS__media_datas_68739bb5000000002201f057_detail.txt"
USER_PAGE = "Spider_XHS__test_user_info.derived.json"
ONE_INFO = "spider_xhs__test_one_info.derived.json"


def run(path: Path) -> tuple[list[CuratedRecord], list[InvalidItem]]:
    out = list(xhs.parse(page_from_file(path), SETTINGS))
    assert all(o.location.startswith(str(path)) if isinstance(o, InvalidItem) else
               o.provenance.location.startswith(str(path)) for o in out)
    return [o for o in out if isinstance(o, CuratedRecord)], [o for o in out if isinstance(o, InvalidItem)]


def parse_bytes(body: bytes) -> list:
    return list(xhs.parse(RawPage("mem://x", body, "t"), SETTINGS))


def by_template(records: list[CuratedRecord]) -> dict[str, CuratedRecord]:
    return {r.provenance.extra["template"]: r for r in records}


# ---- real samples ----------------------------------------------------------------------------

def test_spider_xhs_info_json(samples_dir):
    records, rejects = run(samples_dir / "xiaohongshu" / INFO)
    assert not rejects
    recs = by_template(records)
    assert set(recs) == {"write_note", "title_from_desc", "title_from_tags"}
    note = recs["write_note"]
    assert note.record.instruction == "请以“在新加坡！小红书跟风最成功的一次”为标题，写一篇小红书风格的笔记。"
    assert note.record.output.startswith("家人们谁懂啊！这次来新加坡玩，终于跟风成功了一次！🤩 之前刷到无数博主安利")
    assert note.record.output.endswith("#QT酒店 #新加坡无边泳池 #新加坡设计酒店  #跟风成功")
    assert "[话题]" not in note.record.output and "\xa0" not in note.record.output
    assert recs["title_from_tags"].record.instruction == (
        "请根据以下话题标签，为一篇小红书图文笔记写一个吸引人的标题：#新加坡旅游 #新加坡酒店 #新加坡网红酒店 #新加坡打卡 "
        "#QT酒店 #新加坡无边泳池 #新加坡设计酒店 #跟风成功")
    extra = note.provenance.extra
    assert extra["layout"] == "spider_xhs_info" and extra["type"] == "normal"  # 笔记类型 图集
    assert (extra["liked_count"], extra["collected_count"], extra["share_count"]) == (12, 1, 1)
    assert "comment_count" not in extra  # the file has an empty string
    assert "ip_location" not in extra  # Spider_XHS writes 未知 for "no location"
    assert extra["upload_time_local"] == "2025-07-13 19:42:45" and extra["image_count"] == 11
    assert note.provenance.author == "新加坡QT HOTEL" and extra["user_id"] == "65bf7c33000000000903cfec"
    assert note.provenance.url == "https://www.xiaohongshu.com/explore/68739bb5000000002201f057"  # no xsec_token


def test_spider_xhs_detail_txt_reads_like_its_info_json(samples_dir):
    txt_records, txt_rejects = run(samples_dir / "xiaohongshu" / DETAIL)
    json_records, _ = run(samples_dir / "xiaohongshu" / INFO)
    assert not txt_rejects
    assert [r.id for r in txt_records] == [r.id for r in json_records]  # same note → same record ids
    assert [r.record for r in txt_records] == [r.record for r in json_records]
    assert txt_records[0].provenance.extra["layout"] == "spider_xhs_detail_txt"


def test_ssr_profile_page_cards_are_located_preview_rejects(samples_dir):
    path = samples_dir / "xiaohongshu" / USER_PAGE
    records, rejects = run(path)
    assert not records and len(rejects) == 6  # user.notes = [[6 cards], [], []]
    assert {r.reason for r in rejects} == {"listing_preview"}
    assert rejects[0].location == f"{path}#user.notes[0][0]#note-6515ad71000000001e02e5a0"
    assert "南宁好GING" in rejects[0].detail and "preview" in rejects[0].detail


def test_web_feed_video_note_gives_title_from_tags_task(samples_dir):
    [rec], rejects = run(samples_dir / "xiaohongshu" / ONE_INFO)
    assert not rejects
    assert rec.record.instruction == "请根据以下话题标签，为一篇小红书视频笔记写一个吸引人的标题：#法式装修 #家居版一张封神 #设计 #莫语沙发"
    assert rec.record.output == "一镜到底｜无滤镜｜我的76平轻法式浪漫小家🏠"
    extra = rec.provenance.extra
    assert extra["liked_count"] == 683 and extra["collected_count"] == 520 and extra["type"] == "video"
    assert extra["time"] == "2023-04-11T13:48:23Z" and extra["layout"] == "web_feed"
    assert rec.provenance.author == "迷路与鹿"
    assert rec.provenance.url == "https://www.xiaohongshu.com/explore/64356527000000001303282b"
    assert rec.record.task_type.minor == ["标题生成"]


# ---- web API fixtures ------------------------------------------------------------------------

def test_web_feed_note_templates_and_topic_cleanup():
    records, rejects = run(WEB / "xhs_note_normal.json")
    assert [r.provenance.extra["template"] for r in records] == ["write_note", "title_from_desc", "title_from_tags"]
    note = records[0]
    assert note.record.instruction == "请以“新手也能做的番茄炒蛋”为标题，写一篇小红书风格的笔记。"
    assert note.record.output.endswith("3. 最后放一小勺糖提鲜 #家常菜 #番茄炒蛋")
    assert note.provenance.extra["liked_count"] == 12000  # "1.2万"
    [bad] = rejects
    assert bad.reason == "no_usable_text" and "650a1b2c000000001e03a222" in bad.detail


@pytest.mark.parametrize(("name", "count", "where"), [
    ("xhs_homefeed.json", 2, "#data.items[0]#note-66a1b2c3000000001e01a001"),
    ("xhs_user_posted.json", 2, "#data.notes[0]#note-64f000000000000013001001"),
])
def test_feed_and_user_posted_cards_are_previews(name, count, where):
    records, rejects = run(WEB / name)
    assert not records and len(rejects) == count
    assert {r.reason for r in rejects} == {"listing_preview"}
    assert rejects[0].location == str(WEB / name) + where


def test_search_results_name_non_note_items():
    records, rejects = run(WEB / "xhs_search_notes.json")
    assert not records
    assert [(r.reason, r.location.rsplit("#", 2)[-1]) for r in rejects] == [
        ("listing_preview", "note-66b000000000000012003001"), ("not_a_note", "data.items[1]"),
        ("not_a_note", "data.items[2]")]
    assert "rec_query" in rejects[1].detail and "hot_query" in rejects[2].detail


def test_success_envelope_with_unknown_payload_names_the_layout():
    body = '{"code":0,"success":true,"msg":"成功","data":{"cursor":"x","has_more":false,"foo":[]}}'.encode()
    [bad] = parse_bytes(body)
    assert bad.reason == "unknown_layout"
    assert "'成功'" in bad.detail and "data keys [cursor, foo, has_more]" in bad.detail


def test_comment_page_items_are_not_notes():
    body = ('{"code":0,"success":true,"msg":"成功","data":{"cursor":"c","has_more":false,"comments":['
            '{"id":"c1","content":"好看","note_id":"n1","user_info":{"nickname":"甲"},"sub_comments":[]}]}}').encode()
    [bad] = parse_bytes(body)
    assert (bad.reason, bad.location) == ("not_a_note", "mem://x#data.comments[0]")


def test_api_error_and_empty_feed():
    [bad] = parse_bytes('{"code":-100,"success":false,"msg":"登录已过期","data":{}}'.encode())
    assert bad.reason == "api_error" and "登录已过期" in bad.detail
    [empty] = parse_bytes(b'{"code":0,"success":true,"msg":"ok","data":{"items":[]}}')
    assert empty.reason == "no_items"


def test_app_search_desc_is_an_excerpt_used_only_as_input():
    [rec], rejects = run(WEB / "xhs_app_search.json")
    assert not rejects
    assert rec.provenance.extra["template"] == "title_from_desc"  # never write_note from a cut desc
    assert rec.record.output == "宝宝秋冬衣服怎么选"
    assert rec.record.input.endswith("尤其是尺码这部分一定要看到最后，因为我")
    assert rec.provenance.extra["desc_truncated"] is True and rec.provenance.extra["layout"] == "app_search"


# ---- server-rendered pages -------------------------------------------------------------------

def test_ssr_note_page():
    path = WEB / "xhs_ssr_note_page.html"
    records, rejects = run(path)
    recs = by_template(records)
    assert recs["write_note"].record.output.endswith("2. 番茄先去皮，出汁更多 #家常菜")
    assert recs["title_from_tags"].record.instruction.endswith("图文笔记写一个吸引人的标题：#家常菜")  # location tag dropped
    extra = recs["write_note"].provenance.extra
    assert extra["layout"] == "ssr_note_page" and extra["liked_count"] == 12000 and extra["comment_count"] == 78
    assert extra["time"] == "2023-09-20T08:53:20Z" and extra["ip_location"] == "上海" and extra["image_count"] == 2
    assert recs["write_note"].provenance.author == "厨房小白"
    [deleted] = rejects
    assert deleted.reason == "no_note_content" and deleted.location == f"{path}#note-650a1b2c000000001e03a444"


def test_ssr_without_state_or_with_empty_state():
    [login] = parse_bytes("<html><body><h1>请登录</h1></body></html>".encode())
    assert login.reason == "not_a_note_page"
    [empty] = parse_bytes(b"<html><script>window.__INITIAL_STATE__={}</script></html>")
    assert empty.reason == "no_notes" and "empty" in empty.detail


# ---- crawler outputs ---------------------------------------------------------------------------

def test_mediacrawler_json_keeps_counts_and_drops_derived_titles():
    path = WEB / "xhs_mediacrawler_search_contents.json"
    records, rejects = run(path)
    recs = by_template(records)
    extra = recs["write_note"].provenance.extra
    assert extra["layout"] == "mediacrawler" and extra["liked_count"] == "10+" and extra["collected_count"] == 11000
    assert extra["source_keyword"] == "精油" and extra["time"] == "2025-03-07T09:01:18Z"
    assert recs["write_note"].provenance.url == "https://www.xiaohongshu.com/explore/67c97579000000000900f000"
    assert recs["title_from_tags"].record.instruction.endswith("#精油 #香薰 #睡眠")
    # row 2's title is MediaCrawler's desc[:255] stand-in, not a title: no title task is built from it
    [no_title] = rejects
    assert no_title.reason == "no_usable_text" and no_title.location == f"{path}[1]#note-67c97579000000000900f001"
    assert "title=False" in no_title.detail


def test_mediacrawler_jsonl_every_line_accounted_for():
    path = WEB / "xhs_mediacrawler_contents.jsonl"
    records, rejects = run(path)
    assert len(records) == 3 and records[0].provenance.author == "通**"
    assert records[0].provenance.extra["user_id"] == "c3f1a9"  # creator_hash of current MediaCrawler
    assert [(r.location, r.reason) for r in rejects] == [
        (f"{path}:2", "json_decode"), (f"{path}:3#comment-6800aa00000000000f000001", "not_a_note")]


def test_mediacrawler_csv_with_multiline_desc():
    path = WEB / "xhs_mediacrawler_search_contents.csv"
    records, rejects = run(path)
    assert not rejects and len(records) == 3
    note = by_template(records)["write_note"]
    assert note.record.output.startswith("如果说单方精油是风味各异的基酒\n那复方精油就是调制好的鸡尾酒")
    assert note.provenance.location == f"{path}:2#note-67c97579000000000900f002:write_note"


def test_other_text_is_an_unknown_layout():
    [bad] = parse_bytes("随便一段文字".encode())
    assert bad.reason == "unknown_layout"
    [bad] = parse_bytes(b'{"data": [1')
    assert bad.reason == "json_decode"
