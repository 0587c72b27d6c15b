"""A real scripted OpenAI-compatible server process for tests.

Use:  `from tests.llm_fixtures import openai_server  # noqa: F401`, then a test argument
`openai_server` with `.base_url`, `.set_rules([...])`, `.set_faults(...)`, `.set_api_key(k)`,
`.log()`, `.reset()`. One process is started per pytest session (lazily) and reset before each
test, so tests don't see each other's rules, faults or log. `FakeLLMServer.start()` gives a
private process (e.g. to kill it).
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent


class FakeLLMServer:
    """Handle on a `python -m curation.llm.fake_server` process."""

    def __init__(self, proc: subprocess.Popen, base_url: str) -> None:
        self.proc = proc
        self.base_url = base_url
        self.root = base_url[: -len("/v1")]

    @classmethod
    def start(cls, *args: str, script: Path | None = None, api_key: str | None = None) -> FakeLLMServer:
        cmd = [sys.executable, "-m", "curation.llm.fake_server", "--host", "127.0.0.1", "--port", "0",
               "--exit-with-parent", *args]
        if script:
            cmd += ["--script", str(script)]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        if api_key:
            env["FAKE_LLM_API_KEY"] = api_key
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
        line = proc.stdout.readline().strip() if proc.stdout else ""
        if not line.startswith("http://"):
            proc.kill()
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"fake LLM server did not start: {line!r} {err[-2000:]}")
        return cls(proc, line)

    def _post(self, path: str, body: Any) -> None:
        r = httpx.post(f"{self.root}{path}", content=json.dumps(body), timeout=10)
        r.raise_for_status()

    def set_rules(self, rules: list[dict]) -> None:
        self._post("/_admin/rules", rules)

    def set_faults(self, faults: dict | list[dict] | None = None, **fault: Any) -> None:
        """`set_faults(status=429, times=2, retry_after=0)` or a dict / list of dicts; `[]` clears."""
        self._post("/_admin/faults", faults if faults is not None else fault)

    def set_api_key(self, key: str | None) -> None:
        self._post("/_admin/config", {"api_key": key})

    def set_models(self, models: list[str] | None) -> None:
        self._post("/_admin/config", {"models": models})

    def reset(self) -> None:
        self._post("/_admin/reset", {})

    def log(self, entries: bool = True) -> dict[str, Any]:
        r = httpx.get(f"{self.root}/_admin/log" + ("" if entries else "?entries=0"), timeout=10)
        r.raise_for_status()
        return r.json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


_shared: FakeLLMServer | None = None


def _shared_server() -> FakeLLMServer:
    global _shared
    if _shared is None or _shared.proc.poll() is not None:
        _shared = FakeLLMServer.start()
        atexit.register(_shared.stop)
    return _shared


@pytest.fixture
def openai_server() -> FakeLLMServer:
    """The session's fake OpenAI-compatible server, reset to a clean state for this test."""
    server = _shared_server()
    server.reset()
    return server
