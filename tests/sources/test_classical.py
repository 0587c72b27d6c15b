"""sources/classical.py on the real chinese-poetry JSON and chinese-idiom-db samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import CuratedRecord, InvalidItem
from sources.classical import iter_classical, poem_form


@pytest.fixture(scope="module")
def tang300(samples_dir: Path) -> dict:
    out = list(iter_classical([samples_dir / "classical" / "chinese-poetry__全唐诗_唐诗三百首.json"]))
    assert all(isinstance(o, CuratedRecord) for o in out)
    return {o.provenance.source_id: o for o in out}


def test_poem_tasks_are_simplified(tang300: dict) -> None:
    poem = "poem/c65539db-4e2b-4ce4-a22b-563b6ef3f4f1"  # 駱賓王《在嶽詠蟬》 in the source
    compose = tang300[f"{poem}/compose"]
    assert compose.record.instruction == "以《在岳咏蝉》为题，写一首五言律诗，主题与咏物有关。"
    assert compose.record.output.split("\n")[0] == "西陆蝉声唱，南冠客思侵。"
    assert compose.source == "chinese_traditional" and compose.provenance.author == "骆宾王"
    assert tang300[f"{poem}/author"].record.output == "《在岳咏蝉》的作者是唐代诗人骆宾王。"
    assert tang300[f"{poem}/next_line"].record.output == "“西陆蝉声唱”的下一句是“南冠客思侵”，出自唐代骆宾王的《在岳咏蝉》。"
    assert tang300[f"{poem}/themes"].record.output == "《在岳咏蝉》的题材标签为：咏物、咏物诗。"
    assert compose.record.copyright == "作者：唐·骆宾王（公有领域）；数据来源：chinese-poetry（MIT）"


def test_form_from_line_lengths() -> None:
    assert poem_form(["白日依山尽，黄河入海流。", "欲穷千里目，更上一层楼。"], []) == "五言绝句"
    assert poem_form(["a，b。"], ["七言律诗"]) == "七言律诗"
    assert poem_form(["长短不一的句子，短句。"], []) is None


def test_idioms(samples_dir: Path) -> None:
    out = list(iter_classical([samples_dir / "classical" / "chinese-idiom-db__chinese-idioms-12976.head1000.txt"]))
    by_id = {o.provenance.source_id: o for o in out}
    assert by_id["idiom/12/meaning"].record.output == "“哀莫大于心死”（āi mò dà yú xīn sǐ）：指最可悲哀的事，莫过于思想顽钝，麻木不仁。"
    assert by_id["idiom/12/origin"].record.instruction == "成语“哀莫大于心死”出自哪里？"
    example = by_id["idiom/12/example"].record.output
    assert example.startswith("人说：“哀莫大于心死。”我的心已经死了。") and "～" not in example
    assert "idiom/14/origin" not in by_id  # 哀思如潮 has no origin in the table: no origin task
    assert by_id["idiom/14/meaning"].provenance.location.endswith(".txt:2/meaning")


def test_bad_idiom_line_and_poem_item(tmp_path: Path) -> None:
    idioms = tmp_path / "idioms.txt"
    idioms.write_text('1,"一心一意","yī xīn yī yì","专心。",,,"yxyy"\n2,"缺列"\n', encoding="utf-8")
    out = list(iter_classical([idioms]))
    assert isinstance(out[-1], InvalidItem) and out[-1].reason == "csv_columns" and out[-1].location.endswith(":2")
    poems = tmp_path / "poems.json"
    poems.write_text('[{"title": "無題", "author": "李商隱", "paragraphs": []}, 3]', encoding="utf-8")
    assert [o.reason for o in iter_classical([poems])] == ["empty_poem", "wrong_type"]


def test_non_list_tags_do_not_stop_the_file(tmp_path: Path) -> None:
    path = tmp_path / "poems.json"
    path.write_text('[{"title": "静夜思", "author": "李白", "paragraphs": ["床前明月光，疑是地上霜。"], "tags": 5},'
                    ' {"title": "春晓", "author": "孟浩然", "paragraphs": ["春眠不觉晓，处处闻啼鸟。"]}]', encoding="utf-8")
    out = list(iter_classical([path]))
    assert all(isinstance(o, CuratedRecord) for o in out)
    assert {o.provenance.source_id.split("/")[1] for o in out} == {"poems.json#0", "poems.json#1"}
    assert all(o.provenance.extra["tags"] == [] for o in out)
