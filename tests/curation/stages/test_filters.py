"""Filter decisions read stats only; every drop names its reason; language needs evidence."""

from __future__ import annotations

from curation.pipeline.recipe import FilterConfig
from curation.stages.filters import decide, failed_checks

OK = {"len_instruction": 10, "len_output": 200, "cjk_ratio": 0.9, "lang": "zh", "lang_score": 0.99,
      "words": 120, "mean_word_len": 1.6, "stopword_ratio": 0.3, "word_rep_ratio": 0.05,
      "char_rep_ratio": 0.0, "dup_line_frac": 0.0, "special_ratio": 0.01, "pii": {}, "truncated": None}


def test_clean_record_is_kept() -> None:
    assert decide(OK, FilterConfig()) is None


def test_short_chinese_labelled_japanese_is_not_dropped() -> None:
    stats = {**OK, "lang": "ja", "lang_score": 0.95, "cjk_ratio": 0.85}
    assert decide(stats, FilterConfig()) is None


def test_confident_foreign_text_is_dropped_with_reason() -> None:
    stats = {**OK, "lang": "en", "lang_score": 0.97, "cjk_ratio": 0.25}
    reason, detail = decide(stats, FilterConfig(min_cjk_ratio=0.1))
    assert reason == "wrong_language" and "lang=en" in detail


def test_all_failures_listed_first_one_decides() -> None:
    stats = {**OK, "len_output": 1, "char_rep_ratio": 0.9}
    reason, detail = decide(stats, FilterConfig())
    assert reason == "output_too_short" and "char_repetition" in detail


def test_null_threshold_turns_check_off() -> None:
    stats = {**OK, "special_ratio": 0.9}
    assert decide(stats, FilterConfig())[0] == "special_characters"
    assert decide(stats, FilterConfig(max_special_ratio=None)) is None


def test_truncated_and_pii_drops_are_opt_in() -> None:
    stats = {**OK, "truncated": "ends_with_comma", "pii": {"id_card": 1}}
    assert decide(stats, FilterConfig()) is None
    assert [r for r, _ in failed_checks(stats, FilterConfig(drop_truncated=True, drop_pii=["id_card"]))] == [
        "pii", "truncated"]


def test_llm_score_missing_is_named_not_silent() -> None:
    assert decide(OK, FilterConfig(min_llm_score=8))[0] == "llm_score_missing"
    assert decide({**OK, "llm_quality": 7}, FilterConfig(min_llm_score=8))[0] == "low_llm_score"
    assert decide({**OK, "llm_quality": 9}, FilterConfig(min_llm_score=8)) is None
