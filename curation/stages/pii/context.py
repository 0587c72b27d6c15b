"""Context rules of the PII standard: what the words around a well-formed number make it.

All functions read the normalised text (full-width digits and letters folded to ASCII, same
offsets) and a candidate's span. Windows stop at sentence ends; label windows also at commas, so a
label belongs to the number it introduces. Chinese has no word boundaries, so every rule is an
explicit character test: no `\\b`, no `\\w`.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_CLAUSE_END = re.compile(r"[。！？!?；;\n，,、]")
# The text after the last stop character (a search anchored at the end, no list of matches).
_TAIL = {_SENTENCE_END: re.compile(r"[^。！？!?；;\n]*$"), _CLAUSE_END: re.compile(r"[^。！？!?；;\n，,、]*$")}
ASCII_LETTER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
DIGIT = frozenset("0123456789")
MASK = frozenset("*＊×•●")

# Labels that make a well-formed digit run something other than personal data.
_NOT_PERSONAL = (
    r"订单|单号|运单|快递单|快递号|物流单|物流号|包裹号|流水|交易号|交易编号|交易单|支付单|商户单|账单号|参考号|凭证|回单|"
    r"编号|编码|序列号|序号|批次|批号|工单|票号|发票|条码|条形码|ISBN|ISSN|型号|货号|SKU|SN|IMEI|MEID|"
    r"会员卡|会员号|积分卡|加油卡|油卡|公交卡|交通卡|一卡通|礼品卡|购物卡|储值卡|卡密|兑换码|券码|验证码|"
    r"(?<!号)码|工号|学号|准考证|考号|座位号|合同号|案号|备案号|许可证|证书号|登记号|信用代码|税号|识别号|"
    r"用户ID|用户id|UID|uid|房间号|群号|QQ群|Q群|车次|航班"
)
# Labels that introduce personal numbers: contact, identity document, bank card. The nearest
# label before a number wins.
_CONTACT = r"手机|电话|联系|致电|拨打|热线|座机|固话|传真|来电|Tel|TEL|tel|[Pp]hone|[Mm]obile|[Ff]ax"
_IDENTITY = r"身份证|证件|公民身份|身份号"
_CARD = r"卡号|银行卡|信用卡|储蓄卡|借记卡|工资卡|收款|开户|账号|账户"
_LABEL = re.compile(rf"(?P<neg>{_NOT_PERSONAL})|(?P<contact>{_CONTACT})|(?P<identity>{_IDENTITY})|(?P<card>{_CARD})")

# Amounts and counts: a currency mark before, or a unit right after.
_CURRENCY_BEFORE = re.compile(r"(?:[¥￥$€£]|RMB|CNY|USD|人民币|金额|营收|收入|利润|余额|存款|总额|总计|合计|共计|市值|估值|"
                              r"销售额|交易额|成交额|GMV|人口|人数|总数|数量|产量|播放量|阅读量|浏览量|第)"
                              r"\s*(?:为|是|达|达到|约|有|共)?\s*[:：]?\s*$")
_UNIT_AFTER = re.compile(r"\s*(?:元|块钱|分(?!机)|万|亿|美元|美金|港币|欧元|日元|英镑|人次|人(?!工)|次|个|件|台|股|吨|公斤|千克|克|"
                         r"米|公里|千米|条|份|位|户|辆|套|颗|粒|只|枚|瓶|箱|袋|盒|字节|页|倍|%|％|‰|天|小时|秒|"
                         r"yuan|RMB|USD|kg|km)"
                         r"(?!先生|女士|小姐|老师|师傅|经理|总|姐|哥)")

# Maths: an operator next to the number, or maths vocabulary in the same sentence.
_OP_BEFORE = re.compile(r"(?:[×÷^]|(?:^|[^A-Za-z_])[A-Za-z]\s*[=＝]|[0-9)）]\s*[=＝+\-−]|(?:^|[^A-Za-z0-9_])[=＝<>≤≥])\s*$")
_OP_AFTER = re.compile(r"\s*(?:[×÷^=＝²³]|[+−]\s*[0-9A-Za-z(（])")
_MATHS_WORDS = re.compile(r"等于|乘以|除以|加上|减去|整除|余数|因数|约数|质数|素数|倍数|平方(?!米|公里|千米)|立方(?!米)|开方|方程|之和|之积|之差|"
                          r"个位|十位|百位|各位数字|数字之和|几位数|多少位|进制|求.{0,4}值|计算(?!机)|算式|化简|未知数|的值[为是]|"
                          r"记数法|近似数|四舍五入|精确到|概率|整数|偶数|奇数|小数|分数|百分之|千分之|万分之|平均|合多少")

# IPv4: a network context against a version / build context; the nearer one wins. Section
# numbers (第3.1.2.4条, 图1.2.3.4, §1.2.3.4) are told by the characters touching the number.
_IP_NEG = (r"版本号?|[Vv]ersion|[Vv]er\.?|[Bb]uild|固件|[Ff]irmware|内核|[Kk]ernel|补丁|[Pp]atch|升级到?|更新到?|"
           r"[Rr]elease|发布|SDK|[Cc]hrome|[Ff]irefox|[Ss]afari|Edge|Windows|iOS|Android|mac ?OS|HarmonyOS|鸿蒙|"
           r"(?<![A-Za-z])[Oo][Ss](?=\s*[=:：])|驱动|插件|软件|[Ii]mage|镜像|[Tt]ag|小数|条款|章节|[Ss]ection|附录|"
           r"公式|定理|例题|习题|标准|规范|OID|oid|型号|编号|序号")
_IP_POS = (r"IP|[Ii]p|地址|服务器|[Ss]erver|主机|[Hh]ost|登录|登陆|[Pp]ing|ssh|SSH|mysql|MySQL|-h|网关|[Gg]ateway|DNS|dns|"
           r"子网|掩码|防火墙|iptables|白名单|黑名单|访问|来源|源|目标|代理|[Pp]roxy|端口|[Pp]ort|https?|://|tcp|udp|TCP|UDP|"
           r"局域网|内网|外网|公网|路由|节点|集群|curl|telnet|ftp|nginx|listen|bind|connect|deny|allow|from|to|"
           r"GET|POST|nslookup|dig|解析|连接|数据库|redis|Redis|网段|网卡|eth0|inet|监听|接口|机房|VPN|vpn|"
           r"客户端|client|remote|src|dst")
_IP_LABEL = re.compile(rf"(?P<neg>{_IP_NEG})|(?P<pos>{_IP_POS})")
_IP_NEG_BEFORE = re.compile(r"(?:(?<![A-Za-z])[vV]|第|§|图|(?<!列)表|[Ss]ection|[Ss]ec\.|[A-Za-z][-/]|[A-Za-z0-9_.-]/[A-Za-z0-9_.-]+:)\s?$")
_IP_NEG_AFTER = re.compile(r"\s?(?:条|款|章|节|项|版|版本|[Rr]elease)|[-_][A-Za-z]|[-_.]?(?:beta|alpha|rc|RC|SNAPSHOT)")
# Without any label around: a release sentence (`… 3.11.2.1 发布`).
_RELEASE_AFTER = re.compile(r"\s?(?:正式)?(?:发布|更新|上线|升级)")
# `Python 3.11.2.1`, `Nginx 1.25.3.1`: a product name (capitalised word) right before, no network label.
_PRODUCT_BEFORE = re.compile(r"(?<![A-Za-z])[A-Z][A-Za-z]+ ?$")

def _window(text: str, start: int, size: int, stop: re.Pattern[str]) -> str:
    """Up to `size` characters before `start`, cut after the last stop character."""
    tail = _TAIL[stop].search(text, max(0, start - size), start)
    return tail.group() if tail else ""


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    last = None
    for last in pattern.finditer(text):  # noqa: B007 - only the last one is wanted
        pass
    return last


def nearest_label(text: str, start: int, size: int = 12) -> str | None:
    """The kind of the nearest label before `start` in its clause: 'neg' (order, serial, member
    card… number), 'contact', 'identity', 'card', or None."""
    last = _last_match(_LABEL, _window(text, start, size, _CLAUSE_END))
    return last.lastgroup if last else None


def glued(text: str, start: int, end: int) -> bool:
    """The run continues as a longer number: digits, a decimal point, or mask characters."""
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if before in DIGIT or after in DIGIT or before in MASK or after in MASK:
        return True
    if before == "." and start >= 2 and text[start - 2] in DIGIT:
        return True
    return after == "." and end + 1 < len(text) and text[end + 1] in DIGIT


# Short ASCII labels that may touch a number with no separator ("Tel13912345678", "vx13912345678").
_GLUE_LABELS = frozenset({"tel", "phone", "mobile", "mob", "cell", "fax", "call", "no", "vx", "wx", "v", "qq", "t", "m", "p"})


def in_identifier(text: str, start: int, end: int) -> bool:
    """The digits sit inside an ASCII identifier (`abc13912345678`, `img_139…`, `139…abc`)."""
    after = text[end] if end < len(text) else ""
    if after in ASCII_LETTER or after == "_":
        return True
    if after == "-" and end + 1 < len(text) and text[end + 1] in ASCII_LETTER:
        return True  # 139…-abc
    i = start
    while i > 0 and text[i - 1] in ASCII_LETTER:
        i -= 1
    if i == start:
        before = text[start - 1] if start else ""
        return before == "_" or (before == "-" and start >= 2 and text[start - 2] in ASCII_LETTER)  # ca-pub-4792…
    return text[i:start].lower() not in _GLUE_LABELS or (i > 0 and (text[i - 1] in DIGIT or text[i - 1] == "_"))


# `key=value` / `"key": value` in logs and configs: the key names the value.
_KEY_BEFORE = re.compile(r"(?:(?<![A-Za-z0-9_])(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=|\"(?P<qkey>[A-Za-z_][A-Za-z0-9_]*)\"\s*:)"
                         r"\s*[\"']?$")
_PHONE_KEYS = re.compile(r"phone|mobile|mob|tel|landline|cell|msisdn|contact|fax|sms|caller|callee|number|num|^to$|^from$", re.I)


def keyed_as_other(text: str, start: int) -> bool:
    """The number is the value of a log/config key that is not a phone key (`rows=13800000000`)."""
    m = _KEY_BEFORE.search(text[max(0, start - 24):start])
    return m is not None and _PHONE_KEYS.search(m["key"] or m["qkey"]) is None


def amount_or_count(text: str, start: int, end: int) -> bool:
    if _CURRENCY_BEFORE.search(_window(text, start, 10, _CLAUSE_END)):
        return True
    return _UNIT_AFTER.match(text, end) is not None


def _sentence(text: str, start: int, end: int) -> str:
    left = _window(text, start, 60, _SENTENCE_END)
    m = _SENTENCE_END.search(text, end)
    return left + text[start:(m.start() if m else min(len(text), end + 60))]


def operator_next(text: str, start: int, end: int) -> bool:
    """An arithmetic operator touches the number (`x=13900000000`, `13900000000×2`)."""
    return _OP_BEFORE.search(text[max(0, start - 6):start]) is not None or _OP_AFTER.match(text, end) is not None


def not_personal_number(text: str, start: int, end: int) -> bool:
    """Amount, count, maths, or a number the nearest label calls an order/serial/… number.
    Maths vocabulary elsewhere in the sentence counts only when no contact label introduces it."""
    label = nearest_label(text, start)
    if label == "neg" or keyed_as_other(text, start) or amount_or_count(text, start, end) or operator_next(text, start, end):
        return True
    return label is None and _MATHS_WORDS.search(_sentence(text, start, end)) is not None


def ip_context_ok(text: str, start: int, end: int) -> bool:
    """A dotted quad is an address unless version/section context is nearer than network context."""
    if _IP_NEG_BEFORE.search(text[max(0, start - 24):start]) or _IP_NEG_AFTER.match(text, end):
        return False
    last = _last_match(_IP_LABEL, _window(text, start, 24, _SENTENCE_END))
    if last is None:
        return _PRODUCT_BEFORE.search(text, max(0, start - 20), start) is None and not _RELEASE_AFTER.match(text, end)
    return last.lastgroup == "pos"
