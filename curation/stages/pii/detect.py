"""PII detection and redaction for Chinese text, following shared/design/pii-standard.md.

Eight types: mobile, landline, id_card, bank_card, email, ip (the standard's ipv4; the name is
the placeholder `<IP>`), qq, wechat. Each is found by format (checked with checks.py: check
characters, real region and area codes, carrier blocks, card prefixes) and then judged by its
context (context.py: amounts, maths, versions, sections, SSH remotes, group numbers, masks,
order and trade numbers). Spans never overlap; when two candidates do, the stronger type wins
(an email over the QQ number in its local part).

Full-width digits and letters (typed with Chinese IMEs) are folded to ASCII by a one-to-one
character map first, so offsets stay those of the original text and spans hold its characters.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from curation.stages.pii import checks, context
from curation.stages.pii.checks import id_card_valid, luhn_valid

__all__ = ["CHECKSUM_TYPES", "PiiMatch", "detect_and_redact", "find_pii", "id_card_valid", "luhn_valid", "may_hold_pii",
           "redact"]

CHECKSUM_TYPES = ("id_card", "bank_card")


@dataclass(frozen=True, slots=True)
class PiiMatch:
    type: str
    start: int
    end: int
    value: str


_FOLD = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)},
     **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
     **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
     "＠": "@", "．": ".", "－": "-", "‐": "-", "‑": "-", "–": "-", "—": "-", "＋": "+", "＿": "_", "\u3000": " ", "\u00a0": " "}
)
# Cheap first pass: every type needs a 5-digit run, grouped digits, a dotted number, an @ or a
# WeChat label. Most records have none of these; plain substring tests and one-class-led regexes
# keep this pass cheaper than one alternation would be.
_D = "[0-9０-９]"
_NUMERIC_TRIGGER = re.compile(rf"{_D}(?:{_D}{{4}}|{_D}{{2}}[ \-－]{_D}{{4}}|[.．]{_D}{{1,3}}[.．]{_D})")
_XIN_TRIGGER = re.compile(r"[微薇VvＶｖ]信")
_VX_TRIGGER = re.compile(r"[VvWwＶｖＷｗ][XxＸｘ]")


def _may_hold_pii(text: str) -> bool:
    return ("@" in text or "＠" in text or _NUMERIC_TRIGGER.search(text) is not None
            or ("信" in text and _XIN_TRIGGER.search(text) is not None) or _VX_TRIGGER.search(text) is not None
            or "chat" in text or "Chat" in text or "eixin" in text or "eiXin" in text)


def may_hold_pii(*texts: str) -> bool:
    """False when none of `texts` can hold PII of any type (the first pass of `find_pii`), checked
    over all of them at once: no trigger contains a newline, so joining them with one finds exactly
    the triggers each text has. Lets a record with no candidate skip detection field by field."""
    return _may_hold_pii("\n".join(texts))


_MOBILE = re.compile(r"(?<![0-9+])(?P<pre>(?:\+86|0086)[ -]?|86[ -])?"
                     r"(?P<num>1[3-9][0-9](?:[0-9]{8}|(?P<sep>[ -])[0-9]{4}(?P=sep)[0-9]{4}))")
# Landline layouts: +86 (trunk 0 dropped), bracketed area code, separated, unseparated.
_LANDLINE = re.compile(
    r"(?:(?<![0-9+])(?:\+86|0086|86(?=[ -]))[ -]?(?P<intl>[1-9][0-9]{1,2})(?: ?- ?| )"
    r"|[(（](?P<br>0[1-9][0-9]{1,2})[)）][ -]?"
    r"|(?<![0-9])(?P<ac>0[1-9][0-9]{1,2})(?: ?- ?| ))"
    r"(?P<loc>[2-9][0-9]{2,3}[ -]?[0-9]{4})"
    r"|(?<![0-9])(?P<plain>0[1-9][0-9]{9,10})"
)
_ID_CARD = re.compile(r"(?<![0-9])(?:[1-9][0-9]{16}|[1-9][0-9]{5} [12][0-9]{7} [0-9]{3})[0-9Xx](?![0-9A-Za-z])")
_BANK_PLAIN = re.compile(r"(?<![0-9])[0-9]{16,19}(?![0-9])")
_BANK_GROUPED = re.compile(r"(?<![0-9])[0-9]{4}(?P<s>[ -])[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{4}(?:(?P=s)[0-9]{1,3})?"
                           r"(?![0-9])(?!(?P=s)[0-9])")
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@"
                    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9\-])")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = re.compile(rf"(?<![0-9.])(?:{_OCTET}\.){{3}}{_OCTET}(?![0-9]|\.[0-9])")

# Top-level domains that are not routable on the public internet, and file extensions that
# follow an `@` in asset names (`logo@2x.png`).
_NON_ROUTABLE = frozenset({"local", "localhost", "localdomain", "internal", "lan", "home", "corp", "intranet",
                           "test", "example", "invalid", "arpa", "onion"})
_FILE_EXT = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "js", "ts", "css", "html", "htm",
                       "json", "yaml", "yml", "xml", "txt", "md", "py", "sh", "so", "exe", "dll", "zip", "gz", "tar",
                       "log", "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "mp3", "mp4", "wav", "lock", "vue"})
_SSH_COMMAND = re.compile(r"(?:^|[^A-Za-z0-9_])(?:ssh|scp|sftp|rsync|mosh|sshpass)(?:\s+[!-~]+)*?\s+$")

_QQ_LABEL = re.compile(r"(?<![A-Za-z0-9_])[Qq]{2}(?![A-Za-z_.])|扣扣|企鹅号")
# Right after the label: another Tencent product or a group, not an account number.
_QQ_NOT_ACCOUNT = re.compile(r"\s*(?:群|音乐|空间|等级|版本|浏览器|游戏|会员|钱包|邮箱|密码|秀|飞车|堂|农场|币|红包|[0-9.]+版)")
# Between the label and a number: the label no longer speaks about it.
_QQ_STOP = re.compile(r"群|微信|薇信|[Vv]信|(?<![A-Za-z])[VvWw][Xx]|电话|手机|座机|客服|热线|拨打|致电|来电|传真|邮箱|@|"
                      r"验证码|[。！？!?\n]")
# `QQ/微信：…`: one number for both labels (a WeChat id cannot be all digits, so it is the QQ).
_QQ_JOINT = re.compile(r"\s*[/、&和及或]\s*(?:微信|薇信|[Vv]信|[VvWw][Xx])号?")
_QQ_NUMBER = re.compile(r"[0-9]+")
# A chat turn that asks for the id and the next turn that answers with it alone:
# `请提供您的QQ号。用户：12345678`.
_ANSWER_TURN = re.compile(r"(?P<asked>[^。！？!?\n]*)(?:[。！？!?]\s*\n?|\n)\s*[\u4e00-\u9fffA-Za-z]{1,4}[：:]\s*")
_QQ_ANOTHER = re.compile(r"号|换成|改成|改为|换了|或者?|[/、和]")

_WX_LABEL = re.compile(r"微信|薇信|[Vv]信|(?<![A-Za-z0-9_.\-])(?:[VvWw][Xx]|[Ww]e[Cc]hat|[Ww]ei[Xx]in)(?![A-Za-z0-9_\-])")
_WX_NOT_ACCOUNT = re.compile(r"\s*(?:群|支付|公众号|公众平台|小程序|红包|转账|钱包|同号|视频号|朋友圈|扫一扫|扫码|登录|表情|"
                             r"文章|收藏|聊天记录|版本|号?同手机|号?就是手机|号?是手机)")
_WX_FILLER = re.compile(r"(?:号码?|ID|id|帐号|账号|[:：是为\s（(]|搜索?|添加|加|[/、&和及或]\s*(?:[Qq]{2}|扣扣)号?)*")
_WX_STOP = re.compile(r"群|公众号|小程序|同号|手机|电话|邮箱|@|(?<![A-Za-z])[Qq]{2}(?![A-Za-z])|扣扣|[0-9]|[。！？!?\n]|"
                      r"朋友圈|动态|文章|视频|红包|转账|支付|账户|发了|发送")
_WX_TOKEN = re.compile(r"(?<![A-Za-z0-9_\-])[A-Za-z][A-Za-z0-9_\-]*")
_WX_ID = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{5,19}")
_WX_HANDLE = re.compile(r"[0-9_]")
_WX_TRAILING = re.compile(r"(?<![A-Za-z0-9_\-])(?P<id>[A-Za-z][A-Za-z0-9_\-]{5,19})\s*[(（]?\s*(?:就|也)?是我的?"
                          r"(?:微信|薇信|[Vv]信|[VvWw][Xx])号?")
_WX_NOT_ID = frozenset({"wechat", "weixin"})

# Lower number wins an overlap.
_PRIORITY = {"email": 0, "id_card": 1, "bank_card": 2, "qq": 3, "wechat": 3, "mobile": 4, "landline": 5, "ip": 6}

Candidate = tuple[int, int, int, str]  # (priority, start, end, type)


_NON_DIGIT = re.compile(r"[^0-9]+")


def _digits(s: str) -> str:
    return _NON_DIGIT.sub("", s)


def _number_ok(t: str, s: int, e: int) -> bool:
    """A digit span that is a free-standing number in personal-data context."""
    return not (context.glued(t, s, e) or context.in_identifier(t, s, e) or context.not_personal_number(t, s, e))


Windows = list[tuple[int, int]]
# A run of digits with single separators inside: where mobile, landline, id and card numbers live.
_NUMBER_RUN = re.compile(r"[0-9](?:[0-9]|(?: ?- ?|[ )）])(?=[0-9])){9,}")  # 10+ characters


def _number_windows(t: str) -> Windows:
    """(pos, endpos) around each number run with 10+ digits, wide enough for `+86 `, `(` and
    the character after (the patterns' look-arounds see the whole text)."""
    out = []
    for m in _NUMBER_RUN.finditer(t):
        run = m.group()
        if len(run) >= 10 and len(run) - run.count(" ") - run.count("-") - run.count(")") - run.count("）") >= 10:
            out.append((max(0, m.start() - 5), min(len(t), m.end() + 2)))
    return out


def _in_windows(pattern: re.Pattern[str], t: str, windows: Windows) -> list[re.Match[str]]:
    return [m for a, b in windows for m in pattern.finditer(t, a, b)]


def _mobiles(t: str, windows: Windows) -> Iterable[Candidate]:
    for m in _in_windows(_MOBILE, t, windows):
        s, e = m.span()
        if checks.mobile_block_valid(_digits(m["num"])) and _number_ok(t, s, e):
            yield _PRIORITY["mobile"], s, e, "mobile"


def _landlines(t: str, windows: Windows) -> Iterable[Candidate]:
    for m in _in_windows(_LANDLINE, t, windows):
        s, e = m.span()
        if m["plain"]:
            valid = checks.split_unseparated_landline(m["plain"]) is not None
        else:
            area = m["br"] or m["ac"] or "0" + m["intl"]  # the +86 form drops the trunk 0
            valid = checks.landline_valid(area, _digits(m["loc"]))
        if valid and _number_ok(t, s, e):
            yield _PRIORITY["landline"], s, e, "landline"


def _id_cards(t: str, windows: Windows) -> Iterable[Candidate]:
    for m in _in_windows(_ID_CARD, t, windows):
        s, e = m.span()
        number = m.group().replace(" ", "")
        if len(number) == 18 and id_card_valid(number) and not context.glued(t, s, e) \
                and not context.in_identifier(t, s, e) and context.nearest_label(t, s) != "neg":
            yield _PRIORITY["id_card"], s, e, "id_card"


def _other_than_card(t: str, s: int, digits: str) -> bool:
    """A label calls it something else, or it is an 18-digit resident id with a wrong check
    character (region and birth date real) that happens to pass Luhn."""
    label = context.nearest_label(t, s)
    if label in ("neg", "identity"):
        return True
    return (label != "card" and len(digits) == 18 and checks.id_birth_date_valid(digits)
            and checks.id_region_known(digits[:6]))


def _bank_cards(t: str, windows: Windows) -> Iterable[Candidate]:
    for pattern in (_BANK_PLAIN, _BANK_GROUPED):
        for m in _in_windows(pattern, t, windows):
            s, e = m.span()
            if checks.bank_card_valid(_digits(m.group())) and not context.glued(t, s, e) \
                    and not context.in_identifier(t, s, e) and not _other_than_card(t, s, _digits(m.group())):
                yield _PRIORITY["bank_card"], s, e, "bank_card"


def _emails(t: str) -> Iterable[Candidate]:
    for m in _EMAIL.finditer(t):
        s, e = m.span()
        tld = t[t.rindex(".", s, e) + 1:e].lower()
        if tld in _NON_ROUTABLE or tld in _FILE_EXT or _placeholder_email(t[s:e]):
            continue
        if t.startswith(":", e) and e + 1 < len(t) and (t[e + 1].isascii() and (t[e + 1].isalnum() or t[e + 1] in "_~/.")):
            continue  # SSH remote: git@host:user/repo.git, user@host:/path
        if t.endswith("://", 0, s) or _SSH_COMMAND.search(t[max(0, s - 60):s]):
            continue  # URL user-info (ssh://git@host/...) or an ssh/scp login
        yield _PRIORITY["email"], s, e, "email"


def _placeholder_email(value: str) -> bool:
    """`xxx@xxx.com`: a template with the parts masked out."""
    local, _, domain = value.partition("@")
    return not local.strip("xX") or not domain.split(".")[0].strip("xX")


def _ips(t: str) -> Iterable[Candidate]:
    for m in _IPV4.finditer(t):
        s, e = m.span()
        if context.ip_context_ok(t, s, e):
            yield _PRIORITY["ip"], s, e, "ip"


def _qqs(t: str) -> Iterable[Candidate]:
    """Digits a QQ label speaks about: the first number after it, even a few words on
    (`原QQ被盗，新号…`), and further numbers in the same sentence introduced as another number
    of the same person (`旧号…`, `现在换成了…`, `、…`)."""
    for label in _QQ_LABEL.finditer(t):
        if _QQ_NOT_ACCOUNT.match(t, label.end()):
            continue
        joint = _QQ_JOINT.match(t, label.end())
        pos, first = (joint.end() if joint else label.end()), True
        for number in _QQ_NUMBER.finditer(t, pos, min(len(t), pos + 40)):
            s, e = number.span()
            filler = t[pos:s]
            if first and (turn := _ANSWER_TURN.fullmatch(filler)):
                filler = turn["asked"]  # the label asked for it, the next turn answers with it
            if _QQ_STOP.search(filler) or not (first or (_QQ_ANOTHER.search(filler) and len(filler) <= 12)):
                break
            if not (5 <= e - s <= 11) or t[s] == "0" or context.glued(t, s, e) or context.in_identifier(t, s, e):
                break
            if context.nearest_label(t, s) == "neg" or context.amount_or_count(t, s, e):
                break  # `QQ上联系，报价15000元`, `QQ联系，订单号…`
            yield _PRIORITY["qq"], s, e, "qq"
            pos, first = e, False


def _wechat_id_ok(value: str) -> bool:
    low = value.lower()
    return not low.startswith("gh_") and low not in _WX_NOT_ID


def _wechats(t: str) -> Iterable[Candidate]:
    """The id a WeChat label speaks about: right after it, or a few words on when it looks like a
    handle rather than a word (has a digit or `_`); or an id followed by `是我的微信号`."""
    for label in _WX_LABEL.finditer(t):
        if _WX_NOT_ACCOUNT.match(t, label.end()):
            continue
        filler = _WX_FILLER.match(t, label.end())
        pos = filler.end() if filler else label.end()
        token = _WX_TOKEN.search(t, pos, min(len(t), pos + 40))
        if token is None or token.start() > pos + 10 or _WX_STOP.search(t, pos, token.start()):
            continue
        m = _WX_ID.fullmatch(token.group())
        if m and _wechat_id_ok(token.group()) and (token.start() == pos or _WX_HANDLE.search(token.group())):
            yield _PRIORITY["wechat"], token.start(), token.end(), "wechat"
    for m in (_WX_TRAILING.finditer(t) if "是我" in t else ()):
        if _wechat_id_ok(m["id"]):
            yield _PRIORITY["wechat"], m.start("id"), m.end("id"), "wechat"


_FOLDABLE = re.compile("[０-９Ａ-Ｚａ-ｚ＠．－‐‑–—＋＿\u3000\u00a0]")


def _candidates(t: str) -> list[Candidate]:
    """Every finder whose cheap sign is in `t`, run on it."""
    found: list[Candidate] = []
    if "@" in t:
        found += _emails(t)
    windows = _number_windows(t)
    if windows:
        for finder in (_id_cards, _bank_cards, _mobiles, _landlines):
            found += finder(t, windows)
    if "Q" in t or "q" in t or "扣扣" in t or "企鹅号" in t:
        found += _qqs(t)
    if ("信" in t and _XIN_TRIGGER.search(t)) or _VX_TRIGGER.search(t) or "chat" in t or "Chat" in t or "eixin" in t \
            or "eiXin" in t:
        found += _wechats(t)
    if "." in t:
        found += _ips(t)
    return found


def find_pii(text: str, types: Iterable[str] | None = None) -> list[PiiMatch]:
    """Non-overlapping PII spans in text order (only `types`, when given)."""
    if not _may_hold_pii(text):
        return []  # the common case: no long digit run, no @, no dotted quad, no WeChat label
    folded = text.translate(_FOLD) if _FOLDABLE.search(text) else text
    candidates = sorted(_candidates(folded))
    taken: list[tuple[int, int]] = []
    found: list[PiiMatch] = []
    wanted = set(types) if types is not None else None
    for _, s, e, kind in candidates:
        if all(e <= a or s >= b for a, b in taken):
            taken.append((s, e))
            if wanted is None or kind in wanted:
                found.append(PiiMatch(kind, s, e, text[s:e]))
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
    counts = Counter(m.type for m in matches) if matches else Counter()
    return (redact(text, matches, placeholder) if do_redact else text), counts
