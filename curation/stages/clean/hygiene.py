"""Rules 8-10 of the cleaning standard (field-specific), plus the truncation flag.

- boilerplate: trailing site furniture at the end of an `output` (edit stamps, copy footers);
- dangling option letters: a tail of bare letters at the end of an exam `input`;
- repeated sentences: adjacent identical copies of a sentence in an `output`.

They run on masked text (code is a placeholder), so a repeated code line or a footer-like line
inside a code block is never touched.
"""

from __future__ import annotations

import re

from curation.text.cjk import IDEOGRAPH

# ---- rule 8: boilerplate (output, at the end) --------------------------------------------------
_DATE = (r"(?:\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?|\d{1,2}\s*[-/月]\s*\d{1,2}\s*日?"
         r"|昨天|前天|今天|刚刚|\d+\s*(?:秒|分钟|小时|天)前)")
_TIME_REQUIRED = r"[ \t]*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?"
_TIME = f"(?:{_TIME_REQUIRED})?"
_IP_REQUIRED = r"[ \t]*[・·•|]?[ \t]*IP[ \t]*属地[ \t]*[:：]?[ \t]*[^\s]{1,12}"
_IP = f"(?:{_IP_REQUIRED})?"
# `编辑于 <date> [・IP 属地<省>]` / `发布于 <date> …`, on its own line or glued to the last
# sentence (after its punctuation, an emoji, a bracket; never right after a word, even with a space
# between: `论文发布于2019年` is content).
# With a clock time or an IP location the stamp is site furniture even right after a word.
_STAMP = re.compile(
    rf"(?:(?:\A|(?<![\w \t]))[ \t]*(?:编辑|发布)于[ \t]*{_DATE}{_TIME}{_IP}"
    rf"|[ \t]*(?:编辑|发布)于[ \t]*{_DATE}(?:{_TIME_REQUIRED}{_IP}|{_TIME}{_IP_REQUIRED}))[ \t]*\Z"
)
_LINE_START = r"(?:\A|\n)[ \t]*"
_ZHIHU_FOOTER = re.compile(
    _LINE_START + r"作者[ \t]*[:：][^\n]{1,60}\n(?:[ \t]*\n)*[ \t]*链接[ \t]*[:：][ \t]*[^\s][^\n]*\n(?:[ \t]*\n)*"
    r"[ \t]*来源[ \t]*[:：][^\n]{1,30}(?:\n(?:[ \t]*\n)*[ \t]*著作权归作者所有[^\n]*)?\Z"
)
_COPYRIGHT = re.compile(_LINE_START + r"著作权归作者所有[。.，,]?[ \t]*商业转载请联系作者获得授权[^\n]*\Z")
_FROM_WEB = re.compile(
    _LINE_START + r"(?:本文|文章|内容|图片|图文|部分内容|部分图片)?(?:来源|来自|转载自|源自|摘自)于?(?:网络|互联网)"
    r"[，,]?[ \t]*(?:如有|若有|如涉及)侵权[，,]?[ \t]*请(?:及时)?联系(?:我们|作者|小编|本站|本人)?删除[。.!！]?\Z"
)
_FOOTERS = (_STAMP, _ZHIHU_FOOTER, _COPYRIGHT, _FROM_WEB)
_FOOTER_HINT = re.compile("编辑于|发布于|著作权|侵权|链接")


def strip_boilerplate(text: str, extra: list[re.Pattern[str]] | None = None) -> tuple[str, int]:
    """Remove trailing footers (and the whitespace before them), repeatedly, so combinations
    (`本文来源于网络…\\n编辑于 …`) go too; `extra` patterns match whole trailing lines.
    Returns (text, footers removed)."""
    if _FOOTER_HINT.search(text) is None and not extra:
        return text, 0
    removed = 0
    while text:
        for pattern in _FOOTERS:
            m = pattern.search(text)
            if m is not None:
                break
        else:
            last_line = text.rsplit("\n", 1)[-1]
            if not any(p.search(last_line) for p in extra or ()):
                break
            m = re.search(r"(?:\A|\n)[^\n]*\Z", text)
            assert m is not None
        text = text[: m.start()].rstrip()
        removed += 1
    return text, removed


# ---- rule 9: dangling option letters (input, at the end) ---------------------------------------
# A bare option: `A`, `A.`, `A．`, `A、`, `A:`, `A)`, `(A)`, `（A）`. A tail is one or more of them
# at the very end, each after a newline, after spaces, or right after the previous one's mark
# (`A．B．C．D．`).
_BARE_OPTION = r"(?:[（(][A-H][）)]|[A-H][.．、:：)）]?)"
_SEP = r"(?:\n[ \t]*|[ \t]+|(?<=[.．、:：)）]))"
_TAIL = re.compile(rf"(?:{_SEP}{_BARE_OPTION})+\Z")
_TAIL_TOKEN = re.compile(rf"({_SEP})({_BARE_OPTION})")
# A complete option (letter + its text) earlier in the question: the tail may continue it.
_OPTION_MARK = r"(?:[（(][A-H][）)]|[A-H][.．、:：)）])"
_COMPLETE_OPTION = re.compile(r"[（(]([A-H])[）)][ \t]*[^\s]|(?:^|(?<=\s))([A-H])[.．、:：)）][ \t]*[^\s]", re.M)
_OPTION_LINE = re.compile(rf"[ \t]*{_OPTION_MARK}[ \t]*[^\s]")
_TAIL_WINDOW = 200


