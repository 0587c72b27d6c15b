"""HTML and Markdown remnants left in scraped answers."""

from __future__ import annotations

import html
import re

_BLOCK_TAGS = "p|div|br|li|ul|ol|tr|table|h[1-6]|blockquote|section|article|hr|figure|figcaption|pre|dd|dt|dl"
_INLINE_TAGS = ("span|a|img|b|i|u|s|strong|em|font|sup|sub|code|del|ins|small|big|center|tbody|thead|td|th|"
                "mark|abbr|cite|q|label|button|input|iframe|video|audio|source|svg|path|nobr|wbr")
_DROP_WITH_CONTENT = re.compile(r"<(script|style|noscript)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_BLOCK = re.compile(rf"</?(?:{_BLOCK_TAGS})\b[^<>]*/?>", re.I)
_INLINE = re.compile(rf"</?(?:{_INLINE_TAGS})\b[^<>]*/?>", re.I)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{2,6}|#x[0-9a-fA-F]{2,5});")

_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((?:https?://|/)[^)\n]*\)")
_MD_EMPH = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_HEADER = re.compile(r"(?m)^#{1,6}\s+")


def strip_html(text: str) -> str:
    """Drop known HTML tags (block tags become newlines) and decode entities.

    Only named tags are removed, so '<红楼梦>' or 'a<b' in maths survive.
    """
    if "<" in text:
        text = _DROP_WITH_CONTENT.sub("", text)
        text = _COMMENT.sub("", text)
        text = _BLOCK.sub("\n", text)
        text = _INLINE.sub("", text)
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)
    return text


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
