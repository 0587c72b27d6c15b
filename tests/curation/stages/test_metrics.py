"""Metrics on Chinese text: CJK-safe ratios, segmenter-based word stats, repetition, votes."""

from __future__ import annotations

import pytest

from curation.pipeline.recipe import MetricsConfig
from curation.stages.metrics import (
    Metrics,
    char_rep_ratio,
    cjk_ratio,
    dup_line_frac,
    votes_norm,
    word_rep_ratio,
)
from curation.text.langid import LANGIDS, get_langid

PROSE = "咖啡和豆浆都由植物种子制成，但是咖啡豆经过烘焙和研磨，而豆浆则是大豆浸泡后磨浆煮沸得到的饮品。"


def test_cjk_ratio_ignores_whitespace() -> None:
    assert cjk_ratio("中文 ab") == pytest.approx(0.5)
    assert cjk_ratio("  ") == 0.0


def test_special_ratio_does_not_count_ideographs_or_chinese_punctuation() -> None:
    stats = Metrics(MetricsConfig()).compute("问题", "", "一上士，。！" + "★■", {})
    assert stats["special_ratio"] == pytest.approx(2 / 8, abs=1e-3)
    assert stats["punct_ratio"] == pytest.approx(3 / 8, abs=1e-3)


def test_char_repetition_separates_spam_from_prose() -> None:
    assert char_rep_ratio(PROSE, 10) == 0.0
    assert char_rep_ratio("哈哈哈哈" * 20, 10) > 0.5
    assert char_rep_ratio("短", 10) == 0.0


def test_word_repetition_and_duplicate_lines() -> None:
    assert word_rep_ratio(["我", "爱", "你"] * 5, 3) > 0.8
    assert word_rep_ratio(["今天", "天气", "很", "好"], 3) == 0.0
    assert dup_line_frac("第一行\n第二行\n第一行\n\n第二行") == pytest.approx(0.5)


def test_votes_normalized_log_scale() -> None:
    assert votes_norm({"voteup_count": 0}, ["votes", "voteup_count"], 1000) == (0.0, 0.0)
    raw, norm = votes_norm({"votes": 31}, ["votes"], 1000)
    assert raw == 31 and 0.4 < norm < 0.6
    assert votes_norm({"votes": 10**6}, ["votes"], 1000)[1] == 1.0
    assert votes_norm({}, ["votes"], 1000) == (None, None)


@pytest.mark.parametrize("segmenter", ["jieba", "rjieba"])
def test_word_metrics_use_the_segmenter_not_str_split(segmenter: str) -> None:
    stats = Metrics(MetricsConfig(segmenter=segmenter)).compute("问题", "", PROSE, {})
    assert stats["words"] > 20  # str.split would give 1
    assert 1.0 < stats["mean_word_len"] < 2.5
    assert stats["stopword_ratio"] > 0.1  # 和 的 都 但是 而 则 ...
    assert stats["lang"] == "zh"


def test_keyword_list_has_low_stopword_ratio() -> None:
    m = Metrics(MetricsConfig())
    keywords = m.compute("问题", "", "北京 上海 广州 深圳 杭州 南京 武汉 成都 重庆 西安", {})
    prose = m.compute("问题", "", PROSE, {})
    assert keywords["stopword_ratio"] < prose["stopword_ratio"]


@pytest.mark.parametrize("backend", LANGIDS)
def test_langid_backends(backend: str) -> None:
    lid = get_langid(backend)
    lang, score = lid.detect("今天天气很好，我们一起去公园散步，然后去图书馆看书吧。")
    assert lang == "zh" and 0.5 < score <= 1.0
    assert lid.detect("The quick brown fox jumps over the lazy dog near the river bank.")[0] == "en"
    assert lid.detect("   ") == ("unknown", 0.0)


def test_script_decides_chinese_and_the_model_judges_the_rest() -> None:
    m = Metrics(MetricsConfig())
    zh = m.compute("问题", "", PROSE, {})
    assert (zh["lang"], zh["lang_method"]) == ("zh", "script") and 0.8 < zh["lang_score"] <= 1.0
    # Kana makes ideographs ambiguous: the model decides (and says Japanese).
    ja = m.compute("質問", "", "今日は東京の天気がとても良いので、公園に散歩に行きましょう。", {})
    assert (ja["lang"], ja["lang_method"]) == ("ja", "model")
    en = m.compute("Question", "", "The quick brown fox jumps over the lazy dog near the river bank.", {})
    assert (en["lang"], en["lang_method"]) == ("en", "model")
    # Turned off, every text goes to the model.
    always = Metrics(MetricsConfig(langid_script_zh=None)).compute("问题", "", PROSE, {})
    assert (always["lang"], always["lang_method"]) == ("zh", "model")


def test_unknown_langid_backend() -> None:
    with pytest.raises(ValueError, match="unknown language-ID backend"):
        get_langid("cld3")


def test_lean_metrics_skip_langid_and_words() -> None:
    stats = Metrics(MetricsConfig(langid=None, segmenter=None)).compute("问题", "", PROSE, {})
    assert "lang" not in stats and "words" not in stats
    assert stats["char_rep_ratio"] == 0.0 and stats["cjk_ratio"] > 0.8
