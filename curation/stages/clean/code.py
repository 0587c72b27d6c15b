"""Code protection: fenced ``` blocks and inline `code` spans come out of cleaning byte for byte.

The prose rules (HTML, full-width, PDF spaces, whitespace, boilerplate, options, repeated
sentences) run on a *masked* text where every code span is one placeholder character, so they
see where code sits (a space next to inline code is not between two ideographs; a repeated code
line is not a sentence) without being able to edit it. Identical spans share a placeholder, so
two sentences that quote the same code still compare equal.

Placeholders are characters of Supplementary Private Use Area-A. Text that already contains such
a character has it masked (and restored) like code, so a placeholder can never be confused with
content.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# A fence opens with ``` anywhere (scraped answers glue fences to text) and closes at the next
# ``` or the end of the text (an unclosed block is still code). Inline code is a backtick run on
# one line closed by the same run. Existing placeholder-range characters are masked as well.
_PLACEHOLDER_FIRST = 0xF0000
_PLACEHOLDER_RANGE = "\U000f0000-\U000ffffd"
CODE = re.compile(
    rf"```.*?(?:```|\Z)|``[^`\n](?:[^\n]*?[^`\n])?``|`[^`\n]+`|[{_PLACEHOLDER_RANGE}]", re.S
)
PLACEHOLDER = re.compile(f"[{_PLACEHOLDER_RANGE}]")


def mask(text: str) -> tuple[str, dict[str, str]]:
    """(text with each code span replaced by a placeholder, placeholder -> span)."""
    spans: dict[str, str] = {}
    if "`" not in text and PLACEHOLDER.search(text) is None:
        return text, spans
    by_content: dict[str, str] = {}

    def hide(m: re.Match[str]) -> str:
        span = m.group()
        key = by_content.get(span)
        if key is None:
            key = by_content[span] = chr(_PLACEHOLDER_FIRST + len(by_content))
            spans[key] = span
        return key

    masked = CODE.sub(hide, text)
    return masked, spans


def unmask(text: str, spans: dict[str, str]) -> str:
    if not spans:
        return text
    return PLACEHOLDER.sub(lambda m: spans[m.group()], text)


def outside_code(text: str, fn: Callable[[str], str]) -> str:
    """`fn` over the prose between code spans; the spans themselves are kept as they are."""
    if "`" not in text and PLACEHOLDER.search(text) is None:
        return fn(text)
    pieces: list[str] = []
    last = 0
    for m in CODE.finditer(text):
        pieces.append(fn(text[last:m.start()]))
        pieces.append(m.group())
        last = m.end()
    pieces.append(fn(text[last:]))
    return "".join(pieces)


def fenced_blocks(text: str) -> list[str]:
    """Every fenced block of `text`, fences included (what must survive cleaning unchanged)."""
    return [m.group() for m in CODE.finditer(text) if m.group().startswith("```")]
