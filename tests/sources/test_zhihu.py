"""sources/zhihu.py on the real Zhihu samples, plus crawl + kill/resume through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from schemas import CuratedRecord, InvalidItem
from sources import zhihu
from sources.html_markdown import html_to_markdown
from sources.http.page import RawPage, page_from_file
from sources.settings import load_settings
from tests.sources.http.site import REPO, request_log, sample_site

SETTINGS = load_settings("zhihu")


def parse_file(path: Path) -> list:
    return list(zhihu.parse(page_from_file(path), SETTINGS))


def test_api_answer_detail(samples_dir):
    [rec] = parse_file(samples_dir / "zhihu" / "zhihu-plus-plus__real-api_answer-detail.json")
    assert isinstance(rec, CuratedRecord)
    assert rec.record.instruction == "如何评价kotlin？"
    assert rec.record.input == ""
    assert rec.record.output.startswith("以前我也是Kotlin信徒，直到现在我也觉得Kotlin在语言上可圈可点。\n\n但Jvm系")
    assert "```kotlin\n@Composable\nfun MessageCard(msg: Message) {" in rec.record.output
    assert "```csharp\nList(s => {" in rec.record.output
    assert "\n---\n" in rec.record.output  # <hr/>
    extra = rec.provenance.extra
    assert extra["voteup_count"] == 101 and extra["comment_count"] == 71 and extra["thanks_count"] == 7
    assert extra["created_time"] == "2025-08-07T05:53:35Z" and extra["topics"] == ["Kotlin"]
    assert rec.provenance.author == "脱敏用户001"
    assert rec.provenance.url == "https://www.zhihu.com/question/1924054028658116132/answer/1936787046304842491"
    assert rec.provenance.source_id == "1936787046304842491" and len(rec.provenance.raw_sha256) == 64
    assert "脱敏用户001" in rec.record.copyright and rec.record.answer_from == "human"
    assert rec.record.human_verified is False


def test_answer_content_formulas_footnotes_headings(samples_dir):
    html = (samples_dir / "zhihu" / "zhihu-plus-plus__issue-495-answer.html").read_text("utf-8")
    md = html_to_markdown(html)
    assert "## 一、介绍" in md
    # display formula (alone in its paragraph) from the equation image's alt
    assert "$$\nx=\\cos x\\Rightarrow x-\\frac{\\pi}{2}=\\cos({x-\\frac{\\pi}{2}})=\\sin x\n$$" in md
    assert "角度$\\angle M$被称为**平近点角**[^4]" in md  # inline formula + footnote ref
    assert "[^1]: An exact analytical solution of Kepler's Equation https://link.springer.com/article/10.1007/BF01231473" in md
    assert "eeimg" not in md and "<img" not in md


def test_answer_fragment_without_question_is_rejected_with_reason(samples_dir):
    [bad] = parse_file(samples_dir / "zhihu" / "zhihu-plus-plus__issue-495-answer.html")
    assert isinstance(bad, InvalidItem) and bad.reason == "no_answers"
    assert bad.location.endswith("issue-495-answer.html")


def test_server_rendered_question_page(samples_dir):
    recs = parse_file(samples_dir / "zhihu" / "magic-html__zhihu_q586816837_a2916374892.html")
    assert [r.provenance.source_id for r in recs] == ["2916374892", "2915543920", "2916156099"]
    title = "2 月 28 日四川甘孜州泸定县发生 4.8 级地震，震源深度 8 千米，当地情况如何？"
    assert all(r.record.instruction == title for r in recs)
    first = recs[0]
    assert first.record.input.startswith("中国地震台网正式测定：02月28日22时46分在四川甘孜州泸定县")
    assert first.record.output.startswith("这是确实有震感")
    assert first.provenance.author == "西日韩留学吕老师"
    assert first.provenance.extra["created_time"] == "2023-03-01T06:29:33Z"  # entity createdTime
    second = recs[1]
    assert second.provenance.extra["voteup_count"] == 104 and second.provenance.extra["comment_count"] == 40
    assert second.provenance.author == "等风"
    assert second.provenance.url == "https://www.zhihu.com/question/586816837/answer/2915543920"
    assert second.provenance.extra["topics"] == ["地震", "四川", "地震分析"]


def _page(body: bytes | str, location: str = "mem") -> RawPage:
    return RawPage(location=location, body=body.encode() if isinstance(body, str) else body, fetched_at="t")


def test_feed_items_and_lists(samples_dir):
    answer = json.loads((samples_dir / "zhihu" / "zhihu-plus-plus__real-api_answer-detail.json").read_text())
    feed = {"data": [{"verb": "ANSWER_VOTE_UP", "target": answer},
                     {"verb": "ARTICLE", "target": {"type": "article", "id": 1}}],
            "paging": {"is_end": False, "next": "https://www.zhihu.com/api/v3/feed/topstory?page=2"}}
    out = list(zhihu.parse(_page(json.dumps(feed)), SETTINGS))
    assert [o.record.instruction for o in out] == ["如何评价kotlin？"]
    assert zhihu.discover(_page(json.dumps(feed))) == ["https://www.zhihu.com/api/v3/feed/topstory?page=2"]
    feed["paging"]["is_end"] = True
    assert zhihu.discover(_page(json.dumps(feed))) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty_body"),
        ('{"data": [{"type": "answer", "id": 1, "question": {"title": "t"}', "json_decode"),
        ('{"error": {"code": 40352, "message": "需要登录"}}', "no_answers"),
        ("<html><body><h1>请登录</h1></body></html>", "no_answers"),
        ('{"type": "answer", "id": 5, "question": {"title": "标题"}, "excerpt": "只有摘要"}', "empty_answer"),
        ('{"type": "answer", "id": 5, "content": "<p>x</p>"}', "missing_question"),
    ],
)
def test_bad_inputs_become_invalid_items(body, reason):
    [out] = list(zhihu.parse(_page(body, "https://www.zhihu.com/api/v4/answers/5"), SETTINGS))
    assert isinstance(out, InvalidItem) and out.reason == reason
    assert out.location == "https://www.zhihu.com/api/v4/answers/5"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "curation.cli", "ingest", "zhihu", *args]


def _records(run: Path) -> list[dict]:
    rows = []
    for part in sorted((run / "ingest-zhihu").glob("part-*.jsonl")):
        rows += [json.loads(line) for line in part.read_text().splitlines()]
    return rows


def test_cli_crawl_paging_and_faults(tmp_path, samples_dir):
    with sample_site() as site:
        run = tmp_path / "run"
        result = subprocess.run(
            _cli("--url", f"{site}/fault/429/1/zhihu/api/v4/questions/7/answers?offset=0&limit=4&total=10",
                 "--url", f"{site}/fault/500/1/zhihu/api/v4/answers/99",
                 "--url", f"{site}/fault/html-for-json/zhihu/api/v4/answers/98",
                 "--run", str(run), "--rate", "0", "--retries", "2"),
            cwd=REPO, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        rows = _records(run)
        assert len(rows) == 11  # 10 answers over 3 pages + answer 99
        assert len({r["id"] for r in rows}) == 11
        rejects = (run / "ingest-zhihu" / "rejects-00000.jsonl").read_text()
        assert '"reason":"no_answers"' in rejects and "/zhihu/api/v4/answers/98" in rejects
        manifest = json.loads((run / "ingest-zhihu" / "_MANIFEST.json").read_text())
        assert manifest["counts"]["kept"] == 11 and manifest["counts"]["invalid_total"] == 1
        log = request_log(site)
        assert sum("offset=" in p for p in log) == 4  # page 1 twice (429 then ok), pages 2 and 3


def test_cli_killed_crawl_resumes_without_refetch_or_duplicates(tmp_path, samples_dir):
    url = "{site}/zhihu/api/v4/questions/5/answers?offset=0&limit=1&total=30"
    with sample_site("--delay-ms", "150") as site:
        run = tmp_path / "run"
        args = _cli("--url", url.format(site=site), "--run", str(run), "--rate", "0", "--shard-size", "3")
        proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(request_log(site)) < 12 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        cached_before = set(_cached_urls(run))
        assert 5 <= len(cached_before) < 30
        log_before = len(request_log(site))
        result = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        refetched = [p for p in request_log(site)[log_before:] if "offset=" in p]
        assert not {site + p for p in refetched} & cached_before  # nothing cached was fetched again
    rows = _records(run)
    assert len(rows) == 30 and len({r["id"] for r in rows}) == 30
    assert "resumed after" in result.stderr or "done" in result.stderr


def _cached_urls(run: Path) -> list[str]:
    from sources.http import RawCache

    return RawCache(run / "_raw_cache").urls()
