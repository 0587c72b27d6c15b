"""Whitespace normalisation that respects Chinese text and leaves code blocks alone."""

from __future__ import annotations

import re
from collections.abc import Callable

from curation.text.cjk import IDEOGRAPH, ZH_PUNCT

_FENCE = re.compile(r"(```.*?(?:```|\Z))", re.S)
_H_SPACE_RUN = re.compile(r"[ \t\u00a0\u3000\u2000-\u200a\u202f\u205f]+")
_TRAILING = re.compile(r"[ \t]+\n")
_MANY_NEWLINES = re.compile(r"\n{3,}")
# 3+ single ideographs separated by single spaces: the PDF-extraction pattern "中 国 人 民".
# Multi-character groups ("床前明月光 疑是地上霜") are left alone: that space may be meaningful.
_SPACED_CJK = re.compile(f"[{IDEOGRAPH}](?: [{IDEOGRAPH}]){{2,}}")
# One space between two ideograph runs: a PDF/OCR artifact ("并不意味 着飞机…") unless both runs
# have the same short length, which is how verse and couplets are laid out ("床前明月光 疑是地上霜").
_LONE_SPACE = re.compile(f"([{IDEOGRAPH}]+) (?=([{IDEOGRAPH}]+))")
_SPACE_AROUND_ZH_PUNCT = re.compile(f" +(?=[{re.escape(ZH_PUNCT)}])|(?<=[{re.escape(ZH_PUNCT)}]) +")
# Lines indented with ideographic spaces (paragraph indentation) lose the indent.
_LEADING_SPACE = re.compile(r"(?m)^[ \t\u3000]+")


def outside_code(text: str, fn: Callable[[str], str]) -> str:
    """Apply `fn` to everything except fenced ``` code blocks (kept byte for byte)."""
    if "```" not in text:
        return fn(text)
    parts = _FENCE.split(text)
    return "".join(part if i % 2 else fn(part) for i, part in enumerate(parts))


def normalize_whitespace(text: str) -> str:
    """Collapse space runs, strip trailing spaces, at most one blank line, strip the ends."""
    text = _H_SPACE_RUN.sub(" ", text)
    if " \n" in text or "\t\n" in text:
        text = _TRAILING.sub("\n", text)
    if "\n " in text:
        text = _LEADING_SPACE.sub("", text)
    if "\n\n\n" in text:
        text = _MANY_NEWLINES.sub("\n\n", text)
    return text


def strip_cjk_spaces(text: str) -> str:
    """'中 国 人 民' -> '中国人民'; '你好 ， 世界' -> '你好，世界'."""
    if " " not in text:
        return text
    text = _SPACED_CJK.sub(lambda m: m.group().replace(" ", ""), text)
    text = _LONE_SPACE.sub(_lone_space, text)
    return _SPACE_AROUND_ZH_PUNCT.sub("", text)  # no group template: expanding one per match is slow


def _lone_space(m: re.Match[str]) -> str:
    left, right = m.group(1), m.group(2)
    return m.group(0) if len(left) == len(right) <= 8 else left
