"""Release push against a real local Hub server process, with the real huggingface_hub/datasets clients."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.release.push import (
    ReleasePushError,
    local_content_hash,
    plan_push,
    push_release,
    verify_release,
)
from tests.hub_fixtures import ROWS_V1, HubProcess, cqia_rows, load_in_subprocess, write_release_dir

pytest_plugins = ["tests.hub_fixtures"]

REPO = "cqia/coig-cqia-test"


def _push(hub: HubProcess, release: Path, **kw) -> object:
    return push_release(release, kw.pop("repo_id", REPO), token=kw.pop("token", hub.tokens["alice"]),
                        endpoint=hub.url, progress=False, **kw)


def _local_rows(release: Path, config: str) -> list[dict]:
    return pq.read_table(release / config / "train-00000-of-00001.parquet").to_pylist()


def _release_v2(tmp_path: Path) -> Path:
    rows = {c: cqia_rows(c, r, "v2") for c, r in ROWS_V1.items()}
    rows["finance"].append(cqia_rows("finance", [("什么是通货膨胀？", "", "物价总水平持续上涨。", "问答", "金融")],
                                     "v2")[0])
    return write_release_dir(tmp_path / "release-v2", rows)


def test_first_release_loads_back_every_config(hub_server: HubProcess, hf_env, release_dir: Path,
                                               tmp_path: Path) -> None:
    result = _push(hub_server, release_dir, tag="v1.0.0")
    assert {(c.config, c.split) for c in result.checks} == {("human_value", "train"), ("finance", "train")}
    assert all(c.ok for c in result.checks)
    assert {c.config: c.remote_rows for c in result.checks} == {"human_value": 3, "finance": 2}
    # exactly one release commit on top of the repo's initial commit, and it is what the tag names
    commits = hub_server.commits(REPO)
    assert len(commits) == 2 and commits[0]["id"] == result.commit_sha
    assert len(hub_server.requests("POST", "/commit/")) == 1
    # verification really went through the server (resolve downloads at the new sha)
    assert any(result.commit_sha in e["path"] and "/resolve/" in e["path"] for e in hub_server.log())
    # each file is downloaded once: `datasets` loads the files the byte check fetched
    gets = [e["path"] for e in hub_server.requests("GET", "/resolve/") if e["path"].endswith(".parquet")]
    assert len(gets) == len(set(gets)) == 2
    # and an independent cold-cache load by tag returns the local rows, Chinese text intact
    got = load_in_subprocess(hub_server.url, REPO, "human_value", revision="v1.0.0", home=tmp_path / "h1")
    assert got["rows"] == _local_rows(release_dir, "human_value")
    assert result.to_table().row_count == 2


def test_second_release_keeps_old_tag_loading_old_data(hub_server: HubProcess, hf_env, release_dir: Path,
                                                       tmp_path: Path) -> None:
    r1 = _push(hub_server, release_dir, tag="v1.0.0")
    v2 = _release_v2(tmp_path)
    (v2 / "obsolete.txt").write_text("only in v2")
    r2 = _push(hub_server, v2, tag="v1.1.0")
    assert r2.commit_sha != r1.commit_sha and r2.commit_created
    assert {c.config: c.remote_rows for c in r2.checks} == {"human_value": 3, "finance": 3}

    old = load_in_subprocess(hub_server.url, REPO, "finance", revision="v1.0.0", home=tmp_path / "h-old")
    new = load_in_subprocess(hub_server.url, REPO, "finance", revision="v1.1.0", home=tmp_path / "h-new")
    assert old["rows"] == _local_rows(release_dir, "finance")
    assert new["rows"] == _local_rows(v2, "finance")
    assert len(old["rows"]) == 2 and len(new["rows"]) == 3

    # a release is a full snapshot: a v3 without obsolete.txt deletes it
    v3 = write_release_dir(tmp_path / "release-v3", {c: cqia_rows(c, r, "v3") for c, r in ROWS_V1.items()})
    r3 = _push(hub_server, v3, tag="v1.2.0")
    assert r3.deleted == ["obsolete.txt"]
    # re-using an existing tag for different content is refused with a clear message
    with pytest.raises(ReleasePushError, match="tag 'v1.1.0' already exists"):
        _push(hub_server, release_dir, tag="v1.1.0")


def test_private_repo_needs_the_right_token(hub_server: HubProcess, hf_env, release_dir: Path,
                                            tmp_path: Path) -> None:
    result = _push(hub_server, release_dir, tag="v1.0.0", private=True)
    assert all(c.ok for c in result.checks)

    anon = load_in_subprocess(hub_server.url, REPO, "finance", revision="v1.0.0", home=tmp_path / "a")
    assert "doesn't exist on the Hub or cannot be accessed" in anon["error"]
    other = load_in_subprocess(hub_server.url, REPO, "finance", revision="v1.0.0", home=tmp_path / "b",
                               token=hub_server.tokens["bob"])
    assert "doesn't exist on the Hub or cannot be accessed" in other["error"]
    bad = load_in_subprocess(hub_server.url, REPO, "finance", revision="v1.0.0", home=tmp_path / "c",
                             token="hf_not_a_real_token")
    assert "Invalid credentials in Authorization header" in bad["error"]
    ok = load_in_subprocess(hub_server.url, REPO, "finance", revision="v1.0.0", home=tmp_path / "d",
                            token=hub_server.tokens["alice"])
    assert ok["rows"] == _local_rows(release_dir, "finance")

    # verification with the wrong token reports the failure and never echoes the token
    checks = verify_release(release_dir, REPO, revision="v1.0.0", token="hf_wrong_secret_xyz", endpoint=hub_server.url)
    assert not any(c.ok for c in checks)
    assert all("Invalid credentials" in (c.error or "") and "hf_wrong_secret_xyz" not in (c.error or "")
               for c in checks)
    # pushing as bob into alice's private repo fails clearly
    with pytest.raises(ReleasePushError) as exc:
        _push(hub_server, release_dir, tag="v9", private=True, token=hub_server.tokens["bob"])
    assert hub_server.tokens["bob"] not in str(exc.value)


@pytest.mark.parametrize("status,retry_after", [(429, 1), (500, None)])
def test_commit_fault_is_retried_without_duplicate_commit(hub_server: HubProcess, hf_env, release_dir: Path,
                                                          status: int, retry_after: int | None) -> None:
    hub_server.add_fault(method="POST", path_regex="/commit/", status=status, times=1, retry_after=retry_after)
    result = _push(hub_server, release_dir, tag="v1.0.0")
    attempts = hub_server.requests("POST", "/commit/")
    assert [a["status"] for a in attempts] == [status, 200]
    assert result.commit_attempts == 2
    assert len(hub_server.commits(REPO)) == 2  # initial + exactly one release commit
    if retry_after:
        assert attempts[1]["ts"] - attempts[0]["ts"] >= retry_after


def test_lost_commit_response_is_not_committed_twice(hub_server: HubProcess, hf_env, release_dir: Path) -> None:
    # the server applies the commit and then answers 502: the retry must find it instead of recommitting
    hub_server.add_fault(method="POST", path_regex="/commit/", status=502, times=1, mode="after")
    result = _push(hub_server, release_dir, tag="v1.0.0")
    assert len(hub_server.requests("POST", "/commit/")) == 1
    commits = hub_server.commits(REPO)
    assert len(commits) == 2 and commits[0]["id"] == result.commit_sha
    assert all(c.ok for c in result.checks)


def test_dry_run_plan_sends_nothing(hub_server: HubProcess, hf_env, release_dir: Path) -> None:
    plan = plan_push(release_dir, REPO, tag="v1.0.0", private=False)
    assert [f.path_in_repo for f in plan.files] == [
        "README.md", "finance/train-00000-of-00001.parquet", "human_value/train-00000-of-00001.parquet"]
    assert all(f.size == (release_dir / f.path_in_repo).stat().st_size for f in plan.files)
    assert "v1.0.0" in plan.commit_message and "5 rows" in plan.commit_message
    assert hub_server.log() == []
    with pytest.raises(Exception, match="404"):
        hub_server.commits(REPO)


def test_plan_rejects_bad_inputs(tmp_path: Path, release_dir: Path) -> None:
    with pytest.raises(ReleasePushError, match="ORG/NAME"):
        plan_push(release_dir, "no-namespace", tag=None, private=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReleasePushError, match="README.md"):
        plan_push(tmp_path / "empty", REPO, tag=None, private=False)


def test_verification_detects_content_mismatch(hub_server: HubProcess, hf_env, release_dir: Path,
                                               tmp_path: Path) -> None:
    result = _push(hub_server, release_dir)
    # same row count, one character changed locally: the hash, not the count, must catch it
    rows = pq.read_table(release_dir / "finance" / "train-00000-of-00001.parquet").to_pylist()
    rows[1]["output"] = rows[1]["output"].replace("风险", "风景")
    tampered = write_release_dir(tmp_path / "tampered", {  # same card: configs in the same order
        "human_value": _local_rows(release_dir, "human_value"), "finance": rows})
    checks = {c.config: c for c in verify_release(tampered, REPO, revision=result.commit_sha,
                                                  token=hub_server.tokens["alice"], endpoint=hub_server.url)}
    assert checks["human_value"].ok
    # the Hub's file list already tells the file apart: named, without loading anything
    assert not checks["finance"].ok and checks["finance"].remote_rows is None
    assert "file finance/train-00000-of-00001.parquet differs from the local build" in checks["finance"].error


def test_content_hash_is_order_sensitive(tmp_path: Path, release_dir: Path) -> None:
    rows = _local_rows(release_dir, "human_value")
    a = write_release_dir(tmp_path / "a", {"x": rows})
    b = write_release_dir(tmp_path / "b", {"x": list(reversed(rows))})
    ha = local_content_hash([a / "x" / "train-00000-of-00001.parquet"])
    hb = local_content_hash([b / "x" / "train-00000-of-00001.parquet"])
    assert ha[0] == hb[0] == 3 and ha[1] != hb[1]
    assert json.dumps(rows, ensure_ascii=False)  # rows are JSON-able as the hash assumes


def test_push_without_any_token_fails_before_network(hub_server: HubProcess, hf_env, release_dir: Path) -> None:
    with pytest.raises(ReleasePushError, match="no Hugging Face token"):
        push_release(release_dir, REPO, endpoint=hub_server.url, progress=False)
    assert hub_server.log() == []


def test_push_uses_lfs_for_a_custom_endpoint_even_if_xet_is_on(hub_server: HubProcess, hf_env, release_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A CLI process has no HF_HUB_DISABLE_XET; pushing to our LFS-only server must still work."""
    import huggingface_hub.constants as hf_constants

    monkeypatch.delenv("HF_HUB_DISABLE_XET")
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_XET", False)
    result = _push(hub_server, release_dir)
    assert all(c.ok for c in result.checks)
    assert hf_constants.HF_HUB_DISABLE_XET is False  # restored afterwards
    assert hub_server.requests("POST", "/info/lfs/objects/batch")


