"""Text cleaning for instruction records, built once from a recipe's `clean:` section.

`Cleaner(config).clean(instruction, input, output)` returns the cleaned fields plus a small dict
of what changed (written to stats.clean), so every edit is visible in the run's output.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from curation.pipeline.recipe import CleanConfig
from curation.stages.clean.hygiene import (
    dedup_sentences,
    strip_boilerplate,
    strip_dangling_option,
    truncation,
)
from curation.stages.clean.markup import strip_html, strip_markdown
from curation.stages.clean.unicode import (
    fix_controls,
    fix_mojibake,
    fullwidth_alnum_to_ascii,
    remove_zero_width,
)
from curation.stages.clean.whitespace import normalize_whitespace, outside_code, strip_cjk_spaces

__all__ = ["Cleaner", "CleanConfig"]


@cache
def _opencc(config: str) -> Any:
    from opencc import OpenCC

    return OpenCC(config)


class Cleaner:
    """Applies the enabled steps in a fixed, safe order: bytes-level repairs first, then markup,
    then width/whitespace (outside code blocks), then answer hygiene."""

    def __init__(self, config: CleanConfig) -> None:
        self.config = config
        self._extra = [re.compile(p) for p in config.boilerplate_patterns]
        self._converter = _opencc(config.opencc) if config.opencc else None

    def text(self, text: str) -> str:
        """Field-independent cleaning (unicode, markup, opencc, whitespace)."""
        c = self.config
        if not text:
            return text
        if c.mojibake:  # first: mojibake contains U+00AD / C1 glyphs the next steps would delete
            text = fix_mojibake(text)
        if c.control_chars:
            text = fix_controls(text)
        if c.zero_width:
            text = remove_zero_width(text)
        if c.html or c.markdown or c.fullwidth_ascii or c.whitespace or c.cjk_spaces:
            text = outside_code(text, self._prose)
        if self._converter is not None:
            text = self._converter.convert(text)
        return text.strip() if c.whitespace else text

    def _prose(self, text: str) -> str:
        c = self.config
        if c.html:
            text = strip_html(text)
        if c.markdown:
            text = strip_markdown(text)
        if c.fullwidth_ascii:
            text = fullwidth_alnum_to_ascii(text)
        if c.whitespace:
            text = normalize_whitespace(text)
        if c.cjk_spaces:
            text = strip_cjk_spaces(text)
        return text

    def clean(self, instruction: str, input_: str, output: str) -> tuple[str, str, str, dict[str, Any]]:
        """Clean the three text fields; the dict reports edits (only non-zero entries)."""
        c = self.config
        report: dict[str, Any] = {}
        new_i, new_in, new_o = self.text(instruction), self.text(input_), self.text(output)
        for name, old, new in (("instruction", instruction, new_i), ("input", input_, new_in),
                               ("output", output, new_o)):
            if old != new:
                report.setdefault("changed", []).append(name)
        if c.dangling_options and new_in:
            new_in, stripped = strip_dangling_option(new_in)
            if stripped:
                report["dangling_option"] = True
        if c.boilerplate and new_o:
            new_o, lines = strip_boilerplate(new_o, self._extra)
            if lines:
                report["boilerplate_lines"] = lines
        if c.dedup_sentences and new_o:
            new_o, removed = dedup_sentences(new_o)
            if removed:
                report["dup_sentences"] = removed
        if c.flag_truncated:
            why = truncation(new_o)
            if why:
                report["truncated"] = why
        return new_i, new_in, new_o, report
