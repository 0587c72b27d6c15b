"""Filter decisions: compare `stats` (already computed) with a recipe's thresholds.

Each check returns a named reason; the first failing check decides (in the order below, cheapest
and most certain first), and all failing checks are listed in the detail so a reviewer can see
everything wrong with a rejected record. No metric is computed here, so retuning thresholds never
requires recomputing stats.
"""

from __future__ import annotations

from typing import Any

from curation.pipeline.recipe import FilterConfig

# Step kinds of a FilterPlan.
_MIN, _MAX, _PII, _TRUNCATED, _LANG, _LLM_MISSING = range(6)


class FilterPlan:
    """A FilterConfig's checks in priority order, with the switched-off ones (limit None) left
    out: built once per source and stage, so a record costs one loop over the live checks."""

    __slots__ = ("steps", "config")

    def __init__(self, f: FilterConfig) -> None:
        self.config = f
        steps: list[tuple[int, str, Any, str]] = []

        def at_least(stat: str, limit: float | None, reason: str) -> None:
            if limit is not None:
                steps.append((_MIN, stat, limit, reason))

        def at_most(stat: str, limit: float | None, reason: str) -> None:
            if limit is not None:
                steps.append((_MAX, stat, limit, reason))

        at_least("len_instruction", f.min_instruction_chars, "instruction_too_short")
        at_least("len_output", f.min_output_chars, "output_too_short")
        at_most("len_output", f.max_output_chars, "output_too_long")
        at_least("words", f.min_words, "too_few_words")
        if f.drop_pii:
            steps.append((_PII, "pii", list(f.drop_pii), "pii"))
        if f.drop_truncated:
            steps.append((_TRUNCATED, "truncated", None, "truncated"))
        at_least("cjk_ratio", f.min_cjk_ratio, "low_cjk_ratio")
        if f.allowed_langs is not None:
            steps.append((_LANG, "lang", (list(f.allowed_langs), f.lang_min_score, f.lang_cjk_rescue), "wrong_language"))
        at_most("char_rep_ratio", f.max_char_rep_ratio, "char_repetition")
        at_most("word_rep_ratio", f.max_word_rep_ratio, "word_repetition")
        at_most("dup_line_frac", f.max_dup_line_frac, "duplicate_lines")
        at_least("stopword_ratio", f.min_stopword_ratio, "low_stopword_ratio")
        at_least("mean_word_len", f.min_mean_word_len, "short_words")
        at_most("mean_word_len", f.max_mean_word_len, "long_words")
        at_most("special_ratio", f.max_special_ratio, "special_characters")
        at_least("votes_norm", f.min_votes_norm, "low_votes")
        if f.min_llm_score is not None:
            steps.append((_LLM_MISSING, "llm_quality", None, "llm_score_missing"))
        at_least("llm_quality", f.min_llm_score, "low_llm_score")
        self.steps = tuple(steps)

    def failed(self, stats: dict[str, Any]) -> list[tuple[str, str]]:
        """All (reason, detail) pairs this record fails, in priority order; [] = keep.

        Hot path (every record): a detail string is formatted only for a check that fails."""
        out: list[tuple[str, str]] = []
        s = stats.get
        for kind, stat, limit, reason in self.steps:
            if kind == _MIN:
                if (value := s(stat)) is not None and value < limit:
                    out.append((reason, f"{stat}={value} < {limit}"))
            elif kind == _MAX:
                if (value := s(stat)) is not None and value > limit:
                    out.append((reason, f"{stat}={value} > {limit}"))
            elif kind == _PII:
                pii = s("pii") or {}
                bad_pii = [t for t in limit if pii.get(t)]
                if bad_pii:
                    out.append(("pii", f"contains {', '.join(bad_pii)}"))
            elif kind == _TRUNCATED:
                if s("truncated"):
                    out.append(("truncated", f"truncated={s('truncated')}"))
            elif kind == _LANG:
                allowed, min_score, rescue = limit
                lang, score, cjk = s("lang"), s("lang_score") or 0.0, s("cjk_ratio") or 0.0
                # Language labels are unreliable on short Chinese: only a confident wrong label on
                # text that is not mostly Chinese characters drops a record.
                if lang is not None and lang not in allowed and score >= min_score and cjk < rescue:
                    out.append(("wrong_language", f"lang={lang} score={score} cjk_ratio={cjk} not in {allowed}"))
            elif s("llm_quality") is None:  # _LLM_MISSING
                out.append(("llm_score_missing", "min_llm_score is set but the record has no llm_quality score"))
        return out

    def decide(self, stats: dict[str, Any]) -> tuple[str, str] | None:
        """(reason, detail) for the first failing check, or None to keep."""
        failed = self.failed(stats)
        if not failed:
            return None
        reason, detail = failed[0]
        if len(failed) > 1:
            detail += "; also: " + ", ".join(r for r, _ in failed[1:])
        return reason, detail


def failed_checks(stats: dict[str, Any], f: FilterConfig) -> list[tuple[str, str]]:
    """All (reason, detail) pairs this record fails, in priority order; [] = keep."""
    return FilterPlan(f).failed(stats)


def decide(stats: dict[str, Any], f: FilterConfig) -> tuple[str, str] | None:
    """(reason, detail) for the first failing check, or None to keep."""
    return FilterPlan(f).decide(stats)
