"""Character classes for Chinese text, as regex fragments (C-speed counting instead of Python loops).

Why not `str.isalpha` / English punctuation sets: CJK ideographs are "alpha" but English-derived
"special character" sets have been seen to contain 一/上/士, and full-width punctuation is
ordinary Chinese punctuation, not noise.
"""

from __future__ import annotations

import re

# Ideographs: Ext-A, URO, compatibility, Ext-B..F (astral), plus 〇.
IDEOGRAPH = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff\u3007"
# Chinese punctuation used in running text (kept full-width by cleaning).
ZH_PUNCT = "，。！？；：、“”‘’（）《》〈〉【】「」『』〔〕—…·～﹏．"
ASCII_PUNCT = r"""!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~"""

# Kana and hangul: their presence means the ideographs may be Japanese or Korean.
KANA_HANGUL = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"

IDEOGRAPH_RE = re.compile(f"[{IDEOGRAPH}]")
NON_IDEOGRAPH_RE = re.compile(f"[^{IDEOGRAPH}]+")
WHITESPACE_RE = re.compile(r"\s+")
KANA_HANGUL_RE = re.compile(f"[{KANA_HANGUL}]")
PUNCT_RE = re.compile(f"[{re.escape(ZH_PUNCT)}{ASCII_PUNCT}]")
# "Special" = not a letter/digit/ideograph (\w covers them for every script), not whitespace,
# not punctuation. Emoji, box drawing, ■★→ and stray symbols count; 一 上 士 never do.
SPECIAL_RE = re.compile(f"[^\\w\\s{re.escape(ZH_PUNCT)}{ASCII_PUNCT}]")
# A whole token made only of punctuation/symbols (for word metrics).
PUNCT_TOKEN_RE = re.compile(r"^[\W_]+$")


def count(pattern: re.Pattern[str], text: str) -> int:
    """Occurrences of a one-char pattern, at C speed."""
    return len(pattern.findall(text))


def cjk_count(text: str) -> int:
    """Number of CJK ideographs in `text`."""
    return len(NON_IDEOGRAPH_RE.sub("", text))


def is_ideograph(ch: str) -> bool:
    return IDEOGRAPH_RE.match(ch) is not None
