"""sources/ruozhiba.py on the real title and annual-post samples."""

from __future__ import annotations

from pathlib import Path

from schemas import InvalidItem
from sources.ruozhiba import Question, iter_ruozhiba


def test_titles(samples_dir: Path) -> None:
    out = list(iter_ruozhiba([samples_dir / "ruozhiba" / "znsoooo-ruozhiba__ruozhiba-title-good.json"]))
    assert len(out) == 2597 and all(isinstance(o, Question) for o in out)
    q = out[1]
    assert q.instruction == "我终于扒开雾气，却看到一堵沙子做的高墙"
    assert q.source_id == "p/8309725102" and q.provenance.url == "https://tieba.baidu.com/p/8309725102"
    assert q.provenance.author == "XS我的世界大神" and q.provenance.extra["n_reply"] == 905
    assert q.provenance.extra["abstract"] == "我感叹道：原来扒雾是沙壁啊。"
    assert q.input == "" and "弱智吧" in q.copyright


def test_annual_posts_strip_rank(samples_dir: Path) -> None:
    out = list(iter_ruozhiba([samples_dir / "ruozhiba" / "znsoooo-ruozhiba__ruozhiba-post-annual.json"]))
    assert out[0].instruction == "家电下乡送出了杨永信保证每家都能电一下。"
    assert out[0].provenance.extra["rank"] == "151" and out[0].provenance.extra["floor"] == 2
    assert out[-1].instruction.startswith("狗：你为什么不找个主人呢？")  # "65." stripped


def test_bad_items(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('[{"title": "  "}, {"content": "12、"}, {"x": 1}, "s"]', encoding="utf-8")
    out = list(iter_ruozhiba([path]))
    assert [o.reason for o in out] == ["empty_title", "empty_post", "unknown_item", "wrong_type"]
    assert all(isinstance(o, InvalidItem) for o in out) and out[1].location.endswith("#1")
