"""LLMClient against a real fake-server process: order, concurrency, retries, cache, errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from curation.llm import ChatError, ChatRequest, ChatResult, LLMClient, LLMError
from curation.llm.cache import ResponseCache
from curation.retry import parse_retry_after
from tests.llm_fixtures import FakeLLMServer

REPO = Path(__file__).resolve().parents[3]


def reqs(n: int, prefix: str = "q") -> list[ChatRequest]:
    return [ChatRequest(f"{prefix}{i}", [{"role": "user", "content": f"问题 {prefix}{i}"}], {"temperature": 0}) for i in range(n)]


def test_chat_many_in_order_with_usage(openai_server):
    client = LLMClient(openai_server.base_url, "m1", concurrency=8)
    out = list(client.chat_many(reqs(40), progress=False))
    assert [r.key for r in out] == [f"q{i}" for i in range(40)]
    assert all(isinstance(r, ChatResult) and not r.cached for r in out)
    assert out[0].text.startswith("关于「问题 q0」")
    assert out[0].prompt_tokens > 0 and out[0].completion_tokens > 0
    assert openai_server.log()["served"] == 40


def test_rules_per_model(openai_server):
    openai_server.set_rules([
        {"pattern": "你是谁", "reply": "我是ChatGPT。", "model": "^gpt"},
        {"pattern": "你是谁", "reply": "我是{model}。"},
    ])
    assert LLMClient(openai_server.base_url, "gpt-4o").chat([{"role": "user", "content": "你是谁"}]).text == "我是ChatGPT。"
    assert LLMClient(openai_server.base_url, "qwen").chat([{"role": "user", "content": "你是谁"}]).text == "我是qwen。"


def test_retries_429_with_retry_after(openai_server):
    openai_server.set_faults(status=429, times=3, retry_after=0.2)
    client = LLMClient(openai_server.base_url, "m", backoff_base_s=0.01)
    t0 = time.monotonic()
    res = client.chat([{"role": "user", "content": "hi"}])
    assert res.attempts == 4
    assert time.monotonic() - t0 >= 0.55  # three Retry-After waits of 0.2s were honoured
    assert openai_server.log()["by_status"] == {"429": 3, "200": 1}


def test_retries_500_and_disconnect(openai_server):
    openai_server.set_faults([{"status": 500, "times": 2}, {"disconnect": True, "times": 2}])
    client = LLMClient(openai_server.base_url, "m", backoff_base_s=0.01)
    assert client.chat([{"role": "user", "content": "x"}]).attempts == 5


def test_gives_up_after_max_retries(openai_server):
    openai_server.set_faults(status=503, times=10)
    client = LLMClient(openai_server.base_url, "m", max_retries=2, backoff_base_s=0.01)
    (res,) = list(client.chat_many(reqs(1), progress=False))
    assert isinstance(res, ChatError) and res.status == 503 and res.attempts == 3


def test_timeout_is_retried(openai_server):
    openai_server.set_faults(delay_s=1.5, times=1)
    client = LLMClient(openai_server.base_url, "m", timeout_s=0.5, backoff_base_s=0.01)
    res = client.chat([{"role": "user", "content": "slow"}])
    assert res.attempts == 2


def test_bad_key_is_named_and_never_leaked(openai_server):
    openai_server.set_api_key("right-key")
    secret = "sk-very-secret-123"
    client = LLMClient(openai_server.base_url, "m", api_key=secret)
    with pytest.raises(LLMError) as info:
        client.chat([{"role": "user", "content": "x"}])
    msg = str(info.value)
    assert "401" in msg and "API key" in msg and secret not in msg and secret not in repr(client)
    # fail fast: a bad key is fatal for the whole batch, only the first request(s) are sent
    out = list(client.chat_many(reqs(30), progress=False))
    assert all(isinstance(r, ChatError) for r in out)
    assert openai_server.log()["requests"] <= 1 + client.concurrency
    assert LLMClient(openai_server.base_url, "m", api_key="right-key").chat([{"role": "user", "content": "x"}]).text


def test_wrong_url_and_wrong_model_named(openai_server):
    with pytest.raises(LLMError, match="base URL"):
        LLMClient(openai_server.root + "/nope", "m").chat([{"role": "user", "content": "x"}])
    openai_server.set_models(["only-this"])
    with pytest.raises(LLMError, match="model 'other' not found"):
        LLMClient(openai_server.base_url, "other").chat([{"role": "user", "content": "x"}])
    with pytest.raises(LLMError, match="cannot connect to http://127.0.0.1:9/v1"):
        LLMClient("http://127.0.0.1:9/v1", "m", max_retries=1, backoff_base_s=0.01).chat([{"role": "user", "content": "x"}])


def test_from_env(monkeypatch, openai_server):
    monkeypatch.delenv("CQIA_LLM_BASE_URL", raising=False)
    with pytest.raises(LLMError, match="CQIA_LLM_BASE_URL"):
        LLMClient.from_env()
    monkeypatch.setenv("CQIA_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("CQIA_LLM_MODEL", "env-model")
    client = LLMClient.from_env(concurrency=3)
    assert client.model == "env-model" and client.concurrency == 3
    assert client.chat([{"role": "user", "content": "x"}]).model == "env-model"


def test_cache_skips_sent_keys(tmp_path, openai_server):
    cache = tmp_path / "c.jsonl"
    first = list(LLMClient(openai_server.base_url, "m", cache_path=cache).chat_many(reqs(10), progress=False))
    again = list(LLMClient(openai_server.base_url, "m", cache_path=cache).chat_many(reqs(15), progress=False))
    assert [r.cached for r in again] == [True] * 10 + [False] * 5
    assert [r.text for r in again[:10]] == [r.text for r in first]
    assert openai_server.log()["served"] == 15


def test_duplicate_keys_in_one_batch_sent_once(openai_server):
    batch = reqs(3) + reqs(3)
    out = list(LLMClient(openai_server.base_url, "m").chat_many(batch, progress=False))
    assert len(out) == 6 and out[3].text == out[0].text
    assert openai_server.log()["served"] == 3


def test_concurrency_is_bounded(openai_server):
    openai_server.set_faults(delay_s=0.3, times=12)
    client = LLMClient(openai_server.base_url, "m", concurrency=4)
    t0 = time.monotonic()
    list(client.chat_many(reqs(12), progress=False))
    took = time.monotonic() - t0
    assert 0.85 <= took < 3.0  # 12 slow requests, 4 at a time -> 3 waves of 0.3s


def test_rate_limit(openai_server):
    client = LLMClient(openai_server.base_url, "m", concurrency=8, rate_limit_rps=20)
    t0 = time.monotonic()
    list(client.chat_many(reqs(11), progress=False))
    assert time.monotonic() - t0 >= 0.45


def test_torn_cache_line_is_ignored(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"key": "a", "text": "ok"}\n{"key": "b", "te')
    cache = ResponseCache(path)
    assert "a" in cache and "b" not in cache and cache.torn_bytes > 0
    cache.append({"key": "b", "text": "new"})
    cache.close()
    assert ResponseCache(path).get("b")["text"] == "new"


def test_retry_after_date():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("junk") is None


def test_resume_after_kill9_no_duplicates(tmp_path, openai_server):
    """A child process is SIGKILLed mid-run; the resumed run sends only what was never answered."""
    cache = tmp_path / "c.jsonl"
    openai_server.set_faults(delay_s=0.05, times=10_000)
    script = textwrap.dedent(f"""
        from curation.llm import ChatRequest, LLMClient
        rs = [ChatRequest(f"k{{i}}", [{{"role": "user", "content": f"p{{i}}"}}]) for i in range(200)]
        for r in LLMClient({openai_server.base_url!r}, "m", concurrency=4, cache_path={str(cache)!r}).chat_many(rs, progress=False):
            pass
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 20
    while (not cache.exists() or cache.stat().st_size < 2000) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    openai_server.set_faults([])
    time.sleep(0.2)  # let in-flight (orphaned) requests finish on the server
    stored_keys = set(ResponseCache(cache).rows)
    done_before = len(stored_keys)
    assert 0 < done_before < 200
    out = list(LLMClient(openai_server.base_url, "m", concurrency=8, cache_path=cache).chat_many(
        [ChatRequest(f"k{i}", [{"role": "user", "content": f"p{i}"}]) for i in range(200)], progress=False))
    assert all(isinstance(r, ChatResult) for r in out)
    log = openai_server.log()
    # Requests in flight at the kill were answered by the server but never stored: those (at most
    # `concurrency`) are the only ones that may be sent twice.
    assert log["duplicate_served"] <= 4
    # no stored answer was ever requested again
    assert all(log["per_prompt_served"][f"p{k[1:]}"] == 1 for k in stored_keys)
    assert sum(1 for r in out if r.cached) == done_before


