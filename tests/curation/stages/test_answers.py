"""curation/stages/answers.py and `cqia ingest ruozhiba` against the real fake LLM server process."""

from __future__ import annotations

import itertools
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from curation.llm.client import ChatResult, LLMClient
from curation.stages.answers import GenerationConfig, _record, generate_answers
from schemas import CuratedRecord, InvalidItem
from sources.ruozhiba import iter_ruozhiba
from sources.settings import load_settings
from tests.llm_fixtures import openai_server  # noqa: F401

TITLES = "znsoooo-ruozhiba__ruozhiba-title-good.json"


def _drafts(samples_dir: Path, n: int) -> list:
    return list(itertools.islice(iter_ruozhiba([samples_dir / "ruozhiba" / TITLES]), n))


def _config() -> GenerationConfig:
    return GenerationConfig.from_options(load_settings("ruozhiba").options["generation"])


def test_records_in_order_with_rejects_passed_through(openai_server, samples_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    openai_server.set_rules([{"pattern": "沙子", "reply": "这是谐音梗：“扒雾”谐音“八五”，“沙壁”谐音“傻逼”。"}])
    drafts = _drafts(samples_dir, 3)
    reject = InvalidItem(location="x.json#9", reason="empty_title", source="ruozhiba")
    items = [drafts[0], reject, drafts[1], drafts[2]]
    client = LLMClient(openai_server.base_url, "judge-1", cache_path=tmp_path / "cache.jsonl", backoff_base_s=0.01)
    out = list(generate_answers(items, client, _config(), progress=False))
    assert [type(o).__name__ for o in out] == ["CuratedRecord", "InvalidItem", "CuratedRecord", "CuratedRecord"]
    record = out[2]
    assert record.record.instruction == "我终于扒开雾气，却看到一堵沙子做的高墙"
    assert record.record.output == "这是谐音梗：“扒雾”谐音“八五”，“沙壁”谐音“傻逼”。"
    assert record.record.answer_from == "llm" and record.record.human_verified is False
    assert record.provenance.extra["generation"]["model"] == "judge-1"
    assert len({o.id for o in out if isinstance(o, CuratedRecord)}) == 3
    sent = openai_server.log()["entries"]
    # requests run concurrently, so the server sees them in any order; each draft exactly once
    assert sorted(e["prompt"] for e in sent) == sorted(d.instruction for d in drafts)

    again = LLMClient(openai_server.base_url, "judge-1", cache_path=tmp_path / "cache.jsonl")
    second = list(generate_answers(items, again, _config(), progress=False))
    assert again.stats["sent"] == 0 and again.stats["cached"] == 3  # nothing re-sent
    assert [o.model_dump() for o in second] == [o.model_dump() for o in out]  # identical records


def test_server_errors_are_retried_then_rejected(openai_server, samples_dir: Path) -> None:  # noqa: F811
    openai_server.set_faults(status=500, times=1)
    client = LLMClient(openai_server.base_url, "m", max_retries=2, backoff_base_s=0.01)
    (ok,) = generate_answers(_drafts(samples_dir, 1), client, _config(), progress=False)
    assert isinstance(ok, CuratedRecord) and client.stats["retries"] == 1

    openai_server.set_faults(status=503, times=10, retry_after=0)
    client = LLMClient(openai_server.base_url, "m", max_retries=1, backoff_base_s=0.01)
    (failed,) = generate_answers(_drafts(samples_dir, 1), client, _config(), progress=False)
    assert isinstance(failed, InvalidItem) and failed.reason == "llm_error" and "503" in failed.detail
    assert failed.location.endswith(f"{TITLES}#0")


def test_truncated_and_empty_generations_are_rejects(samples_dir: Path) -> None:
    draft = _drafts(samples_dir, 1)[0]
    cut = ChatResult("k", "半句话", "m", 1, 1, 0.1, False, {"choices": [{"finish_reason": "length"}]})
    assert _record(draft, cut, "fp").reason == "llm_truncated"
    empty = ChatResult("k", "  ", "m", 1, 0, 0.1, False, {"choices": [{"finish_reason": "stop"}]})
    assert _record(draft, empty, "fp").reason == "llm_empty_answer"


def test_cli_ingest_ruozhiba_runs_and_skips(openai_server, samples_dir: Path, tmp_path: Path,  # noqa: F811
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from curation.cli import app

    small = tmp_path / "titles.json"
    data = orjson.loads((samples_dir / "ruozhiba" / TITLES).read_bytes())[:5] + [{"title": ""}]
    small.write_bytes(orjson.dumps(data))
    monkeypatch.setenv("CQIA_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("CQIA_LLM_MODEL", "judge-1")
    monkeypatch.setenv("CQIA_LLM_API_KEY", "sk-test-secret")
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["ingest", "ruozhiba", str(small), "--run", str(run), "--no-progress"])
    assert result.exit_code == 0, result.output
    manifest = orjson.loads((run / "ingest-ruozhiba" / "_MANIFEST.json").read_bytes())
    assert manifest["counts"]["kept"] == 5 and manifest["counts"]["invalid"] == {"empty_title": 1}
    assert "sk-test-secret" not in (run / "ingest-ruozhiba" / "_MANIFEST.json").read_text(encoding="utf-8")
    rows = [orjson.loads(line) for line in (run / "ingest-ruozhiba" / "part-00000.jsonl").read_bytes().splitlines()]
    assert rows[0]["record"]["answer_from"] == "llm" and rows[0]["source"] == "ruozhiba"
    assert (run / "llm-cache" / "ruozhiba.jsonl").exists()
    result = CliRunner().invoke(app, ["ingest", "ruozhiba", str(small), "--run", str(run), "--no-progress"])
    assert result.exit_code == 0 and "already complete" in result.output
    assert len(openai_server.log()["entries"]) == 5


# ---- failed calls are never recorded as final answers (issue 12) ---------------------------------
def _small_titles(samples_dir: Path, tmp_path: Path, n: int = 5) -> Path:
    small = tmp_path / "titles.json"
    small.write_bytes(orjson.dumps(orjson.loads((samples_dir / "ruozhiba" / TITLES).read_bytes())[:n]))
    return small


def _ingest(small: Path, run: Path, *extra: str):  # noqa: ANN202 - click Result
    from curation.cli import app

    return CliRunner().invoke(app, ["ingest", "ruozhiba", str(small), "--run", str(run), "--no-progress",
                                    "--max-retries", "1", *extra])


def test_cli_wrong_key_fails_and_the_right_key_then_answers(openai_server, samples_dir: Path,  # noqa: F811
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    openai_server.set_api_key("sk-the-right-key")
    monkeypatch.setenv("CQIA_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("CQIA_LLM_MODEL", "judge-1")
    monkeypatch.setenv("CQIA_LLM_API_KEY", "sk-a-wrong-key")
    small, run = _small_titles(samples_dir, tmp_path), tmp_path / "run"
    result = _ingest(small, run)
    assert result.exit_code != 0, result.output
    assert "all 5 LLM answer calls failed" in result.output and "401" in result.output
    assert "sk-a-wrong-key" not in result.output
    assert not (run / "ingest-ruozhiba" / "_MANIFEST.json").exists()  # not complete: nothing to skip

    monkeypatch.setenv("CQIA_LLM_API_KEY", "sk-the-right-key")
    result = _ingest(small, run)
    assert result.exit_code == 0, result.output
    assert "already complete" not in result.output
    manifest = orjson.loads((run / "ingest-ruozhiba" / "_MANIFEST.json").read_bytes())
    assert manifest["counts"]["kept"] == 5 and manifest["counts"]["invalid"] == {}
    assert manifest["calls"]["made"] == 5 and manifest["calls"]["failed"] == 0


def test_cli_unreachable_endpoint_fails(samples_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from annotation.server import free_port

    monkeypatch.setenv("CQIA_LLM_MODEL", "judge-1")
    monkeypatch.delenv("CQIA_LLM_API_KEY", raising=False)
    small, run = _small_titles(samples_dir, tmp_path, 3), tmp_path / "run"
    result = _ingest(small, run, "--base-url", f"http://127.0.0.1:{free_port()}/v1")
    assert result.exit_code != 0, result.output
    assert "all 3 LLM answer calls failed" in result.output and "cannot connect" in result.output
    assert not (run / "ingest-ruozhiba" / "_MANIFEST.json").exists()


def test_cli_some_failed_calls_are_reported_and_retried_on_the_next_run(
        openai_server, samples_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from curation.cli import app

    monkeypatch.setenv("CQIA_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("CQIA_LLM_MODEL", "judge-1")
    small, run = _small_titles(samples_dir, tmp_path), tmp_path / "run"
    failing = orjson.loads(small.read_bytes())[2]["title"]
    openai_server.set_faults(status=503, times=100, retry_after=0, match=failing[:6])
    result = _ingest(small, run)
    assert result.exit_code == 0, result.output
    assert "1 of 5 LLM answer calls failed" in result.output and "HTTP 503" in result.output
    manifest = orjson.loads((run / "ingest-ruozhiba" / "_MANIFEST.json").read_bytes())
    assert manifest["counts"]["kept"] == 4 and manifest["counts"]["invalid"] == {"llm_error": 1}
    assert CliRunner().invoke(app, ["run", "validate", str(run)]).exit_code == 0
    assert orjson.loads((run / "validate" / "_MANIFEST.json").read_bytes())["counts"]["kept"] == 4
    sent = len(openai_server.log()["entries"])

    openai_server.set_faults([])
    result = _ingest(small, run)
    assert result.exit_code == 0, result.output
    assert "already complete" not in result.output and "calls failed" not in result.output
    assert len(openai_server.log()["entries"]) == sent + 1  # only the failed question is asked again
    manifest = orjson.loads((run / "ingest-ruozhiba" / "_MANIFEST.json").read_bytes())
    assert manifest["counts"]["kept"] == 5 and manifest["calls"]["failed"] == 0
    # the downstream stage sees that its input changed
    assert CliRunner().invoke(app, ["run", "validate", str(run)]).exit_code == 0
    assert orjson.loads((run / "validate" / "_MANIFEST.json").read_bytes())["counts"]["kept"] == 5
    assert "already complete" in _ingest(small, run).output
