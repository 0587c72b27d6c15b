"""On-disk store for the local Hub: content-addressed blobs, immutable commits, refs per repo.

Commits are full snapshots (path -> file entry), so any old tag or sha keeps resolving to exactly
the bytes it was created with; that is what lets release tests load an OLD tag after a new push.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.arrow filter=lfs diff=lfs merge=lfs -text\n"
REPO_TYPES = ("model", "dataset", "space")


class HubError(Exception):
    """An error with an HTTP status and the Hub's X-Error-Code (kept ASCII: it goes in a header)."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def git_blob_sha1(data: bytes) -> str:
    """Git's blob id (what the Hub reports as a regular file's `oid`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


@dataclass
class FileEntry:
    """One file in a commit snapshot; content lives in the blob store under `sha256`."""

    sha256: str
    size: int
    lfs: bool
    regular_oid: str = ""  # git blob sha1 of the content, for regular (non-LFS) files

    @property
    def blob_id(self) -> str:
        return git_blob_sha1(self.pointer().encode()) if self.lfs else self.regular_oid

    def pointer(self) -> str:
        return LFS_POINTER.format(oid=self.sha256, size=self.size)

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size, "lfs": self.lfs, "regular_oid": self.regular_oid}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FileEntry:
        return cls(d["sha256"], d["size"], d["lfs"], d.get("regular_oid", ""))


@dataclass
class Commit:
    sha: str
    parents: list[str]
    title: str
    message: str
    author: str
    date: float
    files: dict[str, FileEntry]

    def to_json(self) -> dict[str, Any]:
        return {
            "sha": self.sha,
            "parents": self.parents,
            "title": self.title,
            "message": self.message,
            "author": self.author,
            "date": self.date,
            "files": {p: e.to_json() for p, e in sorted(self.files.items())},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Commit:
        files = {p: FileEntry.from_json(e) for p, e in d["files"].items()}
        return cls(d["sha"], d["parents"], d["title"], d["message"], d["author"], d["date"], files)


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    created_at: float
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    pr_count: int = 0

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/")[0]

    def meta_json(self) -> dict[str, Any]:
        return {
            "repo_type": self.repo_type,
            "repo_id": self.repo_id,
            "private": self.private,
            "created_at": self.created_at,
            "branches": self.branches,
            "tags": self.tags,
            "pr_count": self.pr_count,
        }


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Store:
    """All repos of one server. One lock serialises ref updates; blobs and commits are immutable."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir)
        self.blobs = self.root / "blobs"
        self.repos_dir = self.root / "repos"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.repos_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._commits: dict[str, Commit] = {}
        self.repos: dict[tuple[str, str], Repo] = {}
        for meta in self.repos_dir.glob("*/*/*/repo.json"):
            d = json.loads(meta.read_text())
            repo = Repo(d["repo_type"], d["repo_id"], d["private"], d["created_at"], d["branches"], d["tags"],
                        d.get("pr_count", 0))
            self.repos[(repo.repo_type, repo.repo_id)] = repo

    # --- blobs ---
    def blob_path(self, sha256: str) -> Path:
        return self.blobs / sha256[:2] / sha256

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def put_blob_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.has_blob(sha):
            _atomic_write(self.blob_path(sha), data)
        return sha

    def put_blob_stream(self, stream: BinaryIO, length: int | None, expected_sha256: str) -> None:
        """Store an uploaded LFS object, refusing it if its sha256 is not the announced one."""
        target = self.blob_path(expected_sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".up-")
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as f:
            for chunk in _iter_chunks(stream, length):
                h.update(chunk)
                f.write(chunk)
        if h.hexdigest() != expected_sha256:
            os.unlink(tmp)
            raise HubError(400, "Uploaded content does not match its sha256 oid", "BadRequest")
        os.replace(tmp, target)

    # --- repos / commits ---
    def _repo_dir(self, repo: Repo) -> Path:
        return self.repos_dir / repo.repo_type / repo.repo_id

    def save_repo(self, repo: Repo) -> None:
        _atomic_write(self._repo_dir(repo) / "repo.json", json.dumps(repo.meta_json(), indent=1).encode())

    def get_commit(self, repo: Repo, sha: str) -> Commit:
        c = self._commits.get(sha)
        if c is None:
            c = Commit.from_json(json.loads((self._repo_dir(repo) / "commits" / f"{sha}.json").read_text()))
            self._commits[sha] = c
        return c

    def has_commit(self, repo: Repo, sha: str) -> bool:
        return sha in self._commits or (self._repo_dir(repo) / "commits" / f"{sha}.json").is_file()

    def write_commit(
        self, repo: Repo, parents: list[str], title: str, message: str, author: str, files: dict[str, FileEntry]
    ) -> Commit:
        now = time.time()
        body = json.dumps(
            {"p": parents, "t": title, "m": message, "a": author, "d": time.time_ns(),
             "f": {k: v.to_json() for k, v in sorted(files.items())}},
            sort_keys=True,
        ).encode()
        sha = hashlib.sha1(body).hexdigest()
        commit = Commit(sha, parents, title, message, author, now, files)
        _atomic_write(self._repo_dir(repo) / "commits" / f"{sha}.json", json.dumps(commit.to_json()).encode())
        self._commits[sha] = commit
        return commit

    def create_repo(self, repo_type: str, repo_id: str, private: bool, author: str) -> Repo:
        with self.lock:
            if (repo_type, repo_id) in self.repos:
                raise HubError(409, "You already created this repo", "RepoExists")
            repo = Repo(repo_type, repo_id, private, time.time())
            sha = self.put_blob_bytes(GITATTRIBUTES)
            entry = FileEntry(sha, len(GITATTRIBUTES), False, git_blob_sha1(GITATTRIBUTES))
            commit = self.write_commit(repo, [], "initial commit", "", author, {".gitattributes": entry})
            repo.branches["main"] = commit.sha
            self.save_repo(repo)
            self.repos[(repo_type, repo_id)] = repo
            return repo

    def delete_repo(self, repo: Repo) -> None:
        with self.lock:
            self.repos.pop((repo.repo_type, repo.repo_id), None)
            meta = self._repo_dir(repo) / "repo.json"
            meta.unlink(missing_ok=True)

    def resolve(self, repo: Repo, revision: str) -> str:
        """Branch, tag, full sha or unique sha prefix (>= 7 chars) -> commit sha."""
        if revision in repo.branches:
            return repo.branches[revision]
        if revision.startswith("refs/heads/") and revision[11:] in repo.branches:
            return repo.branches[revision[11:]]
        if revision in repo.tags:
            return repo.tags[revision]
        if revision.startswith("refs/tags/") and revision[10:] in repo.tags:
            return repo.tags[revision[10:]]
        rev = revision.lower()
        if len(rev) == 40 and all(c in "0123456789abcdef" for c in rev) and self.has_commit(repo, rev):
            return rev
        if 7 <= len(rev) < 40:
            cdir = self._repo_dir(repo) / "commits"
            hits = [p.stem for p in cdir.glob(f"{rev}*.json")] if rev.isalnum() else []
            if len(hits) == 1:
                return hits[0]
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


def _iter_chunks(stream: BinaryIO, length: int | None, size: int = 1 << 20):
    if length is None:
        while chunk := stream.read(size):
            yield chunk
        return
    left = length
    while left > 0:
        chunk = stream.read(min(size, left))
        if not chunk:
            raise HubError(400, "Request body shorter than Content-Length", "BadRequest")
        left -= len(chunk)
        yield chunk
