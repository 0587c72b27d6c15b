"""Unicode repairs: control characters, zero-width characters, mojibake, full-width letters/digits.

Not NFKC: NFKC would also turn Chinese full-width punctuation (！，：) into ASCII, which changes
how Chinese text reads. Only full-width Latin letters and digits are folded.
"""

from __future__ import annotations

import re

# \f and \v (the public COIG-CQIA has \f in instructions) and Unicode line/paragraph separators
# become newlines; other C0/C1 controls and DEL are removed. \r\n and \r become \n.
_NEWLINE_LIKE = re.compile(r"\r\n?|[\f\v\u2028\u2029\x85]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
# Zero-width space/joiners, word joiner, BOM (anywhere), soft hyphen, Mongolian vowel separator.
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e]")
_FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_FULLWIDTH_TABLE = {cp: cp - 0xFEE0 for r in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
                    for cp in range(r[0], r[1] + 1)}
# UTF-8 bytes shown as cp1252/Latin-1: a lead byte (Ã..ï etc.) followed by a continuation-byte glyph.
_MOJIBAKE_HINT = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2122]"
)


def fix_controls(text: str) -> str:
    if _NEWLINE_LIKE.search(text):
        text = _NEWLINE_LIKE.sub("\n", text)
    return _CONTROL.sub("", text)


def remove_zero_width(text: str) -> str:
    return _ZERO_WIDTH.sub("", text)


def fullwidth_alnum_to_ascii(text: str) -> str:
    """Ａ１ｂ -> A1b; ！，。（） and the ideographic space are left alone."""
    if _FULLWIDTH_ALNUM.search(text) is None:
        return text
    return text.translate(_FULLWIDTH_TABLE)


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 text that was decoded as cp1252/Latin-1 (e.g. 'æµ‹è¯•' -> '测试') via ftfy.

    A cheap regex decides whether ftfy runs at all, so clean Chinese text costs one search.
    """
    if _MOJIBAKE_HINT.search(text) is None:
        return text
    import ftfy

    return ftfy.fix_encoding(text)
