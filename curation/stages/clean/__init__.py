"""Text cleaning for instruction records, following shared/design/cleaning-standard.md rule by rule.

`Cleaner(config).clean(instruction, input, output)` returns the cleaned fields plus a small dict
of what changed (written to stats.clean), so every edit is visible in the run's output.

Order (the standard's): 1 mojibake -> 2 control characters -> 3 invisible characters -> 4 HTML ->
5 full-width letters/digits -> 6 PDF spaces -> 7 whitespace -> 8 boilerplate (output) ->
9 dangling option letters (input) -> 10 repeated sentences (output). Code (fenced blocks and
inline backticks) is protected from every rule except 2 and 3, which also hold inside code (a
tab stays; a zero-width space or NUL does not). Rules 4-10 run on masked text (see `code.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from curation.pipeline.recipe import CleanConfig
from curation.stages.clean.code import PLACEHOLDER, mask, unmask
from curation.stages.clean.hygiene import (
    dedup_sentences,
    strip_boilerplate,
    strip_dangling_options,
    truncation,
)
from curation.stages.clean.markup import strip_html, strip_markdown
from curation.stages.clean.unicode import (
    ANY_INVISIBLE,
    CONTROL,
    FULLWIDTH_ALNUM,
    MOJIBAKE_HINT,
    fix_controls,
    fix_mojibake,
    fullwidth_alnum_to_ascii,
    remove_invisible,
)
from curation.stages.clean.whitespace import normalize_whitespace, strip_pdf_spaces

__all__ = ["FIELDS", "CleanConfig", "Cleaner"]

FIELDS = ("instruction", "input", "output")
_NOTHING_ABSENT: frozenset[str] = frozenset()


_EVERY_RULE_ABSENT = frozenset({"mojibake", "control", "invisible", "code", "fullwidth"})
# One character class holding every character a trigger below needs (the mojibake pair's first
# half included): text with none of them has no trigger at all, found in one scan.
_ANY_TRIGGER_CHAR = re.compile(
    "[\u00c2-\u00f4\x00-\x08\x0b-\x1f\x7f-\x9f$\u2028\u2029\u200b-\u200f\u2060\ufeff`"
    "\U000f0000-\U000ffffd\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]"
)


def absent_triggers(text: str) -> frozenset[str]:
    """Rules that cannot edit `text` because what they look for does not occur in it: mojibake
    (no lead/continuation glyph pair), control (no control character, CR, U+2028/9 or `$` for the
    LaTeX repair), invisible, code (no backtick or placeholder: masking is a no-op), fullwidth.
    Checked once over a record's fields joined by newlines (no trigger spans or contains a
    newline), instead of once per field and rule."""
    if _ANY_TRIGGER_CHAR.search(text) is None:  # the common case: one scan instead of nine
        return _EVERY_RULE_ABSENT
    return absent_triggers_one_by_one(text)


def absent_triggers_one_by_one(text: str) -> frozenset[str]:
    """`absent_triggers` rule by rule (its definition)."""
    absent = []
    if MOJIBAKE_HINT.search(text) is None:
        absent.append("mojibake")
    if "$" not in text and "\r" not in text and "\u2028" not in text and "\u2029" not in text \
            and CONTROL.search(text) is None:
        absent.append("control")
    if ANY_INVISIBLE.search(text) is None:
        absent.append("invisible")
    if "`" not in text and PLACEHOLDER.search(text) is None:
        absent.append("code")
    if FULLWIDTH_ALNUM.search(text) is None:
        absent.append("fullwidth")
    return frozenset(absent)


@cache
def _opencc(config: str) -> Any:
    from opencc import OpenCC

    return OpenCC(config)


class Cleaner:
    """The enabled rules of the standard, in its order; field-specific rules only on their field."""

    def __init__(self, config: CleanConfig) -> None:
        self.config = config
        self._extra = [re.compile(p) for p in config.boilerplate_patterns]
        c = config
        # Rules 4-7 (and the optional Markdown/OpenCC steps) over masked text, in order.
        steps: list[tuple[str, Callable[[str], str]]] = []
        if c.html:
            steps.append(("html", strip_html))
        if c.markdown:
            steps.append(("markdown", strip_markdown))
        if c.fullwidth_ascii:
            steps.append(("fullwidth", fullwidth_alnum_to_ascii))
        if c.cjk_spaces:
            steps.append(("pdf_space", strip_pdf_spaces))
        if c.whitespace:
            steps.append(("whitespace", normalize_whitespace))
        if c.opencc:
            steps.append(("opencc", _opencc(c.opencc).convert))
        self._prose_steps = steps

    def field(self, name: str, text: str, absent: frozenset[str] = _NOTHING_ABSENT) -> tuple[str, list[str]]:
        """Clean one field's value; returns (clean text, names of the rules that edited it).

        `absent`: rules `absent_triggers` found nothing for in this text (skipped). Mojibake
        repair and HTML entity decoding can produce any character, so once either edits the
        text, every later rule runs."""
        if not text:
            return text, []
        c = self.config
        rules: list[str] = []
        if c.mojibake and "mojibake" not in absent:
            new = fix_mojibake(text)
            if new != text:
                rules.append("mojibake")
                text = new
                absent = _NOTHING_ABSENT
        if c.control_chars and "control" not in absent:
            new = fix_controls(text)
            if new != text:
                rules.append("control")
                text = new
        if c.zero_width and "invisible" not in absent:
            new = remove_invisible(text)
            if new != text:
                rules.append("invisible")
                text = new
        masked, spans = (text, {}) if "code" in absent else mask(text)
        for rule, step in self._prose_steps:
            if rule in absent:
                continue
            new = step(masked)
            if new != masked:
                rules.append(rule)
                masked = new
                if rule == "html":
                    absent = _NOTHING_ABSENT
        if name == "output" and c.boilerplate:
            masked, removed = strip_boilerplate(masked, self._extra)
            if removed:
                rules.append("boilerplate")
        if name == "input" and c.dangling_options:
            masked, stripped = strip_dangling_options(masked)
            if stripped:
                rules.append("dangling_options")
        if name == "output" and c.dedup_sentences:
            masked, removed = dedup_sentences(masked)
            if removed:
                rules.append("repeated_sentences")
        return unmask(masked, spans), rules

    def text(self, text: str) -> str:
        """Rules 1-7 only (the ones every field gets)."""
        return self.field("", text)[0]

    def clean(self, instruction: str, input_: str, output: str) -> tuple[str, str, str, dict[str, Any]]:
        """Clean the three text fields; the dict reports edits (only non-empty entries):
        `changed` (fields), `rules` (rules that edited something), `truncated` (a flag)."""
        report: dict[str, Any] = {}
        cleaned = []
        fired: set[str] = set()
        absent = absent_triggers("\n".join((instruction, input_, output)))
        for name, value in zip(FIELDS, (instruction, input_, output), strict=True):
            new, rules = self.field(name, value, absent)
            if rules:
                report.setdefault("changed", []).append(name)
                fired.update(rules)
            cleaned.append(new)
        if fired:
            report["rules"] = sorted(fired)
        if self.config.flag_truncated:
            why = truncation(cleaned[2])
            if why:
                report["truncated"] = why
        return cleaned[0], cleaned[1], cleaned[2], report
