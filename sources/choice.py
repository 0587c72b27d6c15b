"""Multiple-choice helpers shared by exam and logiqa: find options in text, format them, answer.

COIG-CQIA users complained about option letters left dangling at the end of `input`; here the
options always go to `input` as complete `A. 文本` lines, an option without text is an error,
and the answer line repeats the chosen option's text so `output` stands on its own.
"""

from __future__ import annotations

import re

LETTERS = "ABCDEFG"
# An option marker: a capital letter (ASCII or full-width) not glued to a Latin word, then a
# separator. "A．" "A." "A、" "A:" "A：" "（A）".
_MARKER = re.compile(r"(?<![A-Za-z0-9])[（(]?([A-GＡ-Ｇ])[）)]?\s*[．.、:：]\s*")
# Fallback when an option lacks its separator ("A 一脉相承 … B. …"): letter + whitespace counts.
_LENIENT = re.compile(r"(?<![A-Za-z0-9])[（(]?([A-GＡ-Ｇ])[）)]?(?:\s*[．.、:：]\s*|\s+)")
_FULLWIDTH = str.maketrans("ＡＢＣＤＥＦＧ", "ABCDEFG")


class ChoiceError(ValueError):
    """Options or answer cannot be read; `reason` is a short code for the reject."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def split_options(text: str, count: int = 4) -> tuple[str, list[tuple[str, str]]] | None:
    """Split 'stem A．x B．y C．z D．w' into (stem, options); None when no complete A.. run."""
    return _split(text, count, _MARKER) or _split(text, count, _LENIENT)


def _split(text: str, count: int, marker: re.Pattern[str]) -> tuple[str, list[tuple[str, str]]] | None:
    marks = [(m.start(), m.end(), m.group(1).translate(_FULLWIDTH)) for m in marker.finditer(text)]
    wanted = LETTERS[:count]
    for first in range(len(marks) - 1, -1, -1):  # the last 'A' followed by B, C, D in order
        if marks[first][2] != "A":
            continue
        chain = [marks[first]]
        for mark in marks[first + 1 :]:
            if len(chain) < count and mark[2] == wanted[len(chain)]:
                chain.append(mark)
        if len(chain) == count:
            options = []
            for index, (_, end, letter) in enumerate(chain):
                stop = chain[index + 1][0] if index + 1 < count else len(text)
                options.append((letter, text[end:stop].strip()))
            return text[: chain[0][0]].strip(), options
    return None


def format_options(options: list[tuple[str, str]]) -> str:
    """'A. 文本' lines; raises ChoiceError when an option has no text (a dangling letter)."""
    for letter, body in options:
        if not body.strip():
            raise ChoiceError("empty_option", f"option {letter} has no text")
    return "\n".join(f"{letter}. {body.strip()}" for letter, body in options)


def answer_line(letters: str, options: list[tuple[str, str]], template: str = "答案：{answer}") -> str:
    """'答案：B. 文本' (single) or '答案：AC（A. …；C. …）'; letters must name existing options."""
    letters = letters.strip().upper().translate(_FULLWIDTH)
    known = dict(options)
    if not letters or any(letter not in known for letter in letters):
        raise ChoiceError("bad_answer", f"answer {letters!r} is not one of the options {''.join(known)}")
    if len(letters) == 1:
        return template.format(answer=f"{letters}. {known[letters]}")
    detail = "；".join(f"{letter}. {known[letter]}" for letter in letters)
    return template.format(answer=f"{letters}（{detail}）")