def strip_dangling_options(text: str) -> tuple[str, bool]:
    """'…的是（ ）\\nA.\\nB.' -> '…的是（ ）'; '…\\nA. 太阳能\\nB. 风能\\nC.\\nD.' keeps A and B.

    The letters must count up (A, B, C…). A tail on its own lines may start at A or continue the
    complete options (`\\nE.` after A–D). A tail on the question's line (` A.`) must start at A,
    have its marks (`A.`, `（A）`: a bare ` B` is a letter in `求 A ∪ B`), and not follow an
    option's text (`B. 维生素 A.`)."""
    if not text or text[-1] not in "ABCDEFGH.．、:：)）":
        return text, False
    offset = max(0, len(text) - _TAIL_WINDOW)
    m = _TAIL.search(text, offset)
    if m is None:
        return text, False
    tokens = [(t.start(), t.group(1), t.group(2)) for t in _TAIL_TOKEN.finditer(text, m.start())]
    run: list[tuple[int, str, str, str]] = []  # (position, separator, token, letter), last first
    for pos, sep, token in reversed(tokens):
        letter = next(ch for ch in token if "A" <= ch <= "H")
        if run and letter != chr(ord(run[-1][3]) - 1):
            break
        run.append((pos, sep, token, letter))
        if letter == "A":
            break
    if not run:
        return text, False
    start, sep, _, first = run[-1]
    head = text[:start].rstrip()
    if not head or not sep:
        return text, False
    if "\n" in sep:
        if first != "A" and _last_option_letter(head) != chr(ord(first) - 1):
            return text, False
        return head, True
    # On the question's own line.
    line = text[text.rfind("\n", 0, start) + 1:start]
    if first != "A" or any(token == letter for _, _, token, letter in run) or _OPTION_LINE.match(line):
        return text, False
    return head, True


def _last_option_letter(text: str) -> str | None:
    last = None
    for m in _COMPLETE_OPTION.finditer(text):
        last = m.group(1) or m.group(2)
    return last


# ---- rule 10: repeated sentences (output) ------------------------------------------------------
# A sentence ends after 。！？ (a run of them) plus an optional closing quote; a line break also
# ends one. Only copies that follow each other on the same line are repeats.
_SENTENCE = re.compile(r"[^。！？\n]*(?:[。！？]+[”’」』]?|\n|\Z)")
MIN_DUP_SENTENCE_CHARS = 8  # short sentences ("对！", refrains) may legitimately repeat


def dedup_sentences(text: str, min_chars: int = MIN_DUP_SENTENCE_CHARS) -> tuple[str, int]:
    """'甲乙丙丁戊己庚辛。甲乙丙丁戊己庚辛。' -> one copy; returns (text, copies removed)."""
    if "。" not in text and "！" not in text and "？" not in text:
        return text, 0
    pieces = _SENTENCE.findall(text)
    # Cheap test first: no two neighbouring pieces equal (even ignoring leading spaces) -> done.
    if not any(map(str.__eq__, pieces, pieces[1:])):
        if " " not in text:
            return text, 0
        keys = [p.lstrip(" ") for p in pieces]
        if not any(map(str.__eq__, keys, keys[1:])):
            return text, 0
    keys = [p.lstrip(" ") for p in pieces]
    out: list[str] = []
    removed = 0
    previous = None
    for piece, key in zip(pieces, keys, strict=True):
        if key == previous and len(key) >= min_chars and not piece.endswith("\n"):
            removed += 1
            continue
        out.append(piece)
        previous = None if piece.endswith("\n") else key
    return "".join(out), removed


# ---- truncated outputs (a flag, never an edit) -------------------------------------------------
_MID_SENTENCE_END = set("，、；：（(“‘《【—,;:")
_LAST_SENTENCE = re.compile(r"[。！？!?]")
_IDEOGRAPH_END = re.compile(f"[{IDEOGRAPH}]$")
_TERMINAL = set("。！？!?.…”’」』）)】》~～" + "0123456789")


def truncation(text: str) -> str | None:
    """Why the output looks cut off mid-sentence, or None."""
    stripped = text.rstrip()
    if not stripped:
        return None
    if stripped.count("```") % 2:
        return "unclosed_code_block"
    last = stripped[-1]
    if last in _MID_SENTENCE_END:
        return "ends_with_comma"
    if last in _TERMINAL:
        return None
    # The last sentence started (a clause and a comma already) but never ended: cut mid-sentence.
    # Short last lines ("北京", list items, titles) routinely end without punctuation.
    tail = _LAST_SENTENCE.split(stripped)[-1]
    if _IDEOGRAPH_END.search(tail) and len(tail) >= 20 and "，" in tail and "\n" not in tail:
        return "ends_mid_sentence"
    return None
