"""Answer hygiene: problems users reported in the public COIG-CQIA (repeated sentences inside an
answer, answer letters dangling at the end of `input`, truncated outputs, platform boilerplate)."""

from __future__ import annotations

import re

from curation.text.cjk import IDEOGRAPH

# --- repeated sentences -------------------------------------------------------------------------
_SENTENCE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+[”’」』）)]?|\n|$)")
MIN_DUP_SENTENCE_CHARS = 8  # short sentences ("是的。", refrains) may legitimately repeat


def dedup_sentences(text: str, min_chars: int = MIN_DUP_SENTENCE_CHARS) -> tuple[str, int]:
    """Remove later verbatim repeats of sentences of >= `min_chars` chars; returns (text, removed)."""
    seen: set[str] = set()
    out: list[str] = []
    removed = 0
    for piece in _SENTENCE.findall(text):
        key = piece.strip()
        if len(key) >= min_chars:
            if key in seen:
                removed += 1
                if piece.endswith("\n") and out and not out[-1].endswith("\n"):
                    out.append("\n")
                continue
            seen.add(key)
        out.append(piece)
    if not removed:
        return text, 0
    return re.sub(r"\n{3,}", "\n\n", "".join(out)).strip(), removed


# --- dangling option letters at the end of `input` ----------------------------------------------
_HAS_OPTIONS = re.compile(r"(?:^|[\s(（])[A-D]\s*[.．、:：)）]")
# The answer letter(s) alone on the last line (optionally "答案：B"). A letter after a space on
# the option's own line is ambiguous ("D. 深圳 B" vs "D. 维生素 C") and is left alone.
_DANGLING = re.compile(r"\n[ \t]*(?:答案\s*[:：]?\s*)?[A-H]{1,4}[ \t]*[.。]?\s*\Z")


def strip_dangling_option(text: str) -> tuple[str, bool]:
    """'…C. 广州 D. 深圳\\nB' -> '…C. 广州 D. 深圳' when the input lists options."""
    tail = text.rstrip(" .。\n\t")
    if not tail or not "A" <= tail[-1] <= "H":
        return text, False
    if _HAS_OPTIONS.search(text) is None:
        return text, False
    new = _DANGLING.sub("", text)
    return (new.rstrip(), True) if new != text else (text, False)


# --- truncated outputs --------------------------------------------------------------------------
_MID_SENTENCE_END = set("，、；：（(“‘《【—,;:")
_LAST_SENTENCE = re.compile(r"[。！？!?]")
_IDEOGRAPH_END = re.compile(f"[{IDEOGRAPH}]$")
_TERMINAL = set("。！？!?.…”’」』）)】》~～" + "0123456789")


def truncation(text: str) -> str | None:
    """Why the output looks cut off mid-sentence, or None. A flag, never a silent edit."""
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


# --- boilerplate --------------------------------------------------------------------------------
_DATEISH = r"[\d０-９\-/.:：年月日号 ·・昨天前今小时分钟秒刚才周一二三四五六日]"
_EDIT_STAMP = re.compile(
    rf"\s*(?:最后)?(?:编辑|发布|发表|更新|修改)于\s*{_DATEISH}{{2,40}}(?:\s*[·・|]?\s*(?:IP\s*属地|著作权)\S*)?\s*\Z"
)
_TAIL_LINE = re.compile(
    r"^\s*(?:"
    r"著作权归(?:作者|原作者)所有.*|商业转载请联系作者获得授权.*|未经(?:作者)?(?:授权|许可)[，,]?\s*(?:禁止|严禁|不得)转载.*|"
    r"(?:本文)?版权(?:归.{1,20}所有|所有).{0,30}|(?:Copyright|©|\(c\)).{0,60}|"
    r"作者\s*[:：].{1,40}|链接\s*[:：]\s*https?://\S+|来源\s*[:：]\s*(?:知乎|小红书|豆瓣|思否|SegmentFault|微信公众号|百度贴吧).{0,20}|"
    r"(?:最后)?(?:编辑|发布|发表|更新|修改)于\s*" + _DATEISH + r"{2,40}.{0,30}|"
    r"IP\s*属地\s*[:：]?\s*\S{1,10}|赞同\s*\d+\s*(?:添加评论)?|\d+\s*(?:人赞同了该回答|条评论)|"
    r"—*\s*END\s*—*|点击关注.{0,30}|欢迎(?:关注|转发|点赞).{0,30}"
    r")\s*$",
    re.I,
)
_HEAD_LINE = re.compile(r"^\s*(?:\d+\s*人赞同了该回答|作者\s*[:：].{1,40})\s*$")


def strip_boilerplate(text: str, extra: list[re.Pattern[str]] | None = None) -> tuple[str, int]:
    """Strip edit stamps and footer/header lines; only at the ends of the text (where platforms
    put them), so an answer that *discusses* copyright keeps its sentences. Returns (text, lines)."""
    lines = text.split("\n")
    removed = 0

    def matches(line: str, pattern: re.Pattern[str]) -> bool:
        return bool(pattern.match(line)) or any(p.search(line) for p in extra or ())

    while lines and (not lines[-1].strip() or matches(lines[-1], _TAIL_LINE)):
        removed += bool(lines.pop().strip())
    while lines and (not lines[0].strip() or matches(lines[0], _HEAD_LINE)):
        removed += bool(lines.pop(0).strip())
    if lines:
        last = _EDIT_STAMP.sub("", lines[-1])
        if last != lines[-1]:
            lines[-1] = last
            removed += 1
    if not removed:
        return text, 0
    return "\n".join(lines).strip(), removed
