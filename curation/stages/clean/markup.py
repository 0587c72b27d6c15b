"""Rule 4 of the cleaning standard (HTML remnants), plus optional Markdown stripping.

Runs on masked text (code already replaced by placeholders), so markup and entities inside
fenced blocks or backticks, where they are the subject matter, are never touched.
"""

from __future__ import annotations

import html
import re

from curation.stages.clean.unicode import INVISIBLE

# <br>, <br/>, <br />, </br>: one newline; a newline right after the tag is that same newline,
# so `<br>\n` is one line break and `<br><br>` a paragraph break.
_BR = re.compile(r"</?br\s*/?>(?:[ \t]*\n)?", re.I)
# The wrapper and inline tags of the standard, removed with their text kept. Attributes must be
# name=value pairs, so maths such as `a<b and c>d` is never taken for a <b> tag.
_WRAPPER = "p|div|span|strong|b|em|i|font|a"
_ATTR = r"""\s+[A-Za-z_:][-\w:.]*\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'=<>`]+)"""
_TAG = re.compile(rf"<(?:(?:{_WRAPPER})(?:{_ATTR})*\s*/?|/(?:{_WRAPPER})\s*)>", re.I)
# Only complete entities (with the semicolon): `P&G`, `a=1&lang=zh`, `&copy=0` stay as written.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# What an entity may decode to that the earlier rules would have removed or changed.
_SPACES = "\u00a0\u2002-\u200a\u202f\u205f"
_DECODED_SPACE = re.compile(f"[{_SPACES}]")
_DECODED_DROP = re.compile(f"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f{INVISIBLE}]")


def strip_html(text: str) -> str:
    """Tags of the standard removed (br -> newline), entities decoded, &nbsp; -> a plain space."""
    if "<" in text:
        text = _BR.sub("\n", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = _ENTITY.sub(_decode, text)
    if "\u00a0" in text:  # a raw no-break space is the same HTML remnant as &nbsp;
        text = text.replace("\u00a0", " ")
    return text


def _decode(m: re.Match[str]) -> str:
    entity = m.group()
    char = html.unescape(entity)
    if char == entity:  # not an entity html5 knows: leave it as written
        return entity
    if char == "\r":
        return "\n"
    char = _DECODED_SPACE.sub(" ", char)
    return _DECODED_DROP.sub("", char)


# ---- Markdown (optional, off by default: answers legitimately use it) --------------------------
_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((?:https?://|/)[^)\n]*\)")
_MD_EMPH = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_HEADER = re.compile(r"(?m)^#{1,6}\s+")


def strip_markdown(text: str) -> str:
    """Images removed, links -> their text, **bold** -> bold, '# ' headers -> plain lines."""
    if "](" in text:
        text = _MD_IMAGE.sub("", text)
        text = _MD_LINK.sub(r"\1", text)
    if "**" in text or "__" in text:
        text = _MD_EMPH.sub(r"\2", text)
    if "#" in text:
        text = _MD_HEADER.sub("", text)
    return text
