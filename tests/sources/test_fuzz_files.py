"""Fuzz the file/dump parsers: damaged or random input yields InvalidItems, never an exception.

Inputs: the real samples cut at random points, with random bytes spliced in, or re-encoded
(GBK); arbitrary bytes; the generated hostile corpus (`hostile_files.py`: BOMs, UTF-16, GBK,
bad bytes, deep nesting, huge cells and fields, wrong types, binary/decimal and corrupt Parquet,
empty files, directories, symlink loops) as is and mutated (truncations, bit flips, BOMs,
junk). Properties: every reader finishes, every output is a record or an InvalidItem, and where
the item count is known, records + rejects name every item exactly once. The JSON reader must
also agree with orjson on every well-formed file hypothesis can build.
Longer runs: CQIA_FUZZ_EXAMPLES=N (see fuzzing.py).
"""

from __future__ import annotations

import bz2
import codecs
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import CuratedRecord, InvalidItem
from sources.baike import iter_baike
from sources.classical import iter_classical
from sources.exam import iter_exam
from sources.fileread import Item, iter_json, iter_jsonl
from sources.instruct_import import iter_import
from sources.logiqa import iter_logiqa
from sources.ruozhiba import Question, iter_ruozhiba
from sources.settings import load_settings
from sources.wiki import iter_wiki
from tests.sources import hostile_files as hf
from tests.sources.fuzzing import fuzz_settings

SAMPLES = {
    "wiki.xml": ("zhwiki/dbpedia-minidump__zh_wiki.xml.bz2", iter_wiki),
    "baike.html": ("baike/trafilatura__baike.baidu.com.tanya.html", iter_baike),
    "exam.csv": ("exam/cmmlu__dev_chinese_civil_service_exam.csv", iter_exam),
    "exam.json": ("exam/gaokao-bench__2010-2022_Chinese_Lang_and_Usage_MCQs.json", iter_exam),
    "logiqa.txt": ("exam/logiqa__zh_test.txt", iter_logiqa),
    "poems.json": ("classical/chinese-poetry__全唐诗_唐诗三百首.json", iter_classical),
    "idioms.txt": ("classical/chinese-idiom-db__chinese-idioms-12976.head1000.txt", iter_classical),
    "ruozhiba.json": ("ruozhiba/znsoooo-ruozhiba__ruozhiba-title-good.json", iter_ruozhiba),
    "ruozhiba_thread.jsonl": ("ruozhiba/ruozhiba-qwen-lora__thread10354221105_dump.first300.jsonl", iter_ruozhiba),
    "ruozhiba_dump.txt": ("ruozhiba/ruozhiba-qwen-lora__thread10130417881_dump.txt", iter_ruozhiba),
    "ruozhiba_jokes.json": ("ruozhiba/ruozhiba-qwen-lora__tieba_best100_all.json", iter_ruozhiba),
    "logiqa2.jsonl": ("logiqa/logiqa2.0__LOGIQA_dev_zh.first300.jsonl", iter_logiqa),
    "wiki_extract.jsonl": ("zhwiki/Chinese-relation-extraction__wiki_00.first20.jsonl", iter_wiki),
    "ceval.csv": ("exam/mi-optimize__ceval-exam_dev_high_school_chinese_dev.csv", iter_exam),
    "gaokao_subjective.json": ("exam/gaokao-bench__2010-2022_Math_I_Fill-in-the-Blank.json", iter_exam),
    "guwenguanzhi.json": ("classical/chinese-poetry__蒙学_guwenguanzhi.first3juan.json", iter_classical),
    "yuanqu.json": ("classical/chinese-poetry__元曲_yuanqu.first300.json", iter_classical),
}
_CACHE: dict[str, bytes] = {}


def _raw(samples_dir: Path, name: str) -> bytes:
    if name not in _CACHE:
        data = (samples_dir / SAMPLES[name][0]).read_bytes()
        _CACHE[name] = bz2.decompress(data) if name == "wiki.xml" else data
        if name not in ("wiki.xml", "baike.html", "exam.csv", "ceval.csv"):
            _CACHE[name] = _CACHE[name][:40_000]  # keep each example fast
    return _CACHE[name]


def _run(parser, path: Path) -> None:
    for item in parser([path]):
        assert isinstance(item, CuratedRecord | InvalidItem | Question), type(item)


