"""Rules 6 (PDF-extraction spaces) and 7 (whitespace) of the cleaning standard.

Both run on masked text (code is a placeholder), so code indentation, aligned comments, blank
lines between functions and spaces inside inline code are out of their reach.
"""

from __future__ import annotations

import re

from curation.text.cjk import IDEOGRAPH

# Chinese punctuation of the standard (rule 5's list) plus its close relatives. The dash and the
# ellipsis count in their Chinese, doubled forms (——, ……): a single — or … is English too.
CJK_PUNCT = "，。！？：；、（）「」『』《》〈〉【】〔〕〖〗“”‘’·～"
_DOUBLED = ("——", "……")

# ---- rule 6: PDF-extraction spaces -------------------------------------------------------------
# One space (not part of a run) between two ideographs, or between an ideograph and Chinese
# punctuation. Spaces next to Latin letters, digits, ASCII punctuation or code are never touched;
# neither is a space between two punctuation marks (`（ ）`).
_P = re.escape(CJK_PUNCT)
_IDEOGRAPH_CHAR = re.compile(f"[{IDEOGRAPH}]")
# Candidates: a single space with a CJK character (or a dash/ellipsis character) on both sides;
# `_pdf_space` then applies the exact rule.
_CANDIDATE = re.compile(f"(?<=[{IDEOGRAPH}{_P}—…]) (?=[{IDEOGRAPH}{_P}—…])")


def strip_pdf_spaces(text: str) -> str:
    """'中 华 人 民' -> '中华人民', '导师 。 导师' -> '导师。导师'; '使用 Python 编写' stays."""
    if " " not in text:
        return text
    return _CANDIDATE.sub(_pdf_space, text)


def _pdf_space(m: re.Match[str]) -> str:
    text, at = m.string, m.start()
    left, right = text[at - 1], text[at + 1]
    left_ideograph = _IDEOGRAPH_CHAR.match(left) is not None
    right_ideograph = _IDEOGRAPH_CHAR.match(right) is not None
    if left_ideograph and right_ideograph:
        return ""
    if left_ideograph and (right in CJK_PUNCT or text[at + 1:at + 3] in _DOUBLED):
        return ""
    if right_ideograph and (left in CJK_PUNCT or text[at - 2:at] in _DOUBLED):
        return ""
    return " "


# ---- rule 7: whitespace ------------------------------------------------------------------------
_TRAILING = re.compile("[ \t\u3000]+(?=\n|\\Z)")
# Paragraph indentation with ideographic spaces (never code): gone on every line, as the field
# trim already removes it from the first.
_IDEOGRAPHIC_INDENT = re.compile("(?m)^\u3000+")
# A run of spaces after text. Indentation at the start of a line is not a run *in* the text:
# unfenced code and nested lists keep it.
_SPACE_RUN = re.compile(r"(?<=[^\s])  +")
_BLANK_LINES = re.compile(r"\n{4,}")  # three or more blank lines (after trailing spaces are gone)
_TABLE_DELIMITER = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+(?:[ \t]*:?-+:?[ \t]*)?$")


def normalize_whitespace(text: str) -> str:
    """Trailing spaces/tabs of each line and of the field go, space runs become one space (not in
    Markdown table rows), three or more blank lines become one, the field is trimmed."""
    if " \n" in text or "\t\n" in text or "\u3000" in text or text.endswith((" ", "\t")):
        text = _TRAILING.sub("", text)
        if "\u3000" in text:
            text = _IDEOGRAPHIC_INDENT.sub("", text)
    if "  " in text:
        text = _collapse_runs(text) if "|" in text else _SPACE_RUN.sub(" ", text)
    if "\n\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def _collapse_runs(text: str) -> str:
    lines = text.split("\n")
    table = _table_rows(lines)
    return "\n".join(line if i in table else _SPACE_RUN.sub(" ", line) for i, line in enumerate(lines))


def _table_rows(lines: list[str]) -> set[int]:
    """Line numbers of Markdown table rows: lines starting with `|`, and the header and body
    lines around a delimiter row (`---|---`) of a table written without outer pipes."""
    rows = {i for i, line in enumerate(lines) if line.lstrip(" \t").startswith("|")}
    for i, line in enumerate(lines):
        if "-" in line and "|" in line and _TABLE_DELIMITER.match(line):
            rows.add(i)
            if i > 0 and "|" in lines[i - 1]:
                rows.add(i - 1)
            j = i + 1
            while j < len(lines) and "|" in lines[j]:
                rows.add(j)
                j += 1
    return rows
