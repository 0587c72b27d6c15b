"""The compiled metric kernels give exactly the values of the Python reference (floats compared
with ==, key order included), on every class-table code point, random mixes and real texts."""

from __future__ import annotations

import json
import random
from pathlib import Path

import orjson
import pytest

from curation.pipeline.recipe import MetricsConfig
from curation.stages.metrics import Metrics, char_rep_ratio
from curation.text import kernel
from curation.text.cjk import IDEOGRAPH_RE, KANA_HANGUL_RE, PUNCT_RE, SPECIAL_RE, WHITESPACE_RE


def test_class_table_matches_the_regexes_and_str_predicates() -> None:
    table = kernel.class_table()
    wrong = []
    for cp in range(kernel.TABLE_END):
        ch = chr(cp)
        expected = ((kernel.SPACE if ch.isspace() else 0)
                    | (kernel.IDEOGRAPH if IDEOGRAPH_RE.match(ch) else 0)
                    | (kernel.KANA_HANGUL if KANA_HANGUL_RE.match(ch) else 0)
                    | (kernel.SPECIAL if SPECIAL_RE.match(ch) else 0)
                    | (kernel.PUNCT if PUNCT_RE.match(ch) else 0)
                    | (kernel.ALNUM if ch.isalnum() else 0))
        if table[cp] != expected or (WHITESPACE_RE.match(ch) is not None) != ch.isspace():
            wrong.append(hex(cp))
    assert wrong == []


# Pieces that exercise every branch: ideographs, kana, hangul, Latin, digits, Chinese and ASCII
# punctuation, symbols, emoji and other astral characters (inside and beyond the table), every
# kind of whitespace, NUL and other controls, and stopwords.
_PIECES = ["的", "是", "了", "我们", "中国", "人民", "天气", "很", "好", "，", "。", "！", "、", "（", "）", "…", "—",
           "a", "b", "ab", "Python", "x_1", "_", "1", "23", "٣", "Ⅻ", "½", "あ", "カ", "한", "ㄱ", "★", "■", "→", "©",
           "😀", "👩\u200d🍳", "𠀀", "\U0002a6d6",
           " ", "  ", "\t", "\n", "\n\n", "\u3000", "\u00a0", "\u2028", "\x00", "\x1f", "\x85", "?", "!", "@", "#",
           "(", ")", "-", "=", "'", '"', "——", "……", "0", "12345678901"]
_BEYOND_TABLE = ["\U00030000", "\U000e0001", "\U0010fffd"]


def _random_text(rng: random.Random, size: int, pieces: list[str]) -> str:
    return "".join(rng.choice(pieces) for _ in range(size))


def test_char_rep_numerator_equals_the_reference() -> None:
    rng = random.Random(7)
    for trial in range(3000):
        alphabet = rng.choice([_PIECES, _PIECES[:4], ["哈", "哈哈", "a"], ["的", "了", "是", "我们", " "]])
        text = _random_text(rng, rng.randint(0, 80), alphabet)
        for n in (1, 2, 3, 5, 10):
            total = len(text) - n + 1
            fast = kernel.char_rep_numerator(kernel.code_points(text), n) / total if total > 0 else 0.0
            assert fast == char_rep_ratio(text, n), (trial, n, text)


def _real_texts(samples: Path) -> list[tuple[str, str, str]]:
    rows = json.loads((samples / "instruct_zh/llama-factory__alpaca_zh_demo.json").read_text("utf-8"))
    for path in sorted((samples / "coig_cqia").glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [(r.get("instruction", ""), r.get("input", ""), r.get("output", "")) for r in rows]


def _assert_same_stats(config: MetricsConfig, records: list[tuple[str, str, str]]) -> int:
    """Compares every record; returns how many the kernels computed (the rest fell back)."""
    fast, reference = Metrics(config, compiled=True), Metrics(config)
    assert fast._kernel is not None
    compiled = 0
    for rec in records:
        a = fast.compute(*rec, {"votes": 3})
        b = reference.compute(*rec, {"votes": 3})
        assert orjson.dumps(a) == orjson.dumps(b), rec
        assert list(a) == list(b) and a == b, rec
        compiled += fast._compute_compiled(fast._kernel, *rec, {}) is not None
    return compiled


@pytest.mark.parametrize("config", [
    MetricsConfig(),
    MetricsConfig(segmenter="jieba", langid=None, char_rep_n=3, word_rep_n=1),
    MetricsConfig(segmenter=None, langid=None, char_rep_n=5, word_rep_n=2, langid_script_zh=None),
    MetricsConfig(langid="langdetect", langid_chars=20, word_rep_n=2),
], ids=["default", "jieba-n3-w1", "matched-like", "langdetect-short-probe"])
def test_compiled_metrics_equal_the_reference_on_random_mixes(config: MetricsConfig) -> None:
    rng = random.Random(11)
    records = []
    for _ in range(400):
        alphabet = rng.choice([_PIECES, _PIECES[:10], ["的", "了", "是", "我们", "，", " "], ["今天天气很好。"]])
        if rng.random() < 0.1:
            alphabet = alphabet + _BEYOND_TABLE
        records.append((_random_text(rng, rng.randint(0, 12), alphabet), _random_text(rng, rng.randint(0, 5), _PIECES),
                        _random_text(rng, rng.randint(0, 120), alphabet)))
    assert _assert_same_stats(config, records) > 300


def test_compiled_metrics_equal_the_reference_on_real_texts(samples_dir: Path) -> None:
    records = _real_texts(samples_dir)
    assert len(records) > 1000
    assert _assert_same_stats(MetricsConfig(), records) > 0.95 * len(records)
    assert _assert_same_stats(MetricsConfig(segmenter=None, langid=None), records) > 0.95 * len(records)


def test_beyond_the_table_falls_back_to_the_reference() -> None:
    text = "我们的\U00030000\U00030000\U00030000🍳 数据"
    assert kernel.class_counts(kernel.code_points(text), kernel.class_table())[0] == -1
    assert _assert_same_stats(MetricsConfig(), [("问题\U000e0001", "", text * 3), ("问题", "", text)]) == 0