# ---- failures after the commit say what happened (issue 12) -------------------------------------
def _clear_faults(hub: HubProcess) -> None:
    hub._call("DELETE", "/_admin/faults")


def _blob(hub: HubProcess, release: Path, rel: str) -> Path:
    import hashlib

    sha = hashlib.sha256((release / rel).read_bytes()).hexdigest()
    return hub.data_dir / "blobs" / sha[:2] / sha


def test_lost_create_repo_response_is_checked_and_the_push_continues(hub_server: HubProcess, hf_env,
                                                                      release_dir: Path) -> None:
    # the server creates the repo, then the response is lost (502): the retry finds it exists
    hub_server.add_fault(method="POST", path_regex="/api/repos/create", status=502, times=1, mode="after")
    result = _push(hub_server, release_dir, tag="v1.0.0")
    assert all(c.ok for c in result.checks)
    assert len(hub_server.commits(REPO)) == 2
    assert any("repo created" in n for n in result.notes)


def test_verification_fault_after_the_commit_says_the_commit_landed(hub_server: HubProcess, hf_env,
                                                                     release_dir: Path) -> None:
    hub_server.add_fault(method="*", path_regex="/resolve/", status=500, times=10_000)
    with pytest.raises(ReleasePushError) as exc:
        _push(hub_server, release_dir, tag="v1.0.0")
    message = str(exc.value)
    commits = hub_server.commits(REPO)
    assert len(commits) == 2
    assert commits[0]["id"][:12] in message and "landed" in message and "again" in message
    assert hub_server.tokens["alice"] not in message
    # as the message says: the same command again verifies the landed commit, and commits nothing
    _clear_faults(hub_server)
    result = _push(hub_server, release_dir, tag="v1.0.0")
    assert all(c.ok for c in result.checks) and result.commit_sha == commits[0]["id"]
    assert len(hub_server.commits(REPO)) == 2


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_corrupted_file_on_the_hub_is_named_quickly(hub_server: HubProcess, hf_env, release_dir: Path,
                                                    damage: str) -> None:
    import time

    result = _push(hub_server, release_dir, tag="v1.0.0")
    rel = "finance/train-00000-of-00001.parquet"
    blob = _blob(hub_server, release_dir, rel)
    data = blob.read_bytes()
    blob.write_bytes(data[:100] + bytes(b ^ 0xFF for b in data[100:200]) + data[200:] if damage == "flipped"
                     else data[: len(data) // 2])
    started = time.monotonic()
    checks = {c.config: c for c in verify_release(release_dir, REPO, revision=result.commit_sha,
                                                  token=hub_server.tokens["alice"], endpoint=hub_server.url)}
    assert time.monotonic() - started < 40
    assert checks["human_value"].ok
    assert not checks["finance"].ok
    assert f"file {rel} differs from the local build" in checks["finance"].error
