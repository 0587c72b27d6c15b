"""sources/zhidao.py on two hand-written question pages (the shared samples hold no Zhidao page).

`zhidao_question_2017_gbk.html` imitates the 2016–2019 layout (GBK, `<pre accuse="aContent">`),
`zhidao_question_2024.html` the 2024 layout of opendatalab/magic-html's Zhidao pages; see
tests/fixtures/sources/web/xhs_douban_zhidao_fixtures.md. A Baike page and fuzzed bytes must give
located rejects only.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import CuratedRecord, InvalidItem
from sources import zhidao
from sources.http.page import RawPage, page_from_file
from sources.settings import load_settings

SETTINGS = load_settings("zhidao")
WEB = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "web"
OLD = WEB / "zhidao_question_2017_gbk.html"
NEW = WEB / "zhidao_question_2024.html"


def run(path: Path) -> tuple[list[CuratedRecord], list[InvalidItem]]:
    out = list(zhidao.parse(page_from_file(path), SETTINGS))
    return [o for o in out if isinstance(o, CuratedRecord)], [o for o in out if isinstance(o, InvalidItem)]


def test_2017_gbk_page_best_answer_and_others():
    records, rejects = run(OLD)
    best, other = records
    assert best.source == "zhidao"
    assert best.record.instruction == "怎么把本地工程上传到github？"
    assert best.record.input == "库已经创建好，工程文件也放在这个目录下了，可是用客户端就是push不上去，为什么？"
    # <pre> text with <br /> line breaks, not a code block; the 追问 thread after it is not part of the answer
    assert best.record.output.split("\n")[:3] == ["先在本地建立仓库：", "1 git init", "选择要添加进仓库的文件："]
    assert best.record.output.endswith("git push -u origin master") and "弄好了" not in best.record.output
    assert best.provenance.url == "https://zhidao.baidu.com/question/1925885591182532307.html"
    assert best.provenance.source_id == "1925885591182532307:2225589447"
    extra = best.provenance.extra
    assert extra["best_slot"] is True and extra["label"] == "最佳答案" and extra["time"] == "2016-07-01 04:36:25"
    assert (extra["votes"], extra["downvotes"]) == (6, 2) and extra["adopted_page"] is False
    assert best.record.domain == ["电脑/网络"] and extra["category"] == ["电脑/网络", "编程语言"]
    assert best.record.task_type.minor == ["知道最佳答案"] and best.record.task_type.major == ["问答"]
    assert other.record.output == "检查一下SSH key有没有添加到GitHub账户里。"
    assert other.provenance.author == "热心网友乙" and other.provenance.extra["votes"] == 0
    assert other.record.task_type.minor == ["知道其他回答"]
    [empty] = rejects  # an answer that is only an image
    assert (empty.reason, empty.location) == ("empty_answer", f"{OLD}#answer-2225609999")


def test_2024_page_fold_text_is_not_content():
    records, rejects = run(NEW)
    assert not rejects
    best, other = records
    assert best.record.instruction == "为什么冬天容易犯困？" and best.record.input == ""
    assert best.record.output == ("冬天犯困的原因可能有以下几点：\n\n1. 日照时间短，褪黑素分泌增加；\n2. 室内外温差大，身体耗能多；\n"
                                  "3. 活动量减少。\n\n适当晒太阳、多运动可以缓解。")
    assert "展开全部" not in best.record.output + other.record.output
    assert best.provenance.author == "生活百科君" and best.provenance.extra["votes"] == 12
    assert best.record.domain == ["通用"]  # breadcrumb 无分类: the settings' domain
    assert other.record.output == "天冷了人就想睡觉，这是正常的。" and other.provenance.author == "匿名用户"
    assert other.provenance.extra["rank"] == 1 and other.provenance.extra["best_slot"] is False


def test_not_a_question_page(samples_dir):
    path = samples_dir / "baike" / "trafilatura__baike.baidu.com.tanya.html"
    [bad] = list(zhidao.parse(page_from_file(path), SETTINGS))
    assert bad.reason == "not_a_question_page" and bad.location == str(path) and "Baike" in bad.detail


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=20))
def test_damaged_pages_give_only_records_or_located_rejects(cut, flips):
    body = bytearray(NEW.read_bytes()[: int(NEW.stat().st_size * cut)])
    for where, value in flips:
        if body:
            body[min(len(body) - 1, int(len(body) * where))] = value
    for outcome in zhidao.parse(RawPage("fuzz://page", bytes(body), "t"), SETTINGS):
        assert isinstance(outcome, CuratedRecord | InvalidItem)
        if isinstance(outcome, InvalidItem):
            assert outcome.location.startswith("fuzz://page") and outcome.reason
