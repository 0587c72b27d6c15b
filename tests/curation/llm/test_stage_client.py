"""What a stage's LLM access ships to Ray workers: settings and paths, never a key."""

from __future__ import annotations

from pathlib import Path

import cloudpickle
import pytest

from curation.llm.client import LLMClient, LLMError
from curation.llm.stage_client import StageLLM

KEY = "sk-driver-key-5c1d9e"


def test_shipped_state_holds_no_key_and_no_credentialed_url(tmp_path: Path) -> None:
    client = LLMClient("https://proxyuser:proxy-pass-77@llm.example/v1", "m", KEY, concurrency=3,
                       rate_limit_rps=5.0, cache_path=tmp_path / "c.jsonl")
    llm = StageLLM(client, env_prefix="CQIA_X", cache_dir=tmp_path / "_cache" / "q", label="q")
    blob = cloudpickle.dumps(llm)
    assert KEY.encode() not in blob and b"proxy-pass-77" not in blob
    shipped = cloudpickle.loads(blob)
    assert shipped.settings.base_url is None and shipped.settings.model == "m"
    assert (shipped.settings.concurrency, shipped.settings.rate_limit_rps) == (3, 5.0)
    with pytest.raises(RuntimeError, match="driver client did not travel"):
        shipped.client(0)  # not prepared for Ray: a worker copy has no client to fall back to


def test_worker_reads_url_and_key_from_its_own_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = LLMClient("https://u:p@llm.example/v1", "m", KEY, cache_path=tmp_path / "c.jsonl")
    llm = cloudpickle.loads(cloudpickle.dumps(StageLLM(client, env_prefix="CQIA_X", cache_dir=tmp_path / "seg",
                                                       label="q")))
    llm.limiter = object()  # as after prepare() on Ray (the handle is only used once a request is sent)
    monkeypatch.delenv("CQIA_X_BASE_URL", raising=False)
    with pytest.raises(LLMError, match="no CQIA_X_BASE_URL"):
        llm.client(0)
    monkeypatch.setenv("CQIA_X_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("CQIA_X_API_KEY", "sk-node-key")
    worker = llm.client(0)
    assert worker.base_url == "http://127.0.0.1:9/v1" and worker._api_key == "sk-node-key"
    assert worker.cache is not None and worker.limiter is not None
