"""Nothing leaks: plant every kind of secret a user hands the toolkit, run the whole job through the
CLI against real local servers, then grep every file written and every line printed.

Planted: crawl URLs with `?access_token=`/`&sig=`/`?apikey=` and `user:password@`; an
`Authorization` header (`--header`); cookies from `--cookies-file` and from `CQIA_DOUBAN_COOKIE`;
the LLM key (`CQIA_LLM_API_KEY`, a right one and a wrong one) and a password inside the LLM
`--base-url` (also grepped for as the base64 `Basic` credential it becomes); the Hub token
(`HF_TOKEN`); the Label Studio key (`CQIA_LS_API_KEY`) and a password in `CQIA_LS_URL`. Servers: scripts/sample_site_server.py (crawl), curation/llm/fake_server.py
(LLM), the project's Hub server (push + verify), and for Label Studio a small real HTTP server
in this file that echoes the request's Authorization header in a 400 body, as a misconfigured
proxy or a chatty server would (a real Label Studio does not echo it, so it cannot show the leak).
The ruozhiba input is a hand-written 6-item file in the format of the real
znsoooo-ruozhiba/ruozhiba-title-good.json (samples/ruozhiba).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.hub_fixtures import start_hub_server, stop_hub_server
from tests.llm_fixtures import FakeLLMServer
from tests.sources.http.site import request_log, sample_site

REPO = Path(__file__).resolve().parent.parent

SECRETS = {
    "url_token": "urltok-5f3a9c1e77aa",
    "url_sig": "urlsig-0b1c2d3e4f55",
    "url_password": "userpw-c0ffee424242",
    "url_apikey": "urlkey-8d2b44aa0199",
    "header_token": "hdrtok-91ab77cd33ee",
    "cookie_file": "cookiefile-2a2a2a2a2a",
    "cookie_env": "cookieenv-3b3b3b3b3b",
    "llm_key": "sk-llmkey-4c4c4c4c4c4c",
    "llm_wrong_key": "sk-wrongkey-9e9e9e9e9e",
    "llm_url_password": "llmurlpw-5d5d5d5d5d",
    "hf_token": "hf_planted_6e6e6e6e6e6e",
    "ls_key": "lskey-7f7f7f7f7f7f7f",
    "ls_url_password": "lsurlpw-1a1a1a1a1a1a",
}
# userinfo travels as `Authorization: Basic base64(user:password)`: that form must not leak either
SECRETS |= {f"{name} (base64)": base64.b64encode(f"{user}:{SECRETS[name]}".encode()).decode()
            for name, user in (("url_password", "crawler"), ("llm_url_password", "llmuser"),
                               ("ls_url_password", "admin"))}

RUOZHIBA_ITEMS = [  # hand-written, in the shape of ruozhiba-title-good.json
    {"title": f"为什么第{i}只鸭子不会游泳", "abs": None, "href": f"/p/10000{i}?fr=good", "lz": "测试", "n_reply": "3"}
    for i in range(6)
]


@pytest.fixture
def echo_label_studio() -> Iterator[tuple[str, list[str]]]:
    """whoami answers like Label Studio; every other call is a 400 quoting the Authorization header."""
    seen: list[str] = []

    class Echo(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            auth = self.headers.get("Authorization", "")
            seen.append(auth)
            if self.path.startswith("/api/current-user/whoami"):
                status, body = 200, {"id": 1, "email": "admin@cqia.test"}
            else:
                status, body = 400, {"detail": f"bad request; you sent Authorization: {auth}", "echo": auth}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _answer  # noqa: N815 - http.server naming

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


class Cli:
    """Runs `python -m curation.cli ...` as a real process and keeps everything it printed."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.printed: list[str] = []

    def __call__(self, *args: str, ok: bool | None = True, **env: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "curation.cli", *args], capture_output=True, text=True,
                              env={**self.env, **env}, cwd=REPO, timeout=600)
        self.printed += [proc.stdout, proc.stderr]  # (the command line itself holds the secrets: not grepped)
        assert ok is None or (proc.returncode == 0) is ok, f"cqia {args[:2]} exit {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc


