"""Rules 1-3 and 5 of the cleaning standard: mojibake, control characters, invisible format
characters, full-width letters and digits.

Not NFKC: NFKC would also turn Chinese full-width punctuation (！，：) into ASCII and rewrite
correct characters (², ℃, ㎡, ①). Only the three full-width Latin ranges are folded.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from curation.stages.clean.code import CODE, outside_code

# ---- rule 1: mojibake --------------------------------------------------------------------------
# UTF-8 read as cp1252/latin-1 always shows a lead-byte glyph (Â..ô) followed by a
# continuation-byte glyph (U+0080..U+00BF, or the cp1252 glyph of 0x80..0x9F). Text without such
# a pair is not mojibake and costs one regex search.
MOJIBAKE_HINT = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2122]"
)


@cache
def _ftfy() -> tuple[Any, Any]:
    """ftfy, configured to reverse mis-decoded UTF-8 and nothing else (no HTML unescaping,
    quote uncurling, width folding, line-break or control-character changes: those are other
    rules of the standard, applied in their own order). ftfy only re-decodes a span when the
    result is valid UTF-8, so real Latin-1 words (naïve, Müller, crème) stay."""
    import ftfy
    import ftfy.bad_codecs  # noqa: F401  (registers sloppy-windows-1252)

    config = ftfy.TextFixerConfig(
        unescape_html=False, remove_terminal_escapes=False, fix_encoding=True, restore_byte_a0=True,
        replace_lossy_sequences=False, decode_inconsistent_utf8=True, fix_c1_controls=False,
        fix_latin_ligatures=False, fix_character_width=False, uncurl_quotes=False, fix_line_breaks=False,
        fix_surrogates=False, remove_control_chars=False, normalization=None, explain=False,
    )
    return ftfy.fix_encoding, config


def fix_mojibake(text: str) -> str:
    """'ä¸­æ–‡' -> '中文', for a whole field or one sentence of otherwise correct Chinese.

    Code spans keep their bytes (an answer about encodings may quote mojibake on purpose),
    unless the whole field, code included, is one mis-decoded UTF-8 text.
    """
    if MOJIBAKE_HINT.search(text) is None:
        return text
    fix_encoding, config = _ftfy()
    if CODE.search(text) is None:
        return _plausible(text, fix_encoding(text, config))
    whole = _reverse_whole(text)
    if whole is not None:
        return whole
    return outside_code(text, lambda s: _plausible(s, fix_encoding(s, config)) if MOJIBAKE_HINT.search(s) else s)


# Two Latin-1 characters that happen to form one valid 2-byte UTF-8 sequence decode to a single
# letter of U+0250..U+07FF (IPA, Greek, Cyrillic, Hebrew, Arabic...): `“A”×“B”` is not the
# mojibake of `“Aד B”`. Such a lone reversal is undone; real mojibake of Chinese gives
# 3-byte characters, and mojibake of a Greek or Cyrillic word gives several letters.
_TWO_BYTE_LETTER = re.compile("[\u0250-\u07ff]")


def _plausible(old: str, new: str) -> str:
    if new == old or _TWO_BYTE_LETTER.search(new) is None:
        return new
    import difflib

    pieces = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        region = new[j1:j2]
        lone = op != "equal" and len(region) == 1 and _TWO_BYTE_LETTER.match(region) is not None
        pieces.append(old[i1:i2] if lone else region)
    return "".join(pieces)


def _reverse_whole(text: str) -> str | None:
    """The text re-decoded as UTF-8 when all of it is UTF-8 bytes shown as cp1252/latin-1."""
    _ftfy()
    for codec in ("sloppy-windows-1252", "latin-1"):
        try:
            fixed = text.encode(codec).decode("utf-8")
        except UnicodeError:
            continue
        if fixed != text:
            return fixed
    return None


# ---- rule 2: control characters ----------------------------------------------------------------
# CR LF and lone CR become LF; U+2028/U+2029 (line/paragraph separators) are line breaks too.
_NEWLINES = re.compile("\r\n?|[\u2028\u2029]")
# C0 except \t and \n (VT and FF included: deleted, never a newline), DEL, and C1 controls left
# over after mojibake repair (no text uses them; the strict record rules forbid them).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# LaTeX written into JSON without escaping its backslashes: the JSON parser turned `\frac`,
# `\beta`, `\right`, `\times`, `\nabla` into form feed + "rac", backspace + "eta", CR + "ight",
# tab + "imes", newline + "abla" (the public COIG-CQIA has hundreds). Deleting the control
# character would leave "rac{1}{2}"; the backslash and letter are restored instead, but only
# before the rest of a known command name (tab and newline are ordinary text, so only long tails).
_LATEX_TAILS = {
    "\x0c": "rac|orall|lat|rown|ootnote|box|rak",
    "\x08": ("eta|egin|ar|f|ig|igg|igl|igr|inom|oldsymbol|ullet|ot|mod|ackslash|ecause|owtie|oxed|igcup|igcap"
             "|igoplus|igotimes|igvee|igwedge|reve|m"),
    "\r": "ight|ightarrow|ho|angle|ceil|floor|m|vert|Vert|oot|brace|brack|ightharpoonup|ightleftharpoons|ule",
    "\t": "imes|ext|extbf|extit|extrm|heta|ilde|riangle|frac|herefore|extstyle|op",
    "\n": "abla|otin|onumber|ewline|ewcommand|eq|eg|ot|u|i|leq|geq|subseteq|parallel|mid|exists|leftarrow|rightarrow",
}
_LATEX_ESCAPE = re.compile("|".join(
    f"{re.escape(ch)}(?=(?:{tails})(?![A-Za-z]))" for ch, tails in _LATEX_TAILS.items()
))
_LATEX_LETTER = {"\x0c": "f", "\x08": "b", "\r": "r", "\t": "t", "\n": "n"}
# Tab and newline tails are restored only inside $…$ (a formula), where a real tab or line
# break never sits directly before "imes" or "abla".
_FORMULA = re.compile(r"\$[^$]*\$", re.S)


def restore_latex_escapes(text: str) -> str:
    """'$\\x0crac{1}{2}$' -> '$\\frac{1}{2}$' (see _LATEX_TAILS)."""
    if "\x0c" in text or "\x08" in text or "\r" in text:
        text = _LATEX_ESCAPE.sub(_restore_hard, text)
    if "$" in text and ("\t" in text or "\n" in text):
        text = _FORMULA.sub(lambda m: _LATEX_ESCAPE.sub(_restore_soft, m.group()), text)
    return text


def _restore_hard(m: re.Match[str]) -> str:
    ch = m.group()
    return ch if ch in "\t\n" else "\\" + _LATEX_LETTER[ch]


def _restore_soft(m: re.Match[str]) -> str:
    return "\\" + _LATEX_LETTER[m.group()]


def fix_controls(text: str) -> str:
    text = restore_latex_escapes(text)
    if "\r" in text or "\u2028" in text or "\u2029" in text:
        text = _NEWLINES.sub("\n", text)
    if CONTROL.search(text) is None:
        return text
    return CONTROL.sub("", text)


# ---- rule 3: invisible format characters -------------------------------------------------------
INVISIBLE = "\u200b-\u200f\u2060\ufeff"
# The one exception: a zero-width joiner between two emoji is part of the emoji (👩‍🍳 is one
# glyph, 👩🍳 two), not a stray format character.
_EMOJI = "\U0001f000-\U0001faff\u2190-\u21ff\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\u3030\u303d\u3297\u3299"
_INVISIBLE = re.compile(f"[\u200b\u200c\u200e\u200f\u2060\ufeff]|(?<![{_EMOJI}\ufe0f])\u200d|\u200d(?![{_EMOJI}])")
ANY_INVISIBLE = re.compile(f"[{INVISIBLE}]")


def remove_invisible(text: str) -> str:
    """U+200B-U+200F, U+2060 and U+FEFF, everywhere (inside words, code, a leading BOM)."""
    if ANY_INVISIBLE.search(text) is None:
        return text
    return _INVISIBLE.sub("", text)


# ---- rule 5: full-width letters and digits -----------------------------------------------------
FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_FULLWIDTH_TABLE = {cp: cp - 0xFEE0 for r in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
                    for cp in range(r[0], r[1] + 1)}


def fullwidth_alnum_to_ascii(text: str) -> str:
    """Ａ１ｂ -> A1b; ！，。（）％ and the ideographic space are left alone."""
    if FULLWIDTH_ALNUM.search(text) is None:
        return text
    return text.translate(_FULLWIDTH_TABLE)
