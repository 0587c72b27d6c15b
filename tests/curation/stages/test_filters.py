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


def _reference_failed_checks(stats: dict, f: FilterConfig) -> list[tuple[str, str]]:
    """The checks as written before FilterPlan (one closure call per check): the specification."""
    out: list[tuple[str, str]] = []
    s = stats.get

    def at_least(stat: str, limit: float | None, reason: str) -> None:
        if limit is not None and (value := s(stat)) is not None and value < limit:
            out.append((reason, f"{stat}={value} < {limit}"))

    def at_most(stat: str, limit: float | None, reason: str) -> None:
        if limit is not None and (value := s(stat)) is not None and value > limit:
            out.append((reason, f"{stat}={value} > {limit}"))

    at_least("len_instruction", f.min_instruction_chars, "instruction_too_short")
    at_least("len_output", f.min_output_chars, "output_too_short")
    at_most("len_output", f.max_output_chars, "output_too_long")
    at_least("words", f.min_words, "too_few_words")
    if f.drop_pii:
        pii = s("pii") or {}
        bad_pii = [t for t in f.drop_pii if pii.get(t)]
        if bad_pii:
            out.append(("pii", f"contains {', '.join(bad_pii)}"))
    if f.drop_truncated and s("truncated"):
        out.append(("truncated", f"truncated={s('truncated')}"))
    at_least("cjk_ratio", f.min_cjk_ratio, "low_cjk_ratio")
    if f.allowed_langs is not None:
        lang, score, cjk = s("lang"), s("lang_score") or 0.0, s("cjk_ratio") or 0.0
        if lang is not None and lang not in f.allowed_langs and score >= f.lang_min_score and cjk < f.lang_cjk_rescue:
            out.append(("wrong_language", f"lang={lang} score={score} cjk_ratio={cjk} not in {f.allowed_langs}"))
    at_most("char_rep_ratio", f.max_char_rep_ratio, "char_repetition")
    at_most("word_rep_ratio", f.max_word_rep_ratio, "word_repetition")
    at_most("dup_line_frac", f.max_dup_line_frac, "duplicate_lines")
    at_least("stopword_ratio", f.min_stopword_ratio, "low_stopword_ratio")
    at_least("mean_word_len", f.min_mean_word_len, "short_words")
    at_most("mean_word_len", f.max_mean_word_len, "long_words")
    at_most("special_ratio", f.max_special_ratio, "special_characters")
    at_least("votes_norm", f.min_votes_norm, "low_votes")
    if f.min_llm_score is not None and s("llm_quality") is None:
        out.append(("llm_score_missing", "min_llm_score is set but the record has no llm_quality score"))
    at_least("llm_quality", f.min_llm_score, "low_llm_score")
    return out


def test_filter_plan_equals_the_check_by_check_reference() -> None:
    import random

    from curation.stages.filters import FilterPlan

    rng = random.Random(3)
    floats = ["min_cjk_ratio", "max_char_rep_ratio", "max_word_rep_ratio", "max_dup_line_frac", "min_stopword_ratio",
              "max_special_ratio", "min_votes_norm", "min_mean_word_len", "max_mean_word_len", "min_llm_score"]
    ints = ["min_instruction_chars", "min_output_chars", "max_output_chars", "min_words"]
    fired = set()
    for _ in range(300):
        config = FilterConfig(**{k: rng.choice([None, round(rng.random(), 2)]) for k in floats},
                              **{k: rng.choice([None, rng.randint(0, 50)]) for k in ints},
                              allowed_langs=rng.choice([None, ["zh"], ["zh", "en"]]), drop_truncated=rng.random() < 0.5,
                              drop_pii=rng.choice([[], ["mobile"], ["email", "mobile"]]))
        plan = FilterPlan(config)
        for _ in range(30):
            stats = {k: rng.choice([None, round(rng.random(), 3), rng.randint(0, 60)])
                     for k in ["len_instruction", "len_output", "words", "cjk_ratio", "lang_score", "char_rep_ratio",
                               "word_rep_ratio", "dup_line_frac", "stopword_ratio", "mean_word_len", "special_ratio",
                               "votes_norm", "llm_quality"] if rng.random() < 0.9}
            stats.update(lang=rng.choice([None, "zh", "en", "ja"]), truncated=rng.choice([None, "ends_with_comma"]),
                         pii=rng.choice([{}, {"mobile": 1}, {"email": 2}]))
            expected = _reference_failed_checks(stats, config)
            assert plan.failed(stats) == expected
            assert failed_checks(stats, config) == expected
            fired.update(reason for reason, _ in expected)
    assert len(fired) >= 15  # the random configs reach (almost) every check
