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
