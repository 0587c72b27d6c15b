"""sources/classical.py on the real chinese-poetry / chinese-idiom-db samples and hand-written
fixtures for layouts without a sample (each fixture says which real file it imitates).

Expected values were read off the inputs: item counts with `json.load` + `len`, texts by eye."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from schemas import CuratedRecord, InvalidItem
from sources.classical import iter_classical, poem_form

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources" / "files"


def _split(path: Path) -> tuple[dict[str, CuratedRecord], list[InvalidItem]]:
    out = list(iter_classical([path]))
    records = {o.provenance.source_id: o for o in out if isinstance(o, CuratedRecord)}
    rejects = [o for o in out if isinstance(o, InvalidItem)]
    assert len(records) + len(rejects) == len(out)
    return records, rejects


def _items(records: dict[str, CuratedRecord]) -> set[str]:
    """Input items that gave records: locations without the '/task' suffix."""
    return {r.provenance.location.rsplit("/", 1)[0] for r in records.values()}


def _no_empty_slot(text: str) -> bool:
    """A template printed with an empty slot leaves '的《', '是。', '“”' or '出自的'."""
    return not re.search(r"出自的|作者是。|是代|“”|《》|【】|\{\w+\}", text)


@pytest.fixture(scope="module")
def tang300(samples_dir: Path) -> dict:
    records, rejects = _split(samples_dir / "classical" / "chinese-poetry__全唐诗_唐诗三百首.json")
    assert not rejects
    return records


def test_poem_tasks_are_simplified(tang300: dict) -> None:
    poem = "poem/c65539db-4e2b-4ce4-a22b-563b6ef3f4f1"  # 駱賓王《在嶽詠蟬》 in the source
    compose = tang300[f"{poem}/compose"]
    assert compose.record.instruction == "以《在岳咏蝉》为题，写一首五言律诗，主题与咏物有关。"
    assert compose.record.output.split("\n")[0] == "西陆蝉声唱，南冠客思侵。"
    assert compose.source == "chinese_traditional" and compose.provenance.author == "骆宾王"
    assert compose.record.task_type.minor == ["古诗词创作"] and compose.record.domain == ["传统文化", "古诗词"]
    assert tang300[f"{poem}/author"].record.output == "《在岳咏蝉》的作者是唐代诗人骆宾王。"
    assert tang300[f"{poem}/next_line"].record.output == "“西陆蝉声唱”的下一句是“南冠客思侵”，出自唐代骆宾王的《在岳咏蝉》。"
    assert tang300[f"{poem}/themes"].record.output == "《在岳咏蝉》的题材标签为：咏物、咏物诗。"
    assert compose.record.copyright == "作者：唐·骆宾王（公有领域）；数据来源：chinese-poetry（MIT）"


def test_every_sample_item_is_accounted_for(samples_dir: Path) -> None:
    """Each top-level item of each chinese-poetry sample ends as records or one reject."""
    for name, expected in [("诗经_shijing", 305), ("纳兰性德_纳兰性德诗集", 258), ("元曲_yuanqu.first300", 300),
                           ("四书五经_mengzi", 14), ("五代诗词_huajianji-1-juan", 50), ("全唐诗_poet.tang.0", 1000)]:
        path = samples_dir / "classical" / f"chinese-poetry__{name}.json"
        assert len(json.loads(path.read_text(encoding="utf-8"))) == expected
        records, rejects = _split(path)
        items = _items(records) | {r.location for r in rejects}
        assert len(items) == expected, name
        assert all(_no_empty_slot(r.record.instruction + r.record.output + r.record.copyright)
                   for r in records.values()), name


def test_shijing_no_author_no_empty_slot(samples_dir: Path) -> None:
    records, rejects = _split(samples_dir / "classical" / "chinese-poetry__诗经_shijing.json")
    assert not rejects and len(records) == 610  # 305 poems × (compose, next line); no author to ask about
    first = records["poem/chinese-poetry__诗经_shijing.json#0/next_line"]
    assert first.record.output == "“关关雎鸠”的下一句是“在河之洲”，出自《诗经·周南·关雎》。"
    assert first.record.copyright == "作品属公有领域；数据来源：chinese-poetry（MIT）"
    assert first.provenance.author is None and first.provenance.extra["dynasty"] == "先秦"
    assert not any(k.endswith("/author") for k in records)


def test_nalan_ci_title_split_and_author(samples_dir: Path) -> None:
    records, rejects = _split(samples_dir / "classical" / "chinese-poetry__纳兰性德_纳兰性德诗集.json")
    assert not rejects
    key = "poem/chinese-poetry__纳兰性德_纳兰性德诗集.json#0"
    assert records[f"{key}/compose"].record.instruction == "以《山一程》为题，用“长相思”词牌填一首词。"
    assert records[f"{key}/author"].record.output == "《长相思·山一程》的作者是清代词人纳兰性德。"
    assert records[f"{key}/compose"].record.copyright == "作者：清·纳兰性德（公有领域）；数据来源：chinese-poetry（MIT）"
    genres = Counter(r.provenance.extra["genre"] for k, r in records.items() if k.endswith("/next_line"))
    assert genres == {"词": 231, "诗": 27}  # 231 titles "词牌·题"; 26 plain titles + 1 untitled (#227)
    untitled = [k for k in records if "#227/" in k]
    assert untitled == ["poem/chinese-poetry__纳兰性德_纳兰性德诗集.json#227/next_line"]
    assert records[untitled[0]].record.output == "“朔风吹古柳”的下一句是“时序忽代续”。"


def test_yuanqu_play_and_tune(samples_dir: Path) -> None:
    records, rejects = _split(samples_dir / "classical" / "chinese-poetry__元曲_yuanqu.first300.json")
    first = "poem/chinese-poetry__元曲_yuanqu.first300.json#0"
    assert records[f"{first}/compose"].record.instruction == "请为杂剧《诈妮子调风月》写一支【仙吕·点绛唇】曲。"
    assert records[f"{first}/next_line"].record.output == "“半世为人”的下一句是“不曾教大人心困”，出自元代关汉卿的《诈妮子调风月》。"
    assert f"{first}/author" not in records  # one author question per aria would repeat itself
    mode = "poem/chinese-poetry__元曲_yuanqu.first300.json#85/compose"  # title "大石调・青杏子骋怀"
    assert records[mode].record.instruction == "请写一支【大石调·青杏子骋怀】曲。"
    reasons = {r.location.rsplit("#", 1)[1]: r.reason for r in rejects}
    assert reasons["36"] == "incomplete_text"  # "我便似□墙贼蝎蜇呼声"
    assert reasons["84"] == "empty_text"  # paragraphs: [], text sits in the title upstream
    assert reasons["61"] == "no_task"  # one clause, title is a text fragment
    assert Counter(reasons.values()) == {"no_task": 23, "empty_text": 12, "incomplete_text": 1}


def test_huajianji_notes_to_metadata(samples_dir: Path) -> None:
    records, _ = _split(samples_dir / "classical" / "chinese-poetry__五代诗词_huajianji-1-juan.json")
    compose = records["poem/chinese-poetry__五代诗词_huajianji-1-juan.json#0/compose"]
    assert compose.record.instruction == "请用“菩萨蛮”词牌填一首词。"  # title "菩萨蛮 其一" is the tune
    assert compose.record.metadata.startswith("注释：1.小山--写女子的隔夜残妆。")
    assert "小山--" not in compose.record.output


def test_prose_classics(samples_dir: Path) -> None:
    records, rejects = _split(samples_dir / "classical" / "chinese-poetry__四书五经_mengzi.json")
    assert not rejects
    first = records["prose/chinese-poetry__四书五经_mengzi.json#0/source"]
    assert first.record.instruction == "“孟子见梁惠王”出自哪里？"
    assert first.record.output == "“孟子见梁惠王”出自《孟子·梁惠王上》。"
    assert first.record.domain == ["传统文化", "古文"] and first.record.task_type.minor == ["古文", "出处"]
    assert all(len(r.record.output) <= 3000 for k, r in records.items() if k.endswith("/recite"))


def test_nested_anthology(samples_dir: Path) -> None:
    path = samples_dir / "classical" / "chinese-poetry__蒙学_guwenguanzhi.first3juan.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    pieces = sum(len(volume["content"]) for volume in doc["content"])
    records, rejects = _split(path)
    assert not rejects and len(_items(records)) == pieces
    recite = records["prose/chinese-poetry__蒙学_guwenguanzhi.first3juan.json#0.0.0/recite"]
    assert recite.record.instruction == "请写出《郑伯克段于鄢》的原文。"
    assert recite.provenance.author == "左丘明" and recite.provenance.extra["dynasty"] == "先秦"  # "先秦：左丘明 "
    assert recite.record.metadata == "出自：《左传》"
    assert recite.provenance.location.endswith("#0.0.0/recite")


def test_song_ci_title_from_rhythmic() -> None:
    """Imitates chinese-poetry 宋词/ci.song.0.json ({author, paragraphs, rhythmic}; some tags, prologue)."""
    records, rejects = _split(FIXTURES / "ci.song.fixture.json")
    key = "poem/ci.song.fixture.json#0"
    assert records[f"{key}/compose"].record.instruction == "请用“如梦令”词牌填一首词。"
    assert records[f"{key}/author"].record.output == "《如梦令》的作者是宋代词人李清照。"
    assert records[f"{key}/next_line"].record.output == "“常记溪亭日暮”的下一句是“沉醉不知归路”，出自宋代李清照的《如梦令》。"
    assert [(r.reason, r.location.rsplit("#", 1)[1]) for r in rejects] == [("incomplete_text", "1")]  # （上缺）
    preface = records["poem/ci.song.fixture.json#2/compose"]
    assert preface.record.metadata == "序：丙辰中秋，欢饮达旦，大醉，作此篇，兼怀子由。"
    assert records["poem/ci.song.fixture.json#2/themes"].record.output == "《水调歌头》的题材标签为：中秋。"


def test_one_poet_collection_and_variant_notes() -> None:
    """Imitates 曹操诗集/caocao.json: no author field (the collection is one poet's), '(明明 一作：佼佼)'."""
    records, rejects = _split(FIXTURES / "caocao.fixture.json")
    key = "poem/caocao.fixture.json#0"
    compose = records[f"{key}/compose"]
    assert compose.record.output == "对酒当歌，人生几何！\n譬如朝露，去日苦多。\n明明如月，何时可掇？"
    assert compose.record.metadata == "校注（原文括注，已移出正文）：(明明 一作：佼佼)"
    assert compose.provenance.author == "曹操" and compose.record.copyright.startswith("作者：曹操（公有领域）")
    assert records[f"{key}/author"].record.output == "《短歌行》的作者是曹操。"
    assert records[f"{key}/next_line"].record.output == "“对酒当歌”的下一句是“人生几何”，出自曹操的《短歌行》。"
    assert [r.reason for r in rejects] == ["empty_text"]


def test_lunyu_chapter_layout() -> None:
    """Imitates 论语/lunyu.json ({chapter, paragraphs}, traditional characters)."""
    records, rejects = _split(FIXTURES / "lunyu.fixture.json")
    assert not rejects
    recite = records["prose/lunyu.fixture.json#0/recite"]
    assert recite.record.instruction == "请写出《论语·学而篇》的原文。"
    assert recite.record.output.startswith("子曰：「学而时习之，不亦说乎？")
    source = records["prose/lunyu.fixture.json#0/source"]
    assert source.record.instruction == "“子曰：「学而时习之，不亦说乎？有朋自远方来，不亦乐乎？人不知而不愠，不亦君子乎？」”出自哪里？"
    assert source.record.copyright == "作品属公有领域；数据来源：chinese-poetry（MIT）"


def test_appreciation_only_where_shipped() -> None:
    """Imitates 水墨唐诗/shuimotangshi.json: `prologue` holds a human-written appreciation."""
    records, _ = _split(FIXTURES / "shuimotangshi.fixture.json")
    appreciation = records["poem/shuimotangshi.fixture.json#0/appreciation"]
    assert appreciation.record.instruction == "请赏析唐代李白的《静夜思》。"
    assert appreciation.record.input == "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"
    assert appreciation.record.output == "（手写样例赏析）诗人借月光写思乡之情，语浅情深。"
    assert appreciation.record.task_type.major == ["生成"]


def test_book_author_inherited_by_chapters() -> None:
    """Imitates 蒙学/dizigui.json ({title, author, content: [{chapter, paragraphs}]})."""
    records, _ = _split(FIXTURES / "dizigui.fixture.json")
    source = records["prose/dizigui.fixture.json#0.0/source"]
    assert source.record.output == "“弟子规 圣人训 首孝弟 次谨信”出自李毓秀的《弟子规·总叙》。"


def test_biographies() -> None:
    """Imitates 全唐诗/authors.tang.json ({desc, name, id})."""
    records, rejects = _split(FIXTURES / "authors.tang.fixture.json")
    bio = records["biography/fixture-1/biography"]
    assert bio.record.instruction == "请介绍唐代诗人李白。" and bio.record.output == "（手写样例）李白，字太白，号青莲居士。"
    assert bio.record.domain == ["传统文化", "文学常识"]
    assert [r.reason for r in rejects] == ["empty_text"]


def test_non_poem_layouts_are_rejected_by_name() -> None:
    """Imitates rank/*.json (search counts), strains/*.json (tones) and 全唐诗/error/*.json items."""
    records, rejects = _split(FIXTURES / "poetry.other-layouts.fixture.json")
    assert not records
    assert [r.reason for r in rejects] == ["unknown_layout", "unknown_layout", "upstream_error"]
    assert "match no chinese-poetry layout" in rejects[0].detail and rejects[2].location.endswith("#2")


def test_form_from_line_lengths() -> None:
    assert poem_form(["白日依山尽，黄河入海流。", "欲穷千里目，更上一层楼。"], []) == "五言绝句"
    assert poem_form(["a，b。"], ["七言律诗"]) == "七言律诗"
    assert poem_form(["长短不一的句子，短句。"], []) is None


def test_idioms(samples_dir: Path) -> None:
    out = list(iter_classical([samples_dir / "classical" / "chinese-idiom-db__chinese-idioms-12976.head1000.txt"]))
    by_id = {o.provenance.source_id: o for o in out}
    assert by_id["idiom/12/meaning"].record.output == "“哀莫大于心死”（āi mò dà yú xīn sǐ）：指最可悲哀的事，莫过于思想顽钝，麻木不仁。"
    assert by_id["idiom/12/meaning"].record.task_type.minor == ["成语释义"]
    assert by_id["idiom/12/origin"].record.instruction == "成语“哀莫大于心死”出自哪里？"
    example = by_id["idiom/12/example"].record.output
    assert example.startswith("人说：“哀莫大于心死。”我的心已经死了。") and "～" not in example
    assert "idiom/14/origin" not in by_id  # 哀思如潮 has no origin in the table: no origin task
    assert by_id["idiom/14/meaning"].provenance.location.endswith(".txt:2/meaning")


def test_bad_idiom_line_and_poem_item(tmp_path: Path) -> None:
    idioms = tmp_path / "idioms.txt"
    idioms.write_text('1,"一心一意","","专心。",,,"yxyy"\n2,"缺列"\n', encoding="utf-8")
    out = list(iter_classical([idioms]))
    assert out[0].record.output == "“一心一意”：专心。"  # no pinyin: the template without it, no "（）"
    assert isinstance(out[-1], InvalidItem) and out[-1].reason == "csv_columns" and out[-1].location.endswith(":2")
    poems = tmp_path / "poems.json"
    poems.write_text('[{"title": "無題", "author": "李商隱", "paragraphs": []}, 3]', encoding="utf-8")
    assert [o.reason for o in iter_classical([poems])] == ["empty_text", "wrong_type"]


def test_non_list_tags_do_not_stop_the_file(tmp_path: Path) -> None:
    path = tmp_path / "poems.json"
    path.write_text('[{"title": "静夜思", "author": "李白", "paragraphs": ["床前明月光，疑是地上霜。"], "tags": 5},'
                    ' {"title": "春晓", "author": "孟浩然", "paragraphs": ["春眠不觉晓，处处闻啼鸟。"]}]', encoding="utf-8")
    out = list(iter_classical([path]))
    assert all(isinstance(o, CuratedRecord) for o in out)
    assert {o.provenance.source_id.split("/")[1] for o in out} == {"poems.json#0", "poems.json#1"}
    assert all("tags" not in o.provenance.extra for o in out)


def test_poem_series_in_an_anthology(tmp_path: Path) -> None:
    """Imitates 蒙学/qianjiashi.json: an anthology whose entry holds a series {subchapter: 其一, paragraphs}."""
    path = tmp_path / "qianjiashi.json"
    path.write_text(json.dumps({"title": "千家詩", "author": "編者甲", "content": [{"type": "五言律詩", "content": [
        {"chapter": "雨中", "author": "（唐）詩人乙", "paragraphs": [
            {"subchapter": "其一", "paragraphs": ["落日放船好，輕風生浪遲。"]},
            {"subchapter": "其二", "paragraphs": ["雨來沾席上，風急打船頭。"]}]}]}]}, ensure_ascii=False),
        encoding="utf-8")
    records, rejects = _split(path)
    assert not rejects
    second = records["poem/qianjiashi.json#0.0.0.1/author"]
    assert second.record.output == "《雨中 其二》的作者是唐代诗人诗人乙。"  # the poem's author, not the compiler
    assert records["poem/qianjiashi.json#0.0.0.0/next_line"].record.output == \
        "“落日放船好”的下一句是“轻风生浪迟”，出自唐代诗人乙的《雨中 其一》。"
