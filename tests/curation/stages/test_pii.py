"""PII detection on Chinese text, one test group per rule of shared/design/pii-standard.md.

Every sentence here was written for these tests (none is taken from the evaluation set). Check
characters are computed with python-stdnum (`stdnum.cn.ric`, `stdnum.luhn`), an implementation
independent of the detector's. The last tests run the scorer on the independent evaluation set
(tests/fixtures/pii_eval, written from the standard by someone who did not read the detector).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from stdnum import luhn
from stdnum.cn import ric

from curation.stages.pii import detect_and_redact, find_pii, id_card_valid, luhn_valid
from curation.stages.pii.checks import area_codes, bank_card_valid, landline_valid, mobile_block_valid
from curation.stages.pii.score import Case, load_cases, missed_targets, parse_case, score

REPO = Path(__file__).resolve().parents[3]
EVAL_SET = REPO / "tests" / "fixtures" / "pii_eval" / "cases.jsonl"


def make_id(region: str, born: str, seq: str = "123") -> str:
    body = region + born + seq
    return body + ric.calc_check_digit(body + "0")


def make_card(prefix: str, length: int) -> str:
    body = prefix + "3" * (length - len(prefix) - 1)
    return body + luhn.calc_check_digit(body)


def wrong_check(number: str) -> str:
    last = number[-1].upper()
    return number[:-1] + ("1" if last != "1" else "2")


def spans(text: str) -> list[tuple[str, str]]:
    return [(m.type, m.value) for m in find_pii(text)]


ID_X = next(n for seq in range(100, 200) if (n := make_id("440305", "19850312", str(seq))).endswith("X"))
ID_1 = make_id("110105", "19491231", "002")
ID_2 = make_id("510107", "20010704", "358")
CARD_UP19 = make_card("622202", 19)
CARD_UP16 = make_card("622848", 16)
CARD_VISA = make_card("427020", 16)
CARD_MC = make_card("525998", 16)


# ---------------------------------------------------------------- checks behind the formats

def test_checksums_and_tables() -> None:
    assert id_card_valid("11010519491231002X") and not id_card_valid("110105194912310021")
    assert ID_X.endswith("X") and id_card_valid(ID_X) and id_card_valid(ID_X.lower())
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert bank_card_valid(CARD_UP19) and bank_card_valid(CARD_VISA) and bank_card_valid(CARD_MC)
    assert not bank_card_valid(make_card("912345", 16))  # Luhn-valid, no card issuer starts with 9
    assert mobile_block_valid("13912345678") and mobile_block_valid("19912345678")
    assert not mobile_block_valid("14012345678") and not mobile_block_valid("12012345678")
    assert landline_valid("010", "62751234") and landline_valid("0891", "6331234")
    assert not landline_valid("010", "6275123")  # Beijing numbers have 8 digits
    assert not landline_valid("0123", "62751234")  # no such area code
    assert not landline_valid("0755", "06013388")  # local numbers do not start with 0 or 1
    codes = area_codes()
    assert 300 <= len(codes) <= 340 and {"010", "021", "0755", "0891", "0335"} <= codes
    assert not {"026", "0400", "0800", "0100"} & codes


def test_id_card_dates_and_regions() -> None:
    today = date(2026, 11, 30)
    assert id_card_valid(make_id("330106", "20261130"), today)
    assert not id_card_valid(make_id("330106", "20261201"), today)  # born tomorrow
    assert not id_card_valid(make_id("330106", "19900230"))  # 30 February
    assert not id_card_valid(make_id("330106", "19901301"))  # month 13
    assert not id_card_valid(make_id("990101", "19900101"))  # 99: no such province
    assert not id_card_valid(make_id("110199", "19900101"))  # Beijing has no county 99


# ---------------------------------------------------------------- mobile

@pytest.mark.parametrize(("text", "value"), [
    ("房东电话13912345678，看房提前约", "13912345678"),
    ("手机：139 1234 5678（周末也接）", "139 1234 5678"),
    ("手机139-1234-5678找张工", "139-1234-5678"),
    ("境外请拨+86 13912345678咨询", "+86 13912345678"),
    ("请拨+86-139-1234-5678", "+86-139-1234-5678"),
    ("海外客户请拨86 19912345678。", "86 19912345678"),
    ("电话１３９１２３４５６７８找我", "１３９１２３４５６７８"),
    ("Tel13912345678", "13912345678"),
    ("收货人：陈女士，17012345678，放门卫", "17012345678"),
    ("群里有人留了13912345678，快打", "13912345678"),  # a group mentioned nearby is no group number
])
def test_mobile_positives(text: str, value: str) -> None:
    assert spans(text) == [("mobile", value)]


@pytest.mark.parametrize("text", [
    "号码1391234567少了一位",  # 10 digits
    "号码139123456789多了一位",  # 12 digits
    "手机139****5678的用户已验证",  # masked
    "公司去年营收13900000000元",  # amount
    "估值约¥15000000000",  # amount
    "这批零件共13900000000个",  # count
    "若x=13900000000，求x除以9的余数",  # the unknown of a maths problem
    "已知某数为15012345678，求它的各位数字之和。",  # maths vocabulary in the sentence
    "订单号20231391234567890已发货",  # mobile-shaped part of a longer run
    '<script data-ad-client="ca-pub-13912345678">',  # inside an ASCII identifier
    "领取码13912345678，三天内有效",  # a code by its label
    "运单号：13912345678，请查收",  # an order / waybill number by its label
    "[job] user=ops rows=13812345678 ok",  # a log key names a count
    "编号12012345678",  # 12x is no carrier block
])
def test_mobile_lookalikes(text: str) -> None:
    assert spans(text) == []


# ---------------------------------------------------------------- landline

@pytest.mark.parametrize(("text", "value"), [
    ("办公室电话010-62751234，工作日接听", "010-62751234"),
    ("总部(0755)86013388", "(0755)86013388"),
    ("总部（0755）86013388", "（0755）86013388"),
    ("前台：021 6443 1234", "021 6443 1234"),
    ("座机0571-8812-3456", "0571-8812-3456"),
    ("座机02164431234", "02164431234"),
    ("From abroad: +86-10-62751234", "+86-10-62751234"),
    ("海外请拨+86 755 86013388", "+86 755 86013388"),
    ("拉萨办事处0891-6331234", "0891-6331234"),
    ("电话：0755 - 86013388", "0755 - 86013388"),
    ("总机010-62751234转8023", "010-62751234"),
    ("电话0755-86013388分机-8023", "0755-86013388"),
    ("传真：０１０－６２７５１２３４", "０１０－６２７５１２３４"),
])
def test_landline_positives(text: str, value: str) -> None:
    assert spans(text) == [("landline", value)]


@pytest.mark.parametrize("text", [
    "全国客服热线400-820-8820",
    "免费热线800-810-8888",
    "工商银行客服95588，市民热线12345",
    "深圳的区号是0755",
    "邮编100871，北京市海淀区",
    "010-6275123",  # Beijing numbers have 8 digits
    "0123-62751234",  # no such area code
    "营业时间0830-1730",
])
def test_landline_lookalikes(text: str) -> None:
    assert spans(text) == []


# ---------------------------------------------------------------- id_card

@pytest.mark.parametrize("number", [ID_1, ID_2, ID_X, ID_X.lower()])
def test_id_card_positives(number: str) -> None:
    assert spans(f"身份证号：{number}，请核对") == [("id_card", number)]
    assert spans(f"乘车人证件号{number}已实名") == [("id_card", number)]


@pytest.mark.parametrize("text", [
    f"身份证号{wrong_check(ID_1)}",  # wrong check character
    f"身份证号{make_id('330106', '19900230')}",  # right check, 30 February
    f"身份证号{make_id('330106', '19901301')}",  # right check, month 13
    f"身份证号{make_id('990101', '19900101')}",  # right check, unknown region
    f"身份证号{make_id('330106', (date.today() + timedelta(days=400)).strftime('%Y%m%d'))}",  # future
    "身份证号110105********002X",  # masked
    "统一社会信用代码91110108MA01C3XX2Q",  # letters inside
    "退款单号：202311301234567890",  # 18-digit refund number
])
def test_id_card_lookalikes(text: str) -> None:
    assert spans(text) == []


def test_wrong_check_id_is_not_taken_for_a_card() -> None:
    """A resident id with a wrong check character can pass Luhn (and 44…, 62… look like card
    prefixes): real region and birth date say it is a mistyped id, not a card."""
    number = next(n for seq in range(100, 999) if luhn_valid(n := wrong_check(make_id("620102", "19880808", str(seq)))))
    assert not id_card_valid(number)
    assert spans(f"身份证：{number}") == [] and spans(f"登记的是{number}") == []
    assert spans(f"银行卡号：{number}") == [("bank_card", number)]  # a card label says otherwise


# ---------------------------------------------------------------- bank_card

@pytest.mark.parametrize("number", [CARD_UP19, CARD_UP16, CARD_VISA, CARD_MC,
                                    " ".join(CARD_UP16[i:i + 4] for i in range(0, 16, 4)),
                                    " ".join(CARD_UP19[i:i + 4] for i in range(0, 19, 4))])
def test_bank_card_positives(number: str) -> None:
    assert spans(f"工资卡卡号{number}，开户行建设银行") == [("bank_card", number)]


@pytest.mark.parametrize("text", [
    f"卡号{wrong_check(CARD_UP16)}",  # Luhn failure
    f"加油卡{wrong_check(make_card('9100', 16))}，余额200元",  # fuel card, fails Luhn
    "卡号6222 **** **** 1234",  # masked
    "您尾号1234的储蓄卡入账500元",
    "设备IMEI：860874050579098",  # 15 digits
    f"订单号{make_card('622202', 19)}已支付",  # Luhn-valid 19-digit shop order number
    f"支付宝交易号2023113022001{make_card('62220', 15)}",  # inside a 28-digit trade number
    f"会员卡号{make_card('622202', 16)}",  # a member card by its label
])
def test_bank_card_lookalikes(text: str) -> None:
    assert spans(text) == []


# ---------------------------------------------------------------- email

@pytest.mark.parametrize(("text", "value"), [
    ("简历请投邮箱li.ming@126.com。", "li.ming@126.com"),
    ("联系zhang_san@pku.edu.cn获取资料", "zhang_san@pku.edu.cn"),
    ("Email:Wang.Fang+cv@gmail.com", "Wang.Fang+cv@gmail.com"),
    ("Please write to hr@example.org.", "hr@example.org"),
    ("院办邮箱：office@med.fudan.edu.cn；", "office@med.fudan.edu.cn"),
    ("发到１２３４５６７８＠ｑｑ．ｃｏｍ", "１２３４５６７８＠ｑｑ．ｃｏｍ"),
])
def test_email_positives(text: str, value: str) -> None:
    assert spans(text) == [("email", value)]


@pytest.mark.parametrize("text", [
    "本地测试发信人写root@localhost即可",
    "执行 git clone git@github.com:cqia/cqia.git 拉代码",
    "或者用 ssh://git@gitlab.com/team/app.git",
    "执行 ssh deploy@prod.example.com 登录跳板机",
    "SELECT * FROM users WHERE email LIKE '%@qq.com'",
    "@张三 你的快递到了",
    "用@app.route('/')注册路由",
    "先 npm i @vue/cli 再 npm i lodash@4.17.21",
    "图标文件logo@2x.png放在assets目录",
    "简历模板：邮箱xxx@xxx.com，请替换成自己的",
])
def test_email_lookalikes(text: str) -> None:
    assert spans(text) == []


def test_email_holding_a_qq_number_is_one_span() -> None:
    assert spans("QQ邮箱：QQ 87654321@qq.com") == [("email", "87654321@qq.com")]
    assert spans("我的QQ号就是邮箱87654321@qq.com") == [("email", "87654321@qq.com")]


# ---------------------------------------------------------------- ipv4

@pytest.mark.parametrize(("text", "value"), [
    ("服务器IP是192.168.1.10，请勿外传", "192.168.1.10"),
    ("网络不通就先ping 8.8.8.8看看", "8.8.8.8"),
    ("登录：ssh root@10.0.0.5", "10.0.0.5"),
    ("mysql -h 172.16.0.12 -u root -p", "172.16.0.12"),
    ("后台地址http://47.96.1.2:8080/admin", "47.96.1.2"),
    ('203.0.113.9 - - [01/Dec/2026:10:00:00 +0800] "GET / HTTP/1.1" 200', "203.0.113.9"),
    ("iptables -A INPUT -s 10.1.2.3 -j DROP", "10.1.2.3"),
])
def test_ipv4_positives(text: str, value: str) -> None:
    assert spans(text) == [("ip", value)]


@pytest.mark.parametrize("text", [
    "客户端版本 4.2.10.181 已发布",
    "依据第3.1.2.4条处理",
    "UA: Mozilla/5.0 Chrome/119.0.0.0 Safari/537.36",
    "固件版本：1.0.3.12，请升级",
    "服务器地址256.1.1.1写错了",  # octet above 255
    "网关192.168.01.1写错了",  # leading zero
    "升级到v2.3.4.5后重启",
    "Python 3.11.2.1 发布了",  # a product name, no network word
    "镜像 registry.example.com/shop/api:2.3.14.7 已推送",  # an image tag
])
def test_ipv4_lookalikes(text: str) -> None:
    assert spans(text) == []


# ---------------------------------------------------------------- qq

@pytest.mark.parametrize(("text", "value"), [
    ("有事加我QQ：12345678", "12345678"),
    ("qq 3456789012，备注来意", "3456789012"),
    ("QQ号码：87654321", "87654321"),
    ("扣扣10086001联系", "10086001"),
    ("企鹅号：5566778", "5566778"),
    ("原QQ被盗，新号2837465190，请重新添加", "2837465190"),
    ("ＱＱ１２３４５６７８", "１２３４５６７８"),
    ("QQ/微信：12345678", "12345678"),  # one number for both labels: a WeChat id cannot be all digits
    ("客服：您的QQ号是多少？用户：12345678", "12345678"),  # asked in one turn, answered in the next
    ("QQ13912345678", "13912345678"),  # labelled: the QQ number, not a mobile
])
def test_qq_positives(text: str, value: str) -> None:
    assert spans(text) == [("qq", value)]


def test_qq_label_covers_the_next_number_of_the_same_person() -> None:
    assert spans("我的QQ号以前是12345678，现在换成了87654321") == [("qq", "12345678"), ("qq", "87654321")]
    assert spans("QQ：12345678，年龄25岁，电话13912345678") == [("qq", "12345678"), ("mobile", "13912345678")]


@pytest.mark.parametrize("text", [
    "欢迎加入QQ群：123456789",
    "家长群号：123456789",
    "技术交流Q群12345678",
    "QQ音乐会员开通后编号12345678",
    "QQ空间访问量123456",
    "QQ等级32级，活跃天数12345",
    "QQ 9.7.25版本修复了闪退",
    "加我12345678详聊",  # no label
    "有意者QQ上联系，报价15000元",  # an amount
    "QQ被盗了，找回请联系客服95017",  # the service line's label is nearer
])
def test_qq_lookalikes(text: str) -> None:
    assert spans(text) == []


# ---------------------------------------------------------------- wechat

@pytest.mark.parametrize(("text", "value"), [
    ("微信：zhang_san88", "zhang_san88"),
    ("微信号 wxid_abc123def，备注姓名", "wxid_abc123def"),
    ("加vx：Lucky-2024", "Lucky-2024"),
    ("VX:abcdef1", "abcdef1"),
    ("wx：hello_world", "hello_world"),
    ("V信：qwerty123", "qwerty123"),
    ("薇信sale_shop01找我", "sale_shop01"),
    ("加我微信huhu2021看房", "huhu2021"),
    ("my_wx_01是我的微信号，加的时候备注", "my_wx_01"),
    ("加我vx吧，sunny_2025_go，方便发图", "sunny_2025_go"),
    ("微信/QQ：abc123456", "abc123456"),
])
def test_wechat_positives(text: str, value: str) -> None:
    assert spans(text) == [("wechat", value)]


@pytest.mark.parametrize("text", [
    "关注公众号：gh_1234567890ab",
    "微信号gh_0a1b2c3d4e5f是官方账号",
    "微信群里发了通知abcdefg1",
    "微信支付订单wxpay_20231130",
    "wxid_abc123456",  # no label
    "微信朋友圈发了一条动态test_post_1",  # a WeChat feature, not an account
    ".rec-wechat{padding-left:23px}",  # CSS class name
])
def test_wechat_lookalikes(text: str) -> None:
    assert spans(text) == []


def test_wechat_same_as_phone_is_mobile_only() -> None:
    assert spans("手机13912345678（微信同号）") == [("mobile", "13912345678")]
    assert spans("微信：18612340000") == [("mobile", "18612340000")]


# ---------------------------------------------------------------- boundaries, overlaps, interface

def test_spans_touch_chinese_without_spaces() -> None:
    text = f"电话13912345678找我邮箱li.ming@126.com。身份证{ID_1}号"
    assert spans(text) == [("mobile", "13912345678"), ("email", "li.ming@126.com"), ("id_card", ID_1)]


def test_spans_never_overlap() -> None:
    for text in ["QQ：12345678@qq.com", f"卡号{ID_1}", "微信：abc_def@163.com"]:
        found = find_pii(text)
        assert all(a.end <= b.start for a, b in zip(found, found[1:], strict=False)), found
        assert len(found) == 1


def test_typed_placeholders() -> None:
    text = f"手机13812345678，身份证{ID_1}，卡号{CARD_UP19}，邮箱li.na@163.com，QQ：12345678，微信：li_na99"
    out, counts = detect_and_redact(text)
    assert out == "手机<MOBILE>，身份证<ID_CARD>，卡号<BANK_CARD>，邮箱<EMAIL>，QQ：<QQ>，微信：<WECHAT>"
    assert counts == {"mobile": 1, "id_card": 1, "bank_card": 1, "email": 1, "qq": 1, "wechat": 1}
    assert detect_and_redact("座机010-62751234，服务器IP 10.0.0.1")[0] == "座机<LANDLINE>，服务器IP <IP>"


def test_redaction_can_be_limited_to_types_or_turned_off() -> None:
    text = "电话13812345678，邮箱a.b@sina.com"
    assert detect_and_redact(text, types=["email"])[0] == "电话13812345678，邮箱<EMAIL>"
    assert detect_and_redact(text, do_redact=False) == (text, {"mobile": 1, "email": 1})


# ---------------------------------------------------------------- the scorer

def test_score_counts_exact_spans_and_lookalike_lines() -> None:
    cases = [
        Case("a", "电话13912345678", ((2, 13, "mobile"),), False),
        Case("b", "手机 13912345678", ((2, 14, "mobile"),), False),  # gold span off by one: fp + fn
        Case("c", "版本 4.2.10.181", (), True),
        Case("d", "订单已发货", (), True),
    ]
    report = score(cases)
    assert report["per_type"]["mobile"] == {"tp": 1, "fp": 1, "fn": 1, "precision": 0.5, "recall": 0.5}
    assert report["lookalike_only"] == {"lines": 2, "touched": 0, "rate": 0.0}
    assert any("mobile" in m for m in missed_targets(report))


def test_score_reads_the_older_entities_layout() -> None:
    case = parse_case({"text": "QQ：12345678，手机13912345678",
                       "entities": [{"type": "mobile", "value": "13912345678"}, {"type": "qq", "value": "12345678"}]},
                      "inline:1")
    assert case.spans == ((3, 11, "qq"), (14, 25, "mobile")) and not case.lookalike_only
    assert parse_case({"text": "无", "entities": []}, "inline:2").lookalike_only


def test_evaluation_set_meets_the_targets() -> None:
    """The independent set (671 lines, 573 spans, 243 lookalike-only lines) via the CLI scorer."""
    cases = load_cases(EVAL_SET)
    assert len(cases) == 671 and sum(c.lookalike_only for c in cases) == 243
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "eval_pii.py"), "--json"],
                          capture_output=True, text=True, check=False, cwd=REPO)
    report = json.loads(proc.stdout)
    assert report["targets_missed"] == [] and proc.returncode == 0, report["targets_missed"]
    assert sum(r["tp"] + r["fn"] for r in report["per_type"].values()) == 573
    assert report["lookalike_only"]["rate"] <= 0.02
