"""Rules 6 (PDF-extraction spaces) and 7 (whitespace) of the cleaning standard.

Both run on masked text (code is a placeholder), so code indentation, aligned comments, blank
lines between functions and spaces inside inline code are out of their reach.
"""

from __future__ import annotations

import re

from curation.text.cjk import IDEOGRAPH

# Chinese punctuation of the standard (rule 5's list) plus its close relatives.
CJK_PUNCT = "，。！？：；、（）「」『』《》〈〉【】〔〕〖〗“”‘’…—·～"

# ---- rule 6: PDF-extraction spaces -------------------------------------------------------------
# One space (not part of a run) between two ideographs, or between an ideograph and Chinese
# punctuation. Spaces next to Latin letters, digits, ASCII punctuation or code are never touched;
# neither is a space between two punctuation marks (`（ ）`).
_P = re.escape(CJK_PUNCT)
_PDF_SPACE = re.compile(f"(?<=[{IDEOGRAPH}]) (?=[{IDEOGRAPH}{_P}])|(?<=[{_P}]) (?=[{IDEOGRAPH}])")


def strip_pdf_spaces(text: str) -> str:
    """'中 华 人 民' -> '中华人民', '导师 。 导师' -> '导师。导师'; '使用 Python 编写' stays."""
    if " " not in text:
        return text
    return _PDF_SPACE.sub("", text)


# ---- rule 7: whitespace ------------------------------------------------------------------------
_TRAILING = re.compile(r"[ \t]+(?=\n|\Z)")
# A run of spaces after text. Indentation at the start of a line is not a run *in* the text:
# unfenced code and nested lists keep it.
_SPACE_RUN = re.compile(r"(?<=[^\s])  +")
_BLANK_LINES = re.compile(r"\n{4,}")  # three or more blank lines (after trailing spaces are gone)
_TABLE_DELIMITER = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+(?:[ \t]*:?-+:?[ \t]*)?$")


def normalize_whitespace(text: str) -> str:
    """Trailing spaces/tabs of each line and of the field go, space runs become one space (not in
    Markdown table rows), three or more blank lines become one, the field is trimmed."""
    if " \n" in text or "\t\n" in text or text.endswith((" ", "\t")):
        text = _TRAILING.sub("", text)
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
