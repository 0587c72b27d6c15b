"""Pytest fixtures for the local Hub server: a real server process on 127.0.0.1 per test, a fresh
HF cache per test, and a tiny two-config COIG-CQIA release directory.

Use with `pytest_plugins = ["tests.hub_fixtures"]` or by importing the fixtures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
HUB_USERS = {"alice": "hf_alice_local_secret_token", "bob": "hf_bob_local_secret_token"}


@dataclass
class HubProcess:
    """Handle on a running `python -m curation.hubserver` subprocess."""

    url: str
    data_dir: Path
    proc: subprocess.Popen[str]
    tokens: dict[str, str] = field(default_factory=lambda: dict(HUB_USERS))

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def log(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_admin/log")

    def clear_log(self) -> None:
        self._call("DELETE", "/_admin/log")

    def add_fault(self, **fault: Any) -> None:
        self._call("POST", "/_admin/faults", fault)

    def requests(self, method: str, path_part: str) -> list[dict[str, Any]]:
        return [e for e in self.log() if e["method"] == method and path_part in e["path"]]

    def commits(self, repo_id: str, revision: str = "main", token: str | None = None) -> list[dict[str, Any]]:
        """Commit history (newest first) read straight from the server's API."""
        req = urllib.request.Request(f"{self.url}/api/datasets/{repo_id}/commits/{revision}",
                                     headers={"Authorization": f"Bearer {token or self.tokens['alice']}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())


def start_hub_server(data_dir: Path, users: dict[str, str] | None = None, extra: list[str] | None = None) -> HubProcess:
    args = [sys.executable, "-m", "curation.hubserver", "--data-dir", str(data_dir), "--host", "127.0.0.1",
            "--port", "0"]
    for user, token in (users or HUB_USERS).items():
        args += ["--token", f"{user}={token}"]
    proc = subprocess.Popen(args + (extra or []), stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise RuntimeError(f"hub server did not start (first line: {url!r})")
    return HubProcess(url, data_dir, proc, dict(users or HUB_USERS))


def stop_hub_server(hub: HubProcess) -> None:
    hub.proc.terminate()
    try:
        hub.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        hub.proc.kill()
        hub.proc.wait()


@pytest.fixture
def hub_server(tmp_path: Path) -> Iterator[HubProcess]:
    """A fresh local Hub server process with users alice and bob (tokens in `.tokens`)."""
    hub = start_hub_server(tmp_path / "hub-data")
    try:
        yield hub
    finally:
        stop_hub_server(hub)


@pytest.fixture
def hf_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Fresh HF_HOME / datasets cache, Xet off, no ambient token; returns an env for subprocesses."""
    home = tmp_path / "hf-home"
    home.mkdir()
    for k in list(os.environ):
        if k.startswith(("HF_", "HUGGINGFACE_")):
            monkeypatch.delenv(k)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(home / "datasets"))
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    import huggingface_hub.constants as hf_constants

    # read at import time: patch the already-imported constant too, so in-process clients use LFS
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_XET", True)
    return dict(os.environ)


ROWS_V1 = {
    "human_value": [
        ("请解释什么是诚信。", "", "诚信是指诚实守信，言行一致。", "价值观", "伦理"),
        ("如何看待帮助他人？", "在公交车上", "帮助他人是一种美德，能让社会更加温暖。", "价值观", "社会"),
        ("写一句关于友谊的名言。", "", "海内存知己，天涯若比邻。", "生成", "文学"),
    ],
    "finance": [
        ("什么是复利？", "", "复利是指利息再计入本金继续产生利息的计算方式。", "问答", "金融"),
        ("股票和债券有什么区别？", "", "股票代表所有权，债券代表债权，风险与收益特征不同。", "问答", "金融"),
    ],
}


def cqia_rows(config: str, rows: list[tuple[str, str, str, str, str]], version: str) -> list[dict[str, Any]]:
    return [
        {
            "instruction": ins, "input": inp, "output": out,
            "task_type": {"major": [major], "minor": [f"{major}-{version}"]},
            "domain": [domain],
            "metadata": json.dumps({"source": config, "version": version, "idx": i}, ensure_ascii=False),
            "answer_from": "human", "human_verified": i % 2 == 0, "copyright": "CC BY-NC-SA 4.0",
        }
        for i, (ins, inp, out, major, domain) in enumerate(rows)
    ]


def write_release_dir(root: Path, rows: dict[str, list[dict[str, Any]]]) -> Path:
    """A Hub-layout release: README.md with `configs:` + CONFIG/train-00000-of-00001.parquet."""
    import pyarrow.parquet as pq
    from datasets import Dataset

    from schemas.features import release_features

    root.mkdir(parents=True, exist_ok=True)
    features = release_features()
    configs = []
    for name, recs in rows.items():
        (root / name).mkdir(exist_ok=True)
        table = Dataset.from_list(recs, features=features).data.table
        pq.write_table(table, root / name / "train-00000-of-00001.parquet")
        configs.append(f"- config_name: {name}\n  data_files:\n  - split: train\n    path: {name}/*")
    (root / "README.md").write_text(
        "---\nlanguage:\n- zh\nlicense: cc-by-nc-sa-4.0\nconfigs:\n" + "\n".join(configs) + "\n---\n\n"
        + textwrap.dedent("""\
            # CQIA test release

            测试用的中文指令数据集。
            """),
        encoding="utf-8",
    )
    return root


@pytest.fixture
def release_dir(tmp_path: Path) -> Path:
    """Two configs (human_value: 3 rows, finance: 2 rows) of Chinese COIG-CQIA rows."""
    return write_release_dir(tmp_path / "release-v1",
                             {c: cqia_rows(c, r, "v1") for c, r in ROWS_V1.items()})


def load_in_subprocess(endpoint: str, repo_id: str, config: str, *, revision: str | None = None,
                       token: str | None = None, split: str = "train", home: Path) -> dict[str, Any]:
    """`datasets.load_dataset` in a child process with HF_ENDPOINT set and a cold cache at `home`.

    Returns {"rows": [...]} or {"error": "<type>: <message>"}.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(home), HF_DATASETS_CACHE=str(home / "datasets"),
               HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_TELEMETRY="1")
    if token:
        env["HF_TOKEN"] = token
    code = textwrap.dedent("""\
        import json, sys
        import datasets
        a = json.loads(sys.argv[1])
        try:
            ds = datasets.load_dataset(a["repo"], a["config"], split=a["split"], revision=a["rev"])
            print(json.dumps({"rows": ds.to_list()}, ensure_ascii=False))
        except Exception as e:
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}, ensure_ascii=False))
        """)
    arg = json.dumps({"repo": repo_id, "config": config, "split": split, "rev": revision})
    proc = subprocess.run([sys.executable, "-c", code, arg], capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, timeout=300)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"load subprocess failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


__all__ = ["HUB_USERS", "HubProcess", "cqia_rows", "hf_env", "hub_server", "load_in_subprocess",
           "release_dir", "start_hub_server", "stop_hub_server", "write_release_dir", "ROWS_V1"]