@pytest.mark.parametrize("name", sorted(SAMPLES))
@fuzz_settings(25)
@given(cut=st.floats(0, 1), junk=st.binary(max_size=64), at=st.floats(0, 1), gbk=st.booleans())
def test_damaged_samples(name: str, cut: float, junk: bytes, at: float, gbk: bool, samples_dir: Path,
                         tmp_path_factory: pytest.TempPathFactory) -> None:
    data = _raw(samples_dir, name)
    if gbk:
        data = data.decode("utf-8", "ignore").encode("gb18030")
    data = data[: int(len(data) * cut)]
    pos = int(len(data) * at)
    data = data[:pos] + junk + data[pos:]
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(data)
    _run(SAMPLES[name][1], path)


@pytest.mark.parametrize("name", sorted(SAMPLES))
@fuzz_settings(15)
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8"))))
def test_arbitrary_bytes(name: str, data: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(data)
    _run(SAMPLES[name][1], path)


def test_truncated_bz2_dump(samples_dir: Path, tmp_path: Path) -> None:
    data = (samples_dir / SAMPLES["wiki.xml"][0]).read_bytes()
    for cut in (0, 10, len(data) // 3, len(data) - 1):
        path = tmp_path / f"cut{cut}.xml.bz2"
        path.write_bytes(data[:cut])
        out = list(iter_wiki([path]))
        assert out and isinstance(out[-1], InvalidItem), cut


# ------------------------------------------------------------------ the generated hostile corpus

IMPORT_SETTINGS = load_settings("coig_pc")
READERS = {
    "alpaca": lambda paths: iter_import(paths, "alpaca", "coig_pc", IMPORT_SETTINGS),
    "sharegpt": lambda paths: iter_import(paths, "sharegpt", "coig_pc", IMPORT_SETTINGS),
    "coig-cqia": lambda paths: iter_import(paths, "coig-cqia", "coig_pc", IMPORT_SETTINGS),
    "exam": iter_exam, "classical": iter_classical, "ruozhiba": iter_ruozhiba, "logiqa": iter_logiqa,
    "wiki": iter_wiki, "baike": iter_baike,
}
FAMILY_READER = {"instruct": "alpaca", "cmmlu": "exam", "gaokao": "exam", "poems": "classical"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[hf.Hostile]:
    return hf.build_corpus(tmp_path_factory.mktemp("corpus"))


def _location(outcome) -> str:
    if isinstance(outcome, InvalidItem):
        return outcome.location
    return outcome.provenance.location or ""  # CuratedRecord, ruozhiba Question


def _items_named(outcomes: list, path: Path) -> list[str]:
    """Distinct item keys ('#i' or ':line') the outcomes name, in order (several records may share one)."""
    keys: list[str] = []
    for outcome in outcomes:
        match = re.fullmatch(re.escape(str(path)) + r"([#:]\d+)(?:/.*)?", _location(outcome))
        if match and match.group(1) not in keys:
            keys.append(match.group(1))
    return keys


def _run_reader(reader: str, path: Path) -> list:
    out = list(READERS[reader]([path]))
    for outcome in out:
        assert isinstance(outcome, CuratedRecord | InvalidItem | Question), type(outcome)
        assert _location(outcome).startswith(str(path)), _location(outcome)
        if isinstance(outcome, InvalidItem):
            assert outcome.reason and outcome.detail is not None
    return out


@pytest.mark.parametrize("reader", sorted(READERS))
def test_hostile_corpus_every_reader(corpus: list[hf.Hostile], reader: str) -> None:
    for hostile in corpus:
        out = _run_reader(reader, hostile.path)
        if hostile.items is None or FAMILY_READER.get(hostile.family) != reader:
            continue
        keys = _items_named(out, hostile.path)
        assert len(keys) == hostile.items, (hostile.name, keys[:5], [getattr(o, "reason", "") for o in out][:5])
        if hostile.items == 0:  # an empty or unreadable file still says so
            assert out and all(isinstance(o, InvalidItem) for o in out), hostile.name


MUTATIONS = st.lists(st.one_of(
    st.tuples(st.just("cut"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("bom"), st.sampled_from([codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])),
    st.tuples(st.just("gbk")),
    st.tuples(st.just("repeat"), st.floats(0, 1), st.floats(0, 1)),
), min_size=1, max_size=4)


def _mutate(data: bytes, mutations: list[tuple]) -> bytes:
    for op, *args in mutations:
        at = int(len(data) * args[0]) if args and isinstance(args[0], float) else 0
        if op == "cut":
            data = data[:at]
        elif op == "flip" and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([data[at] ^ args[1]]) + data[at + 1 :]
        elif op == "insert":
            data = data[:at] + args[1] + data[at:]
        elif op == "bom":
            data = args[0] + data
        elif op == "gbk":
            data = data.decode("utf-8", "ignore").encode("gb18030")
        elif op == "repeat":
            end = at + int((len(data) - at) * args[1] * 0.2)
            data = data[:end] + data[at:end] + data[end:]
    return data


@fuzz_settings(60)
@given(index=st.integers(0, 1000), mutations=MUTATIONS)
def test_mutated_corpus_files_every_reader(corpus: list[hf.Hostile], index: int, mutations: list[tuple],
                                           tmp_path_factory: pytest.TempPathFactory) -> None:
    files = [h for h in corpus if h.path.is_file() and not h.path.is_symlink() and h.path.stat().st_size < 300_000]
    base = files[index % len(files)]
    path = tmp_path_factory.mktemp("mutant") / base.name
    path.write_bytes(_mutate(base.path.read_bytes(), mutations))
    for reader in {FAMILY_READER.get(base.family, "alpaca"), "alpaca", "sharegpt", "ruozhiba"}:
        _run_reader(reader, path)


# ---------------------------------------------------------------- the JSON reader against orjson

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)
    | st.sampled_from(['"', "\\", "[", "]", "{", "}", "\\\"", "中文\"]", ",", "\n"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


@fuzz_settings(150)
@given(items=st.lists(JSON_VALUES, max_size=12), layout=st.sampled_from(["array", "object", "lines"]),
       indent=st.sampled_from([None, 1, 2, 4]), ascii_only=st.booleans(),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gb18030"]))
def test_json_reader_agrees_with_orjson(items: list, layout: str, indent: int | None, ascii_only: bool,
                                        encoding: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every well-formed file: the streamed items are exactly the values a whole-file parse gives."""
    if layout == "lines":
        items = [i for i in items if isinstance(i, dict)]
        text = "\n".join(json.dumps(i, ensure_ascii=ascii_only) for i in items)
    elif layout == "object":
        half = len(items) // 2
        text = json.dumps({"meta": "x", "first": items[:half], "n": 3, "second": items[half:]},
                          ensure_ascii=ascii_only, indent=indent)
    else:
        text = json.dumps(items, ensure_ascii=ascii_only, indent=indent)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    path = tmp_path_factory.mktemp("agree") / f"f.{'jsonl' if layout == 'lines' else 'json'}"
    path.write_bytes(data)
    out = list((iter_jsonl if layout == "lines" else iter_json)(path, "t"))
    if not items:  # an empty JSON Lines file / an object of empty lists is said once, as a file reject
        assert all(isinstance(o, InvalidItem) and o.location == str(path) for o in out)
        out = []
    assert all(isinstance(o, Item) for o in out), [o for o in out if not isinstance(o, Item)][:1]
    assert [o.value for o in out] == json.loads(json.dumps(items))
    assert [o.index for o in out] == list(range(len(items)))


@fuzz_settings(80)
@given(n=st.integers(1, 30), damaged=st.sets(st.integers(0, 29), max_size=5),
       damage=st.sampled_from(["bad_byte", "deep", "bad_json", "control"]), lines=st.booleans(), bom=st.booleans())
def test_item_level_damage_costs_exactly_those_items(n: int, damaged: set[int], damage: str, lines: bool, bom: bool,
                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    """n items, some damaged inside: records + rejects == n, and the rejects are the damaged ones."""
    damaged = {d for d in damaged if d < n}
    parts = []
    for i, item in enumerate(hf.alpaca_items(n)):
        raw = json.dumps(item, ensure_ascii=False).encode()
        if i in damaged:
            marker = f"第{i}个回答".encode()
            raw = {"bad_byte": raw.replace(marker, b"\xff" + marker[1:]),
                   "deep": raw[:-1] + b', "history": ' + b"[" * 100 + b"]" * 100 + b"}",
                   "bad_json": raw.replace(b'"output":', b'"output"::'),
                   "control": raw.replace(marker, b"\\f" + marker)}[damage]
        parts.append(raw)
    data = (b"\n" if lines else b",\n").join(parts)
    data = data if lines else b"[\n" + data + b"\n]"
    path = tmp_path_factory.mktemp("damage") / ("f.jsonl" if lines else "f.json")
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + data)
    out = list(iter_import([path], "alpaca", "coig_pc", IMPORT_SETTINGS))
    assert len(out) == n
    rejected = [i for i, o in enumerate(out) if isinstance(o, InvalidItem)]
    if damage == "control":  # ingest keeps raw text: a control character is the cleaner's to repair
        assert rejected == [] and all("\f" in out[i].record.output for i in damaged)
        return
    assert rejected == sorted(damaged)
    expected = {"bad_byte": "encoding", "deep": "too_deep", "bad_json": "json_decode"}[damage]
    assert all(out[i].reason == expected for i in rejected)
