"""LLM quality scoring against a real OpenAI-compatible server process on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from curation.pipeline.recipe import load_recipe
from curation.pipeline.rundir import RunDir
from curation.stages.chain import curate_run
from curation.stages.quality import parse_score
from tests.curation.stages.test_chain import GOOD, make_run, rec
from tests.llm_fixtures import openai_server  # noqa: F401


@pytest.mark.parametrize(("reply", "score"), [
    ('{"score": 8, "reason": "回答准确"}', 8),
    ('好的，评审如下：\n{"score": 3, "reason": "答非所问"}', 3),
    ("分数：9", 9),
    ("7", 7),
    ('{"score": 12}', None),
    ("这个回答还不错", None),
])
def test_parse_score(reply: str, score: int | None) -> None:
    assert parse_score(reply)[0] == score


def recipe_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "q.yaml"
    path.write_text("quality: {enabled: true, concurrency: 4, max_retries: 3}\n"
                    "filter: {min_llm_score: 6}\n" + extra, encoding="utf-8")
    return path


def test_scores_filter_cache_and_retries(openai_server, run_dir: Path, tmp_path: Path,  # noqa: F811
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CQIA_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("CQIA_LLM_MODEL", "fake-model")
    openai_server.set_rules([
        {"pattern": "【指令】\\n咖啡", "reply": '{"score": 9, "reason": "准确"}'},
        {"pattern": "【指令】\\n胡说", "reply": '{"score": 2, "reason": "内容错误"}'},
    ])
    openai_server.set_faults(status=500, times=2, retry_after=0)
    records = [rec("zhihu", "咖啡可以叫豆浆吗？", GOOD), rec("zhihu", "胡说八道一下吧", GOOD + "胡说。")]
    run = make_run(run_dir, records)
    results = curate_run(run_dir, load_recipe(recipe_file(tmp_path)), progress=False)
    assert [r.manifest["stage"] for r in results] == ["clean", "quality", "filter"]
    scored = {r.record.instruction: r.stats for r in run.iter_records("quality")}
    assert scored["咖啡可以叫豆浆吗？"]["llm_quality"] == 9
    assert scored["胡说八道一下吧"]["llm_quality"] == 2
    assert [r["reason"] for r in RunDir(run_dir).iter_rejects("filter")] == ["low_llm_score"]
    first = openai_server.log(entries=False)["requests"]
    assert first == 4  # 2 records + 2 injected 500s retried

    # re-running the quality stage from scratch re-uses the cache: no request is sent
    curate_run(run_dir, load_recipe(recipe_file(tmp_path)), progress=False, force=True)
    assert openai_server.log(entries=False)["requests"] == first

    # another scoring model is asked again, not answered with the first model's cached scores
    monkeypatch.setenv("CQIA_LLM_MODEL", "other-model")
    curate_run(run_dir, load_recipe(recipe_file(tmp_path)), progress=False)
    assert openai_server.log(entries=False)["requests"] == first + 2


def test_failed_calls_are_kept_named_and_retried(openai_server, run_dir: Path, tmp_path: Path,  # noqa: F811
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from curation.cli import app

    monkeypatch.setenv("CQIA_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("CQIA_LLM_MODEL", "fake-model")
    openai_server.set_rules([{"pattern": "【指令】", "reply": '{"score": 8, "reason": "可以"}'}])
    openai_server.set_faults(status=500, times=50, retry_after=0, match="咖啡可以叫")
    make_run(run_dir, [rec("zhihu", "咖啡可以叫豆浆吗？", GOOD), rec("zhihu", "豆浆是怎么做的？", GOOD)])
    recipe = recipe_file(tmp_path, "")
    recipe.write_text(recipe.read_text(encoding="utf-8").replace("max_retries: 3", "max_retries: 1"), encoding="utf-8")
    result = CliRunner().invoke(app, ["curate", str(run_dir), "--recipe", str(recipe)])
    assert result.exit_code == 0, result.output
    assert "quality: 1 of 2 LLM quality-scoring calls failed" in result.output and "HTTP 500" in result.output
    row = next(RunDir(run_dir).iter_rejects("filter"))
    assert row["reason"] == "llm_score_missing"
    assert row["record"]["stats"]["llm_quality_error"]

    # the next run asks again for the failed one only, and the filter sees the new score
    openai_server.set_faults([])
    sent = openai_server.log(entries=False)["requests"]
    result = CliRunner().invoke(app, ["curate", str(run_dir), "--recipe", str(recipe)])
    assert result.exit_code == 0, result.output
    assert openai_server.log(entries=False)["requests"] == sent + 1
    assert list(RunDir(run_dir).iter_rejects("filter")) == []
    assert RunDir(run_dir).count("filter") == 2


def test_wrong_key_fails_curate_and_leaves_quality_incomplete(openai_server, run_dir: Path, tmp_path: Path,  # noqa: F811
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from curation.cli import app

    openai_server.set_api_key("sk-right-key")
    openai_server.set_rules([{"pattern": "【指令】", "reply": '{"score": 8, "reason": "可以"}'}])
    monkeypatch.setenv("CQIA_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("CQIA_LLM_MODEL", "fake-model")
    monkeypatch.setenv("CQIA_LLM_API_KEY", "sk-wrong-key")
    make_run(run_dir, [rec("zhihu", "咖啡可以叫豆浆吗？", GOOD), rec("zhihu", "豆浆是怎么做的？", GOOD)])
    recipe = recipe_file(tmp_path)
    result = CliRunner().invoke(app, ["curate", str(run_dir), "--recipe", str(recipe)])
    assert result.exit_code != 0, result.output
    assert "all 2 LLM quality-scoring calls failed" in result.output and "401" in result.output
    assert "sk-wrong-key" not in result.output
    assert "quality" not in RunDir(run_dir).completed_stages() and "filter" not in RunDir(run_dir).completed_stages()

    monkeypatch.setenv("CQIA_LLM_API_KEY", "sk-right-key")
    result = CliRunner().invoke(app, ["curate", str(run_dir), "--recipe", str(recipe)])
    assert result.exit_code == 0, result.output
    assert [r.stats["llm_quality"] for r in RunDir(run_dir).iter_records("quality")] == [8, 8]
    assert RunDir(run_dir).count("filter") == 2
