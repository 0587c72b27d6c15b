"""Fuzz the web parsers directly (no safety net): any bytes → only CuratedRecord/InvalidItem.

Inputs are built from the real samples: truncated at random points, with random byte flips,
re-encoded as GBK, or replaced by random text/JSON/HTML, so the parsers see realistic damage.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import CuratedRecord, InvalidItem
from sources import douban, segmentfault, wikihow, xhs, zhihu
from sources.html_markdown import html_to_markdown
from sources.http.page import RawPage
from sources.settings import load_settings
from tests.conftest import samples_root
from tests.sources.fuzzing import fuzz_settings

SAMPLES = {
    zhihu: ["zhihu/zhihu-plus-plus__real-api_answer-detail.json", "zhihu/magic-html__zhihu_q586816837_a2916374892.html",
            "zhihu/zhihu-plus-plus__search-general-sanitized.json", "zhihu/zhihu-py3__answer.html"],
    segmentfault: ["segmentfault/morning-paper-sever__segmentfault_html_mock.js"],
    douban: ["douban/neodb__https___movie_douban_com_subject_3541415_.html"],
    xhs: ["xiaohongshu/spider_xhs__test_one_info.derived.json"],
    wikihow: ["wikihow/teknologi-umum-bot__wikihow_en_stop-ringing-in-ears.html"],
}
CASES = [(m, f) for m, files in SAMPLES.items() for f in files]
FUZZ = fuzz_settings(40)


def _check(module, body: bytes, content_type: str = "") -> None:
    page = RawPage(location="fuzz://page", body=body, fetched_at="t", content_type=content_type)
    name = module.SOURCE
    for outcome in module.parse(page, load_settings(name)):
        assert isinstance(outcome, CuratedRecord | InvalidItem)
        if isinstance(outcome, InvalidItem):
            assert outcome.location.startswith("fuzz://page") and outcome.reason


def _sample(rel: str) -> bytes:
    path = samples_root() / rel
    if not path.exists():
        pytest.skip(f"sample missing: {path}")
    return path.read_bytes()


@pytest.mark.parametrize(("module", "rel"), CASES, ids=[f for _, f in CASES])
@FUZZ
@given(cut=st.floats(0, 1))
def test_truncated_samples(module, rel, cut):
    body = _sample(rel)
    _check(module, body[: int(len(body) * cut)])


@pytest.mark.parametrize(("module", "rel"), CASES, ids=[f for _, f in CASES])
@FUZZ
@given(flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=30))
def test_corrupted_samples(module, rel, flips):
    body = bytearray(_sample(rel))
    for where, value in flips:
        body[min(len(body) - 1, int(len(body) * where))] = value
    _check(module, bytes(body))


@pytest.mark.parametrize(("module", "rel"), CASES, ids=[f for _, f in CASES])
def test_gbk_reencoded_and_swapped_formats(module, rel):
    body = _sample(rel)
    _check(module, body.decode("utf-8").encode("gb18030"), "text/html; charset=gbk")
    _check(module, body.decode("utf-8").encode("gb18030"), "text/html; charset=utf-8")  # mislabelled
    _check(module, b"<html><body><h1>\xe8\xaf\xb7\xe7\x99\xbb\xe5\xbd\x95</h1></body></html>")  # HTML for JSON
    _check(module, b'{"data": null, "items": [1, "x", null], "note_card": 3}')  # JSON for HTML
    _check(module, b"")


@pytest.mark.parametrize("module", list(SAMPLES), ids=[m.SOURCE for m in SAMPLES])
@FUZZ
@given(text=st.one_of(
    st.text(max_size=300),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda c: st.lists(c, max_size=4) | st.dictionaries(
                     st.sampled_from(["type", "id", "data", "content", "question", "title", "target",
                                      "note_card", "desc", "tag_list", "paging", "author"]), c, max_size=5),
                 max_leaves=20).map(lambda v: __import__("json").dumps(v)),
))
def test_random_text_and_json(module, text):
    _check(module, text.encode("utf-8", "surrogatepass") if text else b"")


@FUZZ
@given(html=st.lists(st.sampled_from(list("<>/=\"' abpli$\\{}#") + [
    "<p>", "</p>", "<img eeimg alt='x'>", "<sup data-numero='1'>", "<ol>", "<li>", "<pre><code>", "中文",
    "<table><tr><td>", "<blockquote>", "<a href='//x'>"]), max_size=60).map("".join))
def test_markdown_never_raises(html):
    assert isinstance(html_to_markdown(html), str)


def test_samples_dir_is_used(samples_dir: Path):
    assert (samples_dir / SAMPLES[zhihu][0]).exists()


@pytest.mark.parametrize(("module", "body"), [
    (zhihu, b'{"type":"answer","id":1,"content":"<p>x</p>","question":{"title":"t","topics":5},"author":7}'),
    (xhs, b'{"note_id":"1","title":"t","desc":"x","tag_list":7,"image_list":3,"user":"u"}'),
    (douban, b'<script type="application/ld+json">{"name":"X","@type":"Movie","genre":3,"director":2}</script>'
             b'<span property="v:itemreviewed">X</span><span property="v:summary">abc</span>'),
])
def test_wrong_field_types_do_not_crash(module, body):
    _check(module, body)


@pytest.mark.parametrize(("module", "body", "expected"), [
    # a non-string question title on the first answer must not cost the page its second answer
    (zhihu, b'[{"type":"answer","id":1,"content":"<p>x</p>","question":{"title":123}},'
            b'{"type":"answer","id":2,"content":"<p>y</p>","question":{"title":"t"}}]',
     ["missing_question", None]),
    # a non-string author name reaches Provenance.author: a schema reject, not an exception
    (zhihu, b'{"type":"answer","id":1,"content":"<p>x</p>","question":{"title":"t"},"author":{"name":42}}',
     ["schema"]),
    (xhs, b'{"note_id":"1","title":"t","desc":"","tag_list":[{"name":"a"}],"user":{"nickname":5}}', ["schema"]),
])
def test_wrong_field_types_become_rejects_per_item(module, body, expected):
    page = RawPage(location="fuzz://page", body=body, fetched_at="t")
    out = list(module.parse(page, load_settings(module.SOURCE)))
    assert [getattr(o, "reason", None) for o in out] == expected


HTML_CASES = [(m, f) for m, f in CASES if f.endswith(".html") and m is not zhihu]  # zhihu: fragments, no </html>


@pytest.mark.parametrize(("module", "rel"), HTML_CASES, ids=[f for _, f in HTML_CASES])
@FUZZ
@given(cut=st.floats(0.05, 0.999))
def test_cut_page_is_a_reject_never_fewer_records(module, rel, cut):
    """A page cut before its </html> yields the truncated_html reject and no records."""
    body = _sample(rel)
    end = body.lower().rfind(b"</html")
    body = body[: int(end * cut)]
    page = RawPage(location="fuzz://page", body=body, fetched_at="t")
    out = list(module.parse(page, load_settings(module.SOURCE)))
    assert [getattr(o, "reason", None) for o in out] == ["truncated_html"]
