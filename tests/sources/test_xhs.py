"""sources/xhs.py on the real Xiaohongshu sample (and one fixture note where the sample has no text)."""

from __future__ import annotations

from pathlib import Path

from schemas import CuratedRecord, InvalidItem
from sources import xhs
from sources.http.page import RawPage, page_from_file
from sources.settings import load_settings

SETTINGS = load_settings("xhs")
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "web" / "xhs_note_normal.json"


def test_real_video_note_gives_title_from_tags_task(samples_dir):
    [rec] = list(xhs.parse(page_from_file(samples_dir / "xiaohongshu" / "spider_xhs__test_one_info.derived.json"), SETTINGS))
    assert isinstance(rec, CuratedRecord)
    assert rec.record.instruction == "请根据以下话题标签，为一篇小红书视频笔记写一个吸引人的标题：#法式装修 #家居版一张封神 #设计 #莫语沙发"
    assert rec.record.output == "一镜到底｜无滤镜｜我的76平轻法式浪漫小家🏠"
    extra = rec.provenance.extra
    assert extra["liked_count"] == 683 and extra["collected_count"] == 520 and extra["type"] == "video"
    assert extra["time"] == "2023-04-11T13:48:23Z"
    assert rec.provenance.author == "迷路与鹿"
    assert rec.provenance.url == "https://www.xiaohongshu.com/explore/64356527000000001303282b"
    assert rec.record.task_type.minor == ["标题生成"]


def test_image_note_templates_and_topic_cleanup():
    # fixture: the real sample has an empty desc, so no note-writing task could be shown with it
    out = list(xhs.parse(page_from_file(FIXTURE), SETTINGS))
    recs = [o for o in out if isinstance(o, CuratedRecord)]
    assert [r.provenance.extra["template"] for r in recs] == ["write_note", "title_from_desc", "title_from_tags"]
    note = recs[0]
    assert note.record.instruction == "请以“新手也能做的番茄炒蛋”为标题，写一篇小红书风格的笔记。"
    assert note.record.output.endswith("3. 最后放一小勺糖提鲜 #家常菜 #番茄炒蛋")
    assert "[话题]" not in note.record.output
    assert note.provenance.extra["liked_count"] == 12000
    [bad] = [o for o in out if isinstance(o, InvalidItem)]
    assert bad.reason == "no_usable_text" and "650a1b2c000000001e03a222" in bad.detail


def test_html_where_json_expected():
    [bad] = list(xhs.parse(RawPage("https://www.xiaohongshu.com/explore/x", b"<html>login</html>", "t"), SETTINGS))
    assert bad.reason == "not_json" and bad.location == "https://www.xiaohongshu.com/explore/x"
