"""The local Hub server, driven over real HTTP by the real huggingface_hub / datasets clients."""

from __future__ import annotations

import hashlib
import http.client
import json
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import (
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.hub_fixtures import HubProcess, start_hub_server, stop_hub_server

pytest_plugins = ["tests.hub_fixtures"]

REPO = "cqia/server-test"


def _raw(hub: HubProcess, method: str, path: str, headers: dict[str, str] | None = None,
         body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(hub.url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _api(hub: HubProcess, user: str = "alice") -> HfApi:
    return HfApi(endpoint=hub.url, token=hub.tokens[user])


@pytest.fixture
def repo_with_files(hub_server: HubProcess, hf_env) -> tuple[HubProcess, bytes]:
    api = _api(hub_server)
    api.create_repo(REPO, repo_type="dataset")
    blob = bytes(range(256)) * 64  # 16 KiB, binary -> LFS
    api.create_commit(REPO, repo_type="dataset", commit_message="add", operations=[
        CommitOperationAdd("data/blob.parquet", blob),
        CommitOperationAdd("README.md", "---\nlicense: mit\n---\n# 测试\n".encode()),
    ])
    return hub_server, blob


def test_every_404_carries_an_error_code(repo_with_files, hf_env) -> None:
    hub, _ = repo_with_files
    auth = {"Authorization": f"Bearer {hub.tokens['alice']}"}
    cases = {
        "/api/datasets/cqia/nope": "RepoNotFound",
        f"/api/datasets/{REPO}/revision/no-such-branch": "RevisionNotFound",
        f"/datasets/{REPO}/resolve/main/missing.txt": "EntryNotFound",
        f"/api/datasets/{REPO}/tree/main/missing-dir": "EntryNotFound",
        "/api/unknown/route": None,
    }
    for path, code in cases.items():
        status, headers, _ = _raw(hub, "GET", path, auth)
        assert status == 404, path
        assert headers.get("X-Error-Code"), path
        if code:
            assert headers["X-Error-Code"] == code, path
    api = _api(hub)
    with pytest.raises(RepositoryNotFoundError):
        api.dataset_info("cqia/nope")
    with pytest.raises(RevisionNotFoundError):
        api.dataset_info(REPO, revision="v9.9.9")
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download(REPO, "missing.txt", repo_type="dataset", endpoint=hub.url, token=hub.tokens["alice"],
                        cache_dir=str(hub.data_dir.parent / "dl-cache"))


def test_bad_token_is_a_401_with_message(repo_with_files, hf_env) -> None:
    hub, _ = repo_with_files
    status, headers, _ = _raw(hub, "GET", f"/api/datasets/{REPO}", {"Authorization": "Bearer hf_bogus"})
    assert status == 401 and headers["X-Error-Message"] == "Invalid credentials in Authorization header"
    with pytest.raises(HfHubHTTPError, match="Invalid credentials"):
        HfApi(endpoint=hub.url, token="hf_bogus").dataset_info(REPO)


def test_pr_revision_with_encoded_slash_routes(repo_with_files, hf_env, tmp_path: Path) -> None:
    hub, _ = repo_with_files
    api = _api(hub)
    info = api.create_commit(REPO, repo_type="dataset", commit_message="pr", create_pr=True,
                             operations=[CommitOperationAdd("pr-only.txt", "只在 PR 里".encode())])
    assert info.pr_revision == "refs/pr/1"
    assert "pr-only.txt" in api.list_repo_files(REPO, repo_type="dataset", revision="refs/pr/1")
    assert "pr-only.txt" not in api.list_repo_files(REPO, repo_type="dataset")
    path = hf_hub_download(REPO, "pr-only.txt", repo_type="dataset", revision="refs/pr/1", endpoint=hub.url,
                           token=hub.tokens["alice"], cache_dir=str(tmp_path / "c"))
    assert Path(path).read_text("utf-8") == "只在 PR 里"
    paths = [e["path"] for e in hub.log()]
    assert any("/resolve/refs%2Fpr%2F1/pr-only.txt" in p for p in paths)
    assert any("/tree/refs%2Fpr%2F1" in p for p in paths)
    assert api.dataset_info(REPO, revision="refs/pr/1").sha == info.oid


def test_range_head_and_concurrent_downloads(repo_with_files, hf_env) -> None:
    hub, blob = repo_with_files
    base = f"/datasets/{REPO}/resolve/main/data/blob.parquet"
    status, headers, body = _raw(hub, "GET", base, {"Range": "bytes=10-19"})
    assert status == 206 and body == blob[10:20]
    assert headers["Content-Range"] == f"bytes 10-19/{len(blob)}"
    status, _, body = _raw(hub, "GET", base, {"Range": "bytes=-5"})
    assert status == 206 and body == blob[-5:]
    status, _, body = _raw(hub, "GET", base, {"Range": f"bytes={len(blob) - 3}-"})
    assert body == blob[-3:]
    status, headers, _ = _raw(hub, "GET", base, {"Range": f"bytes={len(blob)}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(blob)}"
    status, headers, body = _raw(hub, "HEAD", base)
    assert status == 200 and body == b"" and int(headers["Content-Length"]) == len(blob)
    assert headers["ETag"].strip('"') == hashlib.sha256(blob).hexdigest()
    assert len(headers["X-Repo-Commit"]) == 40

    def piece(i: int) -> bytes:
        start = i * 512
        return _raw(hub, "GET", base, {"Range": f"bytes={start}-{start + 511}"})[2]

    with ThreadPoolExecutor(16) as pool:
        assert b"".join(pool.map(piece, range(len(blob) // 512))) == blob


def test_stale_parent_commit_is_rejected(repo_with_files, hf_env) -> None:
    hub, _ = repo_with_files
    api = _api(hub)
    old = api.dataset_info(REPO).sha
    api.create_commit(REPO, repo_type="dataset", commit_message="moves main",
                      operations=[CommitOperationAdd("a.txt", b"a")])
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_commit(REPO, repo_type="dataset", commit_message="stale", parent_commit=old,
                          operations=[CommitOperationAdd("b.txt", b"b")])
    assert exc.value.response.status_code == 412


def test_chunked_lfs_upload_and_tree_pagination(tmp_path: Path, hf_env) -> None:
    hub = start_hub_server(tmp_path / "paged", extra=["--tree-page-size", "2"])
    try:
        api = _api(hub)
        api.create_repo(REPO, repo_type="dataset")
        data = "中文内容".encode() * 5000
        oid = hashlib.sha256(data).hexdigest()
        auth = {"Authorization": f"Bearer {hub.tokens['alice']}", "Content-Type": "application/json"}
        batch = json.dumps({"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]}).encode()
        _, _, body = _raw(hub, "POST", f"/datasets/{REPO}.git/info/lfs/objects/batch", auth, batch)
        href = urlparse(json.loads(body)["objects"][0]["actions"]["upload"]["href"])
        conn = http.client.HTTPConnection(href.netloc, timeout=30)
        conn.request("PUT", f"{href.path}?{href.query}", body=iter([data[:1000], data[1000:]]),
                     encode_chunked=True)
        assert conn.getresponse().status == 200
        lines = [{"key": "header", "value": {"summary": "chunked"}},
                 {"key": "lfsFile", "value": {"path": "big.bin", "algo": "sha256", "oid": oid, "size": len(data)}}]
        lines += [{"key": "file", "value": {"path": f"f{i}.txt", "content": "eA==", "encoding": "base64"}}
                  for i in range(5)]
        status, _, _ = _raw(hub, "POST", f"/api/datasets/{REPO}/commit/main", auth,
                            "\n".join(json.dumps(x) for x in lines).encode())
        assert status == 200
        files = api.list_repo_files(REPO, repo_type="dataset")
        assert sorted(files) == sorted([".gitattributes", "big.bin"] + [f"f{i}.txt" for i in range(5)])
        assert sum(1 for e in hub.log() if "/tree/" in e["path"]) >= 4  # 7 files, 2 per page
        assert _raw(hub, "GET", f"/datasets/{REPO}/resolve/main/big.bin")[2] == data
    finally:
        stop_hub_server(hub)
    # data survives a restart
    hub2 = start_hub_server(tmp_path / "paged")
    try:
        assert "big.bin" in _api(hub2).list_repo_files(REPO, repo_type="dataset")
    finally:
        stop_hub_server(hub2)


def test_datasets_push_to_hub_and_load_dataset(hub_server: HubProcess, hf_env, tmp_path: Path) -> None:
    """datasets' own upload path (preupload, LFS, README merge, parentCommit) works against the server."""
    code = textwrap.dedent("""\
        import json, sys
        import datasets
        tok = sys.argv[1]
        a = datasets.Dataset.from_dict({"instruction": ["你好", "再见"], "output": ["hello", "bye"]})
        b = datasets.Dataset.from_dict({"instruction": ["一"], "output": ["one"]})
        a.push_to_hub("cqia/pushed", config_name="greet", token=tok, private=True)
        b.push_to_hub("cqia/pushed", config_name="num", token=tok, private=True)
        out = {c: datasets.load_dataset("cqia/pushed", c, split="train", token=tok).to_list()
               for c in ("greet", "num")}
        print(json.dumps(out, ensure_ascii=False))
        """)
    env = dict(hf_env, HF_ENDPOINT=hub_server.url)
    proc = subprocess.run([sys.executable, "-c", code, hub_server.tokens["alice"]], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["greet"] == [{"instruction": "你好", "output": "hello"}, {"instruction": "再见", "output": "bye"}]
    assert out["num"] == [{"instruction": "一", "output": "one"}]
    info = _api(hub_server).dataset_info("cqia/pushed")
    assert info.private and {c["config_name"] for c in info.card_data["configs"]} == {"greet", "num"}
    assert any(e["path"].endswith("/commit/main") and e["status"] == 200 for e in hub_server.log())
