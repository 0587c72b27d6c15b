"""Fuzz the file/dump parsers: damaged or random input yields InvalidItems, never an exception.

Inputs are the real samples cut at random points, with random bytes spliced in, or re-encoded
(GBK), plus arbitrary bytes; the property is that every parser finishes and every output is a
record or an InvalidItem.
"""

from __future__ import annotations

import bz2
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import CuratedRecord, InvalidItem
from sources.baike import iter_baike
from sources.classical import iter_classical
from sources.exam import iter_exam
from sources.logiqa import iter_logiqa
from sources.ruozhiba import Question, iter_ruozhiba
from sources.wiki import iter_wiki

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
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
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
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
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