def test_fake_server_cli_prints_url(tmp_path):
    script = tmp_path / "rules.json"
    script.write_text('{"rules": [{"pattern": "ping", "reply": "pong"}], "api_key": "k"}')
    server = FakeLLMServer.start(script=script)
    try:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        assert LLMClient(server.base_url, "m", api_key="k").chat([{"role": "user", "content": "ping"}]).text == "pong"
    finally:
        server.stop()


def test_base_url_userinfo_never_shown_and_does_not_replace_the_key(openai_server, tmp_path, monkeypatch):
    monkeypatch.delenv("CQIA_LLM_API_KEY", raising=False)  # the client itself must scrub, not the env net
    openai_server.set_api_key("sk-right-key-123")
    base = openai_server.base_url.replace("http://", "http://bob:pw-in-url-987@")
    client = LLMClient(base, "m", api_key="sk-right-key-123", cache_path=tmp_path / "c.jsonl", max_retries=0)
    assert client.chat([{"role": "user", "content": "hi"}]).text  # the Bearer key went through
    openai_server.set_faults(status=500, times=1)
    (err,) = list(client.chat_many(reqs(1, "z"), progress=False))
    assert isinstance(err, ChatError) and "HTTP 500 from http://127.0.0.1:" in err.error
    with pytest.raises(LLMError) as refused:
        LLMClient(base, "m", api_key="sk-wrong-key-456").chat([{"role": "user", "content": "x"}])
    shown = err.error + str(refused.value) + repr(client) + (tmp_path / "c.jsonl").read_text()
    assert "pw-in-url-987" not in shown and "sk-right-key-123" not in shown and "sk-wrong-key-456" not in shown
