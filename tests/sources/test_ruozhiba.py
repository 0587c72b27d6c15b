"""sources/ruozhiba.py on every real ruozhiba sample layout, plus hand-written fixtures.

Expected values were read off the input files (the samples' MANIFEST notes give the category
counts of best100_all.json; line numbers were checked with `sed -n`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from schemas import InvalidItem
from sources.ruozhiba import Question, iter_ruozhiba

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources" / "files"


def _run(path: Path) -> tuple[list[Question], list[InvalidItem]]:
    out = list(iter_ruozhiba([path]))
    questions = [o for o in out if isinstance(o, Question)]
    rejects = [o for o in out if isinstance(o, InvalidItem)]
    assert len(questions) + len(rejects) == len(out)
    return questions, rejects


def test_titles(samples_dir: Path) -> None:
    out = list(iter_ruozhiba([samples_dir / "ruozhiba" / "znsoooo-ruozhiba__ruozhiba-title-good.json"]))
    assert len(out) == 2597 and all(isinstance(o, Question) for o in out)
    q = out[1]
    assert q.instruction == "我终于扒开雾气，却看到一堵沙子做的高墙"
    assert q.source_id == "p/8309725102" and q.provenance.url == "https://tieba.baidu.com/p/8309725102"
    assert q.provenance.author == "XS我的世界大神" and q.provenance.extra["n_reply"] == 905
    assert q.provenance.extra["abstract"] == "我感叹道：原来扒雾是沙壁啊。"
    assert q.input == ""
    assert q.copyright == "问题来源：百度贴吧弱智吧（https://tieba.baidu.com/p/8309725102），发帖人：XS我的世界大神；回答由大模型生成"


def test_annual_posts_strip_rank(samples_dir: Path) -> None:
    out = list(iter_ruozhiba([samples_dir / "ruozhiba" / "znsoooo-ruozhiba__ruozhiba-post-annual.json"]))
    assert len(out) == 1361
    assert out[0].instruction == "家电下乡送出了杨永信保证每家都能电一下。"
    assert out[0].provenance.extra["rank"] == "151" and out[0].provenance.extra["floor"] == 2
    assert out[-1].instruction.startswith("狗：你为什么不找个主人呢？")  # "65." stripped


def test_best_of_no_text(samples_dir: Path) -> None:
    """{no, text, l_num, ctime}: the same 1361 posts re-encoded with the rank in `no`."""
    questions, rejects = _run(samples_dir / "ruozhiba" / "ruozhiba-qwen-lora__ruozhiba-post-annual-processed.json")
    assert len(questions) == 1361 and not rejects
    first = questions[0]
    assert first.instruction == "家电下乡送出了杨永信保证每家都能电一下。"
    assert first.provenance.extra == {"kind": "best_of", "rank": 151, "floor": 2, "ctime": "2018-12-24 00:02"}
    assert first.provenance.author is None and first.provenance.url is None
    assert first.copyright == "问题来源：百度贴吧弱智吧；回答由大模型生成"  # no poster, no URL: no empty slot
    assert questions[-1].instruction == "狗：你为什么不找个主人呢？ 狼：你不懂自由！ 狗若有所思地离开了动物园。"


def test_categorised_jokes(samples_dir: Path) -> None:
    questions, rejects = _run(samples_dir / "ruozhiba" / "ruozhiba-qwen-lora__tieba_best100_all.json")
    assert len(questions) == 100 and not rejects
    assert Counter(q.provenance.extra["category"] for q in questions) == {
        "古典弱智": 17, "奇怪提问": 14, "弱智科学家": 15, "人生态度": 11, "文字游戏": 19, "地狱笑话": 10, "谐音梗": 7,
        "文艺弱智": 7}
    two_lines = questions[1]
    assert two_lines.instruction == "小明背井离乡，乡里人再也没能喝上一口井水。\n心狠手辣的小明舔了自己的手竟被辣哭了。"
    assert two_lines.provenance.location.endswith("best100_all.json#0/1")


def test_thread_dump_jsonl(samples_dir: Path) -> None:
    """aiotieba dump: ranked floor posts are entries; replies share the floor number (unflagged)."""
    path = samples_dir / "ruozhiba" / "ruozhiba-qwen-lora__thread10354221105_dump.first300.jsonl"
    questions, rejects = _run(path)
    assert len(questions) == 50
    assert Counter(r.reason for r in rejects) == {"thread_reply": 203, "unranked_post": 26, "empty_post": 20,
                                                  "image_only": 1}
    first = questions[0]  # line 28: "365.山上是安倍的通心粉。\n评分：3.68", floor 9
    assert first.instruction == "山上是安倍的通心粉。"
    assert first.provenance.location == f"{path}:28"
    assert first.provenance.extra["rank"] == "365" and first.provenance.extra["score"] == 3.68
    assert first.provenance.extra["floor"] == 9 and first.source_id == "p/153043310179"
    assert first.provenance.url == "https://tieba.baidu.com/p/10354221105" and first.provenance.author == "公孙闬"
    by_line = {r.location.rsplit(":", 1)[1]: r.reason for r in rejects}
    assert by_line["1"] == "image_only"  # floor 1: the best-of list itself is three images
    assert by_line["2"] == "unranked_post"  # "阅读前必看：…" preface
    assert by_line["3"] == "thread_reply"  # second row of floor 3


def test_thread_dump_text_all_rejected(samples_dir: Path) -> None:
    """The 100 jokes of this thread are images; its text is replies about them: no record."""
    path = samples_dir / "ruozhiba" / "ruozhiba-qwen-lora__thread10130417881_dump.txt"
    questions, rejects = _run(path)
    assert not questions
    assert Counter(r.reason for r in rejects) == {"unranked_post": 212, "thread_reply": 73, "empty_post": 42,
                                                  "image_only": 13, "thread_header": 1}
    by_line = {r.location.rsplit(":", 1)[1]: r for r in rejects}
    assert by_line["1"].reason == "thread_header" and "盘点弱智吧最出圈的100条段子" in by_line["1"].detail
    assert by_line["15"].reason == "image_only"  # "[楼层] 2楼": 内容 empty, one 图片URL
    assert by_line["19"].reason == "thread_reply" and by_line["19"].raw.startswith("你爹来lou:")


def test_ranked_floor_in_text_dump() -> None:
    """Hand-written in the layout of hibetterheyj/ruozhiba-qwen-lora crawler/threads/7339397421_弱智吧2020年度
    365佳贴/7339397421_dump.txt (ranked floors; the sample's own text dump has none): a multi-line entry."""
    questions, rejects = _run(FIXTURES / "ruozhiba_thread_dump.txt")
    assert [q.instruction for q in questions] == ["把闹钟拨快五分钟，我就凭空多了五分钟", "“我早就说过了”，预言家说\n昨天他说的"]
    assert [q.provenance.extra["rank"] for q in questions] == ["365", "364"]
    assert questions[0].provenance.extra["floor"] == 18 and questions[0].source_id == "p/139203290739"
    assert Counter(r.reason for r in rejects) == {"thread_header": 1, "thread_reply": 3}


def test_plain_text_lines() -> None:
    """Hand-written in the layout of znsoooo/ruozhiba data/ruozhiba-title-good.txt: one title per line."""
    path = FIXTURES / "ruozhiba_titles.txt"
    questions, rejects = _run(path)
    assert not rejects
    assert [q.instruction for q in questions] == ["狐狸借老虎的威风出门，回来发现老虎借了它的。", "我把雾拨开，看见一堵沙墙。原来拨雾是沙壁。",
                                                  "佛系出门的。"]
    assert questions[0].provenance.extra["kind"] == "text_line" and questions[0].provenance.author is None
    assert [q.provenance.location for q in questions] == [f"{path}:1", f"{path}:2", f"{path}:4"]  # blank line 3


@pytest.mark.parametrize("content, reason, hint", [
    ('[{"instruction": "咖啡是豆浆吗", "output": "不是"}]', "unknown_layout", "cqia ingest import"),
    ('{"10130417881": "弱智吧21岁生日快乐"}', "json_shape", "holds no list of items"),  # the shared reader says so
    ('[{"conversations": []}]', "unknown_layout", "match no known ruozhiba layout"),
])
def test_unknown_layouts_are_located_rejects(tmp_path: Path, content: str, reason: str, hint: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content, encoding="utf-8")
    out = list(iter_ruozhiba([path]))
    assert len(out) == 1 and isinstance(out[0], InvalidItem)
    assert out[0].reason == reason and hint in out[0].detail and out[0].location.startswith(str(path))


def test_bad_items(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('[{"title": "  "}, {"content": "12、"}, {"x": 1}, "s", {"category": "c", "jokes": []}]',
                    encoding="utf-8")
    out = list(iter_ruozhiba([path]))
    assert [o.reason for o in out] == ["empty_title", "empty_post", "unknown_layout", "wrong_type", "empty_category"]
    assert all(isinstance(o, InvalidItem) for o in out) and out[1].location.endswith("#1")
    other = tmp_path / "t.csv"
    other.write_text("a,b\n", encoding="utf-8")
    assert [o.reason for o in iter_ruozhiba([other])] == ["unsupported_file"]


def test_plain_text_apparatus_lines_rejected(tmp_path: Path) -> None:
    """Imitates hibetterheyj/ruozhiba-qwen-lora crawler/threads/目录.txt (a thread index, not titles)."""
    path = tmp_path / "index.txt"
    path.write_text("----- 帖子目录 -----\n帖子ID: 123   | 标题: 年度佳贴\n真正的标题：为什么不能这样\n", encoding="utf-8")
    out = list(iter_ruozhiba([path]))
    assert [getattr(o, "reason", "question") for o in out] == ["unknown_layout", "unknown_layout", "question"]
    assert out[2].instruction == "真正的标题：为什么不能这样"
