"""PII detection and redaction for Chinese text, with typed placeholders.

Covers what English-centric tools miss: mainland mobile (1[3-9] + 9 digits) and landline numbers,
18-digit resident ID numbers (birth date and ISO 7064 check digit verified), bank cards (Luhn,
16-19 digits), plus e-mail, IPv4, and QQ / WeChat ids when a label says so. Checksums and
negative context (订单号, 快递单号, ISBN…) keep order numbers, dates, prices and ISBNs out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_ND = r"(?<![\d０-９A-Za-z])"  # not preceded by a digit/letter
_NA = r"(?![\d０-９A-Za-z])"
_SEP = r"[ \-－]?"

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_card_valid(number: str) -> bool:
    """18-digit resident ID: region digit, plausible birth date and the ISO 7064 MOD 11-2 check."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    if not (1900 <= year <= 2030 and 1 <= month <= 12 and 1 <= day <= 31):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_valid(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@dataclass(frozen=True, slots=True)
class PiiMatch:
    type: str
    start: int
    end: int
    value: str


# Order matters: longer / checksummed patterns claim their span first.
_ID_CARD = re.compile(_ND + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]" + _NA)
_BANK_CARD = re.compile(_ND + r"(?:[3-6]\d{3}(?:[ \-]?\d{4}){3}(?:[ \-]?\d{1,3})?)" + _NA)
_MOBILE = re.compile(_ND + r"(?:(?:\+|00)?86[ \-]?)?1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4}" + _NA)
_LANDLINE = re.compile(
    _ND + r"(?:(?:\+|00)?86[ \-]?)?(?:[(（]0\d{2,3}[)）][ \-]?|0\d{2,3}[\-－ ])[2-9]\d{2,3}[\-－ ]?\d{4}"
    + r"(?:[ ]?(?:转|-|ext\.?)\s?\d{1,5})?" + _NA
)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IP = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.]|\.\d)")
_QQ = re.compile(r"(?:QQ|qq|ＱＱ|扣扣)\s*(?:号码?|号)?\s*[:：是为]?\s*([1-9]\d{4,10})" + _NA)
_WECHAT = re.compile(
    r"(?:微信|威信|VX|vx|wx|WX|weixin|WeChat)\s*(?:号|ID|id)?\s*[:：是为]?\s*([A-Za-z][A-Za-z0-9_\-]{5,19}|1[3-9]\d{9})"
    + r"(?![A-Za-z0-9_\-])"
)
# Context that marks a long digit run as something else (order, waybill, ISBN, serial...).
_NEG_CONTEXT = re.compile(
    r"(?:订单|单号|运单|快递|物流|流水|交易号|编号|序列号|ISBN|isbn|条码|条形码|发票|工单|批次|型号|账单号|学号|工号|准考证|票号)"
    r"[^，。；\n]{0,8}$"
)
_DIGITS = re.compile(r"\d")
# Every pattern above needs one of these; one search rules out most texts.
_CANDIDATE = re.compile(r"\d{5}|\d[\d \-－]{6}|@|\d\.\d{1,3}\.\d|微信|威信|vx|wx|weixin|wechat", re.I)


def _digits(s: str) -> str:
    return "".join(_DIGITS.findall(s))


def _neg_context(text: str, start: int) -> bool:
    return _NEG_CONTEXT.search(text[max(0, start - 14):start]) is not None


def find_pii(text: str, types: Iterable[str] | None = None) -> list[PiiMatch]:
    """Non-overlapping PII spans in text order."""
    wanted = set(types) if types is not None else None
    if _CANDIDATE.search(text) is None:
        return []  # the common case: no long digit run, no @, no dotted quad, no WeChat label
    found: list[PiiMatch] = []
    taken: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    def add(kind: str, s: int, e: int) -> None:
        if (wanted is None or kind in wanted) and free(s, e):
            found.append(PiiMatch(kind, s, e, text[s:e]))
        taken.append((s, e))

    for m in _EMAIL.finditer(text):
        add("email", m.start(), m.end())
    for m in _ID_CARD.finditer(text):
        if id_card_valid(m.group()):
            add("id_card", m.start(), m.end())
    for m in _QQ.finditer(text):
        add("qq", m.start(1), m.end(1))
    for m in _WECHAT.finditer(text):
        add("wechat", m.start(1), m.end(1))
    for m in _MOBILE.finditer(text):
        add("mobile", m.start(), m.end())
    for m in _BANK_CARD.finditer(text):
        digits = _digits(m.group())
        if 16 <= len(digits) <= 19 and luhn_valid(digits) and not _neg_context(text, m.start()):
            add("bank_card", m.start(), m.end())
    for m in _LANDLINE.finditer(text):
        if not _neg_context(text, m.start()):
            add("landline", m.start(), m.end())
    for m in _IP.finditer(text):
        add("ip", m.start(), m.end())
    found.sort(key=lambda p: p.start)
    return found


def redact(text: str, matches: list[PiiMatch], placeholder: str = "<{type}>") -> str:
    """Replace each match with its typed placeholder, e.g. '<MOBILE>'."""
    if not matches:
        return text
    out, pos = [], 0
    for m in matches:
        out.append(text[pos:m.start])
        out.append(placeholder.format(type=m.type.upper()))
        pos = m.end
    out.append(text[pos:])
    return "".join(out)


def detect_and_redact(
    text: str, types: Iterable[str] | None = None, placeholder: str = "<{type}>", *, do_redact: bool = True
) -> tuple[str, Counter[str]]:
    """(possibly redacted text, counts per PII type)."""
    matches = find_pii(text, types)
    counts = Counter(m.type for m in matches)
    return (redact(text, matches, placeholder) if do_redact else text), counts


CHECKSUM_TYPES = ("id_card", "bank_card")