def _leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def test_no_planted_secret_reaches_any_file_or_output(tmp_path: Path, samples_dir: Path,
                                                       echo_label_studio: tuple[str, list[str]]) -> None:
    work = tmp_path / "work"  # everything the toolkit writes goes here and is grepped
    run, bad_run, release = work / "run", work / "run-bad-key", work / "release"
    inputs = tmp_path / "inputs"  # what the user hands over (holds secrets by design): not grepped
    inputs.mkdir()
    cookies = inputs / "cookies.txt"
    cookies.write_text(f"z_c0={SECRETS['cookie_file']}; q_c1=plain\n", encoding="utf-8")
    questions = inputs / "ruozhiba-title-good.json"
    questions.write_text(json.dumps(RUOZHIBA_ITEMS, ensure_ascii=False), encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "CQIA_LLM", "CQIA_LS", "LABEL_STUDIO"))}
    env.update(PYTHONPATH=str(REPO), COLUMNS="200", CQIA_SAMPLES=str(samples_dir), HF_HOME=str(work / "hf-home"),
               HF_HUB_DISABLE_TELEMETRY="1", CQIA_LS_CONFIG=str(work / "ls.json"))
    cli = Cli(env)
    llm = FakeLLMServer.start(api_key=SECRETS["llm_key"])
    hub = start_hub_server(tmp_path / "hub-data", users={"alice": SECRETS["hf_token"]})
    ls_url, ls_seen = echo_label_studio
    try:
        with sample_site() as site:
            host = site.split("//", 1)[1]
            seed = (f"http://crawler:{SECRETS['url_password']}@{host}/zhihu/api/v4/questions/123/answers"
                    f"?offset=0&limit=5&total=7&access_token={SECRETS['url_token']}&sig={SECRETS['url_sig']}")
            failing = f"{site}/fault/always500/zhihu/x?token={SECRETS['url_token']}"
            cli("ingest", "zhihu", "--url", seed, "--url", failing, "--run", str(run), "--rate", "0",
                "--retries", "0", "--header", f"Authorization: Bearer {SECRETS['header_token']}",
                "--cookies-file", str(cookies))
            cli("ingest", "douban", "--url", f"{site}/douban/movie/subject/3541415/?apikey={SECRETS['url_apikey']}",
                "--run", str(run), "--rate", "0", CQIA_DOUBAN_COOKIE=f"dbcl2={SECRETS['cookie_env']}")
            crawled = request_log(site)
        assert any("/zhihu/api/v4/questions/123/answers" in p and "offset=5" in p for p in crawled)  # paging ran

        base_url = f"http://llmuser:{SECRETS['llm_url_password']}@{llm.base_url.split('//', 1)[1]}"
        llm.set_faults(status=500, times=2)  # two questions end as llm_error rejects naming the endpoint
        cli("ingest", "ruozhiba", str(questions), "--run", str(run), "--base-url", base_url, "--model", "m",
            "--concurrency", "1", "--max-retries", "0", "--no-progress", CQIA_LLM_API_KEY=SECRETS["llm_key"])
        llm.set_faults([])
        # a refused key: whether the stage then stops or records every question as a reject is another
        # issue's business (ok=None); the refusal must be reported, the key never
        refused = cli("ingest", "ruozhiba", str(questions), "--run", str(bad_run), "--base-url", base_url,
                      "--model", "m", "--no-progress", ok=None, CQIA_LLM_API_KEY=SECRETS["llm_wrong_key"])
        told = refused.stdout + refused.stderr + "".join(p.read_text() for p in bad_run.rglob("rejects-*.jsonl"))
        assert "HTTP 401" in told and "refused an API key" in told

        cli("run", "validate", str(run))
        # The synthetic answers repeat lines on purpose (planted URLs); the duplicate-lines filter is
        # not what this test is about, and every source must reach the release to be grepped there.
        recipe = tmp_path / "recipe.yaml"
        recipe.write_text("filter:\n  max_dup_line_frac: null\n", encoding="utf-8")
        cli("curate", str(run), "--recipe", str(recipe))
        cli("release", "build", str(run), "--out", str(release))
        cli("release", "push", str(release), "--repo-id", "cqia/secrets-test", "--tag", "v0.0.1",
            "--endpoint", hub.url, HF_TOKEN=SECRETS["hf_token"])
        ls_env = {"CQIA_LS_URL": ls_url.replace("//", f"//admin:{SECRETS['ls_url_password']}@"),
                  "CQIA_LS_API_KEY": SECRETS["ls_key"]}
        echoed = cli("annotate", "push", str(run), "--project", "secrets", ok=False, **ls_env)
        assert "HTTP 400" in echoed.stdout + echoed.stderr and "REDACTED" in echoed.stdout + echoed.stderr
        assert any(SECRETS["ls_key"] in a for a in ls_seen)  # the key was really sent, and echoed back
    finally:
        llm.stop()
        stop_hub_server(hub)

    # the run really did the work: records from every source, rejects that name the failing URLs
    manifest = json.loads((run / "ingest-zhihu" / "_MANIFEST.json").read_text())
    assert manifest["counts"]["kept"] >= 7 and manifest["counts"]["invalid"] == {"fetch_failed": 1}
    assert json.loads((run / "ingest-ruozhiba" / "_MANIFEST.json").read_text())["counts"]["invalid"] == {"llm_error": 2}
    # (the card's figures, stage parameters and licence file are published too, and scanned below)
    assert sorted(p.name for p in release.iterdir()) == ["LICENSE.md", "README.md", "assets", "cqia_pipeline.yaml",
                                                         "douban", "ruozhiba", "zhihu"]
    written = {p: p.read_bytes().decode("utf-8", "replace") for p in work.rglob("*") if p.is_file()}
    assert any(p.suffix == ".parquet" for p in written) and any("_raw_cache" in str(p) for p in written)
    assert "access_token=REDACTED" in (run / "ingest-zhihu" / "_MANIFEST.json").read_text()

    leaks = {str(p.relative_to(work)): found for p, text in written.items() if (found := _leaks(text))}
    leaks.update({"printed output": found} if (found := _leaks("\n".join(cli.printed))) else {})
    assert leaks == {}, f"secrets leaked: {leaks}"
