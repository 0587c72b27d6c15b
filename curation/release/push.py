"""Push a built release directory to the Hub as ONE commit, tag it, and prove it loads back.

Why one commit: the Hub rate-limits commits per repo (~128/hour), and a release should be a full
snapshot (files missing from the new release are deleted) so a tag names exactly one dataset.
Why a subprocess for verification: `HF_ENDPOINT` is read at import time by huggingface_hub and
datasets, and a warm cache hides failures; a child process with its own HF_HOME reads from the
server for real.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from rich.table import Table
from tenacity import RetryCallState

from curation.retry import hub_retrying
from schemas.redact import redact_text, redact_url

T = TypeVar("T")

RETRY_STATUS = (408, 429, 500, 502, 503, 504)
PUSH_ID_PREFIX = "cqia-push-id: "
KEEP_REMOTE = frozenset({".gitattributes"})
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class ReleasePushError(RuntimeError):
    """A push or verification failure, with a message meant for the person running the release."""


# ---------------------------------------------------------------- plan


@dataclass(frozen=True)
class PlannedFile:
    path_in_repo: str
    local_path: Path
    size: int


@dataclass(frozen=True)
class ConfigSpec:
    """One `configs:` entry of the card: which local files make each split."""

    name: str
    splits: dict[str, list[str]]  # split -> sorted repo paths
    rows: dict[str, int]  # split -> rows per Parquet metadata


@dataclass
class PushPlan:
    release_dir: Path
    repo_id: str
    tag: str | None
    private: bool
    files: list[PlannedFile]
    configs: list[ConfigSpec]
    commit_message: str
    commit_description: str

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def to_table(self) -> Table:
        t = Table(title=f"Push plan: {self.repo_id}" + (f" @ {self.tag}" if self.tag else ""))
        t.add_column("file")
        t.add_column("size", justify="right")
        for f in self.files:
            t.add_row(f.path_in_repo, _human(f.size))
        t.add_section()
        t.add_row(f"{len(self.files)} files, private={self.private}", _human(self.total_size))
        t.caption = f"commit message: {self.commit_message}"
        return t


def plan_push(release_dir: Path, repo_id: str, *, tag: str | None, private: bool) -> PushPlan:
    """Read the release dir only (no network): files, sizes, configs from the card, commit message."""
    release_dir = Path(release_dir)
    if not _REPO_ID.fullmatch(repo_id):
        raise ReleasePushError(f"repo id must look like ORG/NAME, got {repo_id!r}")
    if tag is not None and (not _TAG.fullmatch(tag) or ".." in tag):
        raise ReleasePushError(f"invalid tag {tag!r}: use letters, digits, '.', '_' or '-' (e.g. v1.2.0)")
    readme = release_dir / "README.md"
    if not readme.is_file():
        raise ReleasePushError(f"{release_dir} has no README.md dataset card")
    files = [
        PlannedFile(rel, release_dir / rel, (release_dir / rel).stat().st_size)
        for rel in sorted(_release_files(release_dir))
    ]
    configs = _configs_from_card(readme.read_text("utf-8"), release_dir)
    total_rows = sum(sum(c.rows.values()) for c in configs)
    label = tag or time.strftime("%Y-%m-%d")
    message = f"Release {label}: {len(configs)} configs, {total_rows} rows"
    description = "\n".join(
        [f"- {c.name}: " + ", ".join(f"{s}={n}" for s, n in c.rows.items()) for c in configs]
    )
    return PushPlan(release_dir, repo_id, tag, private, files, configs, message, description)


def _release_files(root: Path) -> Iterator[str]:
    for p in root.rglob("*"):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not any(part.startswith(".") for part in rel.split("/")[:-1]) \
                and (not p.name.startswith(".") or p.name == ".gitattributes"):
            yield rel


def _front_matter(text: str) -> dict[str, Any]:
    if not text.startswith("---"):
        raise ReleasePushError("README.md has no YAML front matter (--- ... ---) with `configs:`")
    try:
        data = yaml.safe_load(text[3:].split("\n---", 1)[0])
    except yaml.YAMLError as e:
        raise ReleasePushError(f"README.md front matter is not valid YAML: {e}") from e
    return data if isinstance(data, dict) else {}


def _configs_from_card(text: str, root: Path) -> list[ConfigSpec]:
    import pyarrow.parquet as pq

    entries = _front_matter(text).get("configs") or []
    if not entries:
        raise ReleasePushError("README.md front matter declares no `configs:`")
    out = []
    for entry in entries:
        name = entry.get("config_name", "default")
        data_files = entry.get("data_files") or []
        if isinstance(data_files, (str, dict)):
            data_files = [data_files]
        splits: dict[str, list[str]] = {}
        for df in data_files:
            split, patterns = ("train", df) if isinstance(df, str) else (df.get("split", "train"), df["path"])
            for pattern in [patterns] if isinstance(patterns, str) else patterns:
                matched = [m for m in glob.glob(pattern, root_dir=root, recursive=True)
                           if (root / m).is_file()]
                splits.setdefault(split, []).extend(Path(m).as_posix() for m in matched)
        for split, paths in splits.items():
            if not paths:
                raise ReleasePushError(f"config {name!r} split {split!r}: its data_files match no file")
            splits[split] = sorted(set(paths))
        rows = {s: sum(pq.read_metadata(root / p).num_rows for p in ps) for s, ps in splits.items()}
        out.append(ConfigSpec(name, splits, rows))
    return out


# ---------------------------------------------------------------- content hash


def _json_default(o: Any) -> Any:
    if isinstance(o, bytes):
        return {"$bytes": o.hex()}
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return str(o)


def canonical_row(row: dict[str, Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=_json_default).encode("utf-8")


def hash_rows(batches: Iterator[list[dict[str, Any]]]) -> tuple[int, str]:
    """(rows, sha256) over rows in order, one canonical JSON line each. Used on both sides."""
    h = hashlib.sha256()
    n = 0
    for batch in batches:
        for row in batch:
            h.update(canonical_row(row))
            h.update(b"\n")
            n += 1
    return n, h.hexdigest()


def local_content_hash(paths: list[Path]) -> tuple[int, str]:
    import pyarrow.parquet as pq

    def batches() -> Iterator[list[dict[str, Any]]]:
        for p in paths:
            for b in pq.ParquetFile(p).iter_batches(batch_size=4096):
                yield b.to_pylist()

    return hash_rows(batches())


# ---------------------------------------------------------------- results


@dataclass
class ConfigCheck:
    config: str
    split: str
    local_rows: int
    remote_rows: int | None
    local_hash: str
    remote_hash: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.local_rows == self.remote_rows and self.local_hash == self.remote_hash


@dataclass
class PushResult:
    repo_id: str
    commit_sha: str
    commit_url: str
    tag: str | None
    private: bool
    files: int
    bytes: int
    deleted: list[str]
    commit_created: bool
    commit_attempts: int
    push_seconds: float
    verify_seconds: float
    checks: list[ConfigCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_table(self) -> Table:
        t = Table(title=f"Release {self.repo_id}" + (f" @ {self.tag}" if self.tag else ""))
        t.add_column("config")
        t.add_column("split")
        t.add_column("rows (local/hub)", justify="right")
        t.add_column("content sha256")
        t.add_column("ok")
        for c in self.checks:
            t.add_row(c.config, c.split, f"{c.local_rows}/{c.remote_rows}", c.local_hash[:16],
                      "[green]yes[/]" if c.ok else "[red]NO[/]")
        commit = self.commit_sha[:12] + ("" if self.commit_created else " (unchanged, reused)")
        t.caption = (f"commit {commit} in {self.commit_attempts} attempt(s); {self.files} files, "
                     f"{_human(self.bytes)}, {len(self.deleted)} deleted; push {self.push_seconds:.1f}s, "
                     f"verify {self.verify_seconds:.1f}s" + "".join(f"\n{n}" for n in self.notes))
        return t


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


# ---------------------------------------------------------------- token, retries


def resolve_token(token: str | None) -> str | None:
    """Explicit arg, then HF_TOKEN, then the standard huggingface_hub login."""
    if token:
        return token
    if os.environ.get("HF_TOKEN"):
        return os.environ["HF_TOKEN"]
    from huggingface_hub import get_token

    return get_token()


def _scrub(text: str, token: str | None) -> str:
    return redact_text(text, [token])


def _transient_exceptions() -> tuple[type[BaseException], ...]:
    try:
        import httpx2

        return (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError,
                ConnectionError, TimeoutError)
    except ImportError:  # pragma: no cover - huggingface_hub < 2 used httpx/requests
        return (ConnectionError, TimeoutError)


def _status_of(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, _transient_exceptions()) or _status_of(exc) in RETRY_STATUS


def _retry_note(on_retry: Callable[[int, float, BaseException], None] | None) -> Callable[[RetryCallState], None]:
    def note(state: RetryCallState) -> None:
        if on_retry and state.outcome is not None and state.next_action is not None:
            on_retry(state.attempt_number, state.next_action.sleep, state.outcome.exception())
    return note


def with_retries(fn: Callable[[], T], what: str, max_retries: int, token: str | None,
                 on_retry: Callable[[int, float, BaseException], None] | None = None) -> T:
    """`fn()` under the Hub policy (curation/retry.py: 429/5xx/network errors, Retry-After honoured)."""
    try:
        return hub_retrying(max_retries, _is_transient, before_sleep=_retry_note(on_retry))(fn)
    except Exception as e:
        raise ReleasePushError(_scrub(f"{what} failed: {_short(e)}", token)) from e


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:600]}"


# ---------------------------------------------------------------- push


class _Progress:
    """Rich status lines on stderr (stdout stays for the CLI's own output)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        if enabled:
            from rich.console import Console

            self.console = Console(stderr=True)

    def step(self, text: str) -> None:
        if self.enabled:
            self.console.log(text)


def push_release(
    release_dir: Path,
    repo_id: str,
    *,
    tag: str | None = None,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    max_retries: int = 5,
    progress: bool = True,
) -> PushResult:
    """Create the repo if needed, push the release as one commit, tag it, load it back and compare."""
    from huggingface_hub import HfApi
    from huggingface_hub.utils import disable_progress_bars

    plan = plan_push(release_dir, repo_id, tag=tag, private=private)
    token = resolve_token(token)
    if token is None:
        raise ReleasePushError("no Hugging Face token: pass --token, set HF_TOKEN or run `hf auth login`")
    disable_progress_bars()  # rich owns the terminal; tqdm bars from threads would interleave
    ui = _Progress(progress)
    api = HfApi(endpoint=endpoint, token=token, library_name="cqia")
    started = time.monotonic()

    def retry(fn: Callable[[], T], what: str) -> T:
        return with_retries(fn, what, max_retries, token,
                            lambda n, d, e: ui.step(f"{what}: {_short(e)[:120]} - retry {n} in {d:.1f}s"))

    ui.step(f"plan: {len(plan.files)} files, {_human(plan.total_size)} -> {repo_id}")
    with _lfs_transfer_for(endpoint):
        return _push(plan, api, ui, retry, started, token, endpoint, max_retries)


@contextmanager
def _lfs_transfer_for(endpoint: str | None) -> Iterator[None]:
    """Use the git-LFS batch path (not Xet) for a non-Hub endpoint such as our local server.

    huggingface_hub uploads through Xet whenever hf_xet is installed, without negotiating; a
    Hub-compatible server that speaks only git-LFS then fails with an opaque error. An explicit
    HF_HUB_DISABLE_XET in the environment always wins.
    """
    from huggingface_hub import constants

    official = endpoint is None or endpoint.rstrip("/") in (constants._HF_DEFAULT_ENDPOINT,
                                                            constants._HF_DEFAULT_STAGING_ENDPOINT)
    if official or "HF_HUB_DISABLE_XET" in os.environ:
        yield
        return
    previous = constants.HF_HUB_DISABLE_XET
    constants.HF_HUB_DISABLE_XET = True
    try:
        yield
    finally:
        constants.HF_HUB_DISABLE_XET = previous


def _push(plan: PushPlan, api: Any, ui: _Progress, retry: Callable[..., Any], started: float,
          token: str | None, endpoint: str | None, max_retries: int) -> PushResult:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete
    from huggingface_hub.errors import RepositoryNotFoundError

    repo_id, tag, private = plan.repo_id, plan.tag, plan.private
    try:
        info = retry(lambda: api.repo_info(repo_id, repo_type="dataset"), "reading repo info")
        notes = []
    except ReleasePushError as e:
        if not isinstance(e.__cause__, RepositoryNotFoundError):
            raise
        ui.step(f"creating {'private' if private else 'public'} dataset repo {repo_id}")
        info, notes = _create_repo(api, repo_id, private, retry), ["repo created"]
    if private and not info.private:
        raise ReleasePushError(f"{repo_id} exists and is PUBLIC but --private was requested; refusing to publish. "
                               "Make the repo private on the Hub first or drop --private.")
    if not private and info.private:
        notes.append("repo is private (left as is)")
    head = info.sha
    remote = _remote_files(api, repo_id, head, retry)

    if tag is not None:
        existing = _tag_target(api, repo_id, tag, retry)
        if existing is not None:
            at_tag = _remote_files(api, repo_id, existing, retry)
            if _same_content(plan, at_tag):
                ui.step(f"tag {tag} already points at {existing[:12]} with identical content: verifying only")
                return _finish(plan, api, existing, False, 0, [], started, token, endpoint, ui,
                               notes + [f"tag {tag} already existed with identical content"])
            raise ReleasePushError(f"tag {tag!r} already exists on {repo_id} and points at commit {existing[:12]} "
                                   "whose files differ from this release; choose a new version tag")

    push_id = uuid.uuid4().hex
    deleted = sorted(p for p in remote if p not in {f.path_in_repo for f in plan.files} and p not in KEEP_REMOTE)
    ops: list[Any] = [CommitOperationAdd(f.path_in_repo, str(f.local_path)) for f in plan.files]
    ops += [CommitOperationDelete(p) for p in deleted]
    description = f"{plan.commit_description}\n\n{PUSH_ID_PREFIX}{push_id}"
    ui.step(f"committing {len(plan.files)} files, deleting {len(deleted)} (parent {head[:12]})")
    sha, created, attempts = _commit_once(api, repo_id, ops, plan.commit_message, description, head, push_id,
                                          max_retries, token, ui)
    if tag is not None:
        _create_tag(api, repo_id, tag, sha, plan.commit_message, retry)
        ui.step(f"tagged {sha[:12]} as {tag}")
    return _finish(plan, api, sha, created, attempts, deleted, started, token, endpoint, ui, notes)


def _create_repo(api: Any, repo_id: str, private: bool, retry: Callable[..., Any]) -> Any:
    """Create the repo and return its info. When the create call fails after the server may have
    acted (a lost response: a retry then meets "already exists", and huggingface_hub may fail
    reading the answer, e.g. `KeyError: 'url'`), look: if the repo is there, carry on."""
    try:
        retry(lambda: api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True),
              "creating the repo")
    except ReleasePushError as create_error:
        try:
            return retry(lambda: api.repo_info(repo_id, repo_type="dataset"), "reading repo info")
        except ReleasePushError:
            raise create_error from None
    return retry(lambda: api.repo_info(repo_id, repo_type="dataset"), "reading repo info")


def _finish(plan: PushPlan, api: Any, sha: str, created: bool, attempts: int, deleted: list[str],
            started: float, token: str | None, endpoint: str | None, ui: _Progress,
            notes: list[str]) -> PushResult:
    push_seconds = time.monotonic() - started
    ui.step(f"verifying: loading {len(plan.configs)} configs back at {sha[:12]} with a cold cache")
    t0 = time.monotonic()
    landed = (f" The release commit {sha[:12]} landed on {plan.repo_id}"
              + (f" (tag {plan.tag})" if plan.tag else "")
              + ": nothing needs pushing again; run the same `cqia release push` again to verify it"
              " (it finds the commit and commits nothing).")
    try:
        checks = verify_release(plan.release_dir, plan.repo_id, revision=sha, token=token, endpoint=endpoint)
    except ReleasePushError as e:
        raise ReleasePushError(f"{e}{landed}") from e
    verify_seconds = time.monotonic() - t0
    result = PushResult(
        repo_id=plan.repo_id, commit_sha=sha,
        commit_url=f"{redact_url(api.endpoint)}/datasets/{plan.repo_id}/commit/{sha}", tag=plan.tag,
        private=plan.private, files=len(plan.files), bytes=plan.total_size, deleted=deleted,
        commit_created=created, commit_attempts=attempts, push_seconds=push_seconds,
        verify_seconds=verify_seconds, checks=checks, notes=notes,
    )
    bad = [c for c in checks if not c.ok]
    if bad:
        details = "; ".join(
            f"{c.config}/{c.split}: " + (c.error or f"rows {c.local_rows} local vs {c.remote_rows} on hub, "
                                         f"hash {c.local_hash[:12]} vs {(c.remote_hash or '-')[:12]}")
            for c in bad)
        raise ReleasePushError(_scrub(f"verification failed for {plan.repo_id}@{sha[:12]}: {details}.{landed}", token))
    ui.step("verified: every config loads back with identical rows")
    return result


def _remote_files(api: Any, repo_id: str, revision: str, retry: Callable[..., Any]) -> dict[str, Any]:
    from huggingface_hub.hf_api import RepoFile

    items = retry(lambda: list(api.list_repo_tree(repo_id, repo_type="dataset", revision=revision,
                                                  recursive=True)), "listing repo files")
    return {i.path: i for i in items if isinstance(i, RepoFile)}


def _same_content(plan: PushPlan, remote: dict[str, Any]) -> bool:
    wanted = {f.path_in_repo for f in plan.files}
    if wanted != set(remote) - KEEP_REMOTE:
        return False
    for f in plan.files:
        r = remote[f.path_in_repo]
        data_sha = _sha256(f.local_path) if r.lfs else _git_blob_id(f.local_path.read_bytes())
        if (r.lfs.sha256 if r.lfs else r.blob_id) != data_sha:
            return False
    return True


def _git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _tag_target(api: Any, repo_id: str, tag: str, retry: Callable[..., Any]) -> str | None:
    refs = retry(lambda: api.list_repo_refs(repo_id, repo_type="dataset"), "listing tags")
    return next((t.target_commit for t in refs.tags if t.name == tag), None)


def _create_tag(api: Any, repo_id: str, tag: str, sha: str, message: str, retry: Callable[..., Any]) -> None:
    try:
        retry(lambda: api.create_tag(repo_id, tag=tag, revision=sha, tag_message=message, repo_type="dataset"),
              f"creating tag {tag}")
    except ReleasePushError as e:
        if _status_of(e.__cause__) != 409:  # type: ignore[arg-type]
            raise
        target = _tag_target(api, repo_id, tag, retry)
        if target != sha:
            raise ReleasePushError(f"tag {tag!r} already exists on {repo_id} and points at {str(target)[:12]}, "
                                   f"not at the new commit {sha[:12]}; choose a new version tag") from e


def _commit_once(api: Any, repo_id: str, ops: list[Any], message: str, description: str, parent: str,
                 push_id: str, max_retries: int, token: str | None, ui: _Progress) -> tuple[str, bool, int]:
    """create_commit pinned to `parent`, retried on 429/5xx by the Hub policy; before a retry, look at
    the branch head: if our commit landed (response lost), use it instead of committing twice."""
    attempts = 0

    def attempt() -> tuple[str, bool]:
        nonlocal attempts
        attempts += 1
        try:
            info = api.create_commit(repo_id, operations=ops, commit_message=message,
                                     commit_description=description, repo_type="dataset", parent_commit=parent)
            return info.oid, info.oid != parent
        except Exception as e:
            if not _is_transient(e) and _status_of(e) not in (409, 412):
                raise ReleasePushError(_scrub(f"commit to {repo_id} failed: {_short(e)}", token)) from e
            landed = _our_commit_at_head(api, repo_id, parent, push_id, max_retries, token)
            if landed:
                ui.step(f"commit attempt {attempts} reported {_short(e)[:80]} but the commit landed: {landed[:12]}")
                return landed, True
            if _status_of(e) in (409, 412):
                raise ReleasePushError(f"the main branch of {repo_id} moved during the push (another commit "
                                       "landed); re-run the push to build on the new head") from e
            raise  # transient and not landed: the policy waits and tries again

    def note(n: int, delay: float, e: BaseException) -> None:
        ui.step(f"commit attempt {n}: {_short(e)[:100]} - retrying in {delay:.1f}s")

    try:
        sha, created = hub_retrying(max_retries, _is_transient, before_sleep=_retry_note(note))(attempt)
    except ReleasePushError:
        raise
    except Exception as e:
        raise ReleasePushError(_scrub(f"commit to {repo_id} failed after {attempts} attempts: "
                                      f"{_short(e)}", token)) from e
    return sha, created, attempts


def _our_commit_at_head(api: Any, repo_id: str, parent: str, push_id: str, max_retries: int,
                        token: str | None) -> str | None:
    head = with_retries(lambda: api.repo_info(repo_id, repo_type="dataset").sha, "reading branch head",
                        max_retries, token)
    if head == parent:
        return None
    commits = with_retries(lambda: api.list_repo_commits(repo_id, repo_type="dataset", revision=head),
                           "reading commit history", max_retries, token)
    for c in commits:
        if c.commit_id == parent:
            break
        if f"{PUSH_ID_PREFIX}{push_id}" in (c.message or ""):
            return c.commit_id
    return None


# ---------------------------------------------------------------- verify


def verify_release(release_dir: Path, repo_id: str, *, revision: str, token: str | None = None,
                   endpoint: str | None = None) -> list[ConfigCheck]:
    """Check every config/split at `revision` against the local build. Returns checks; does not
    raise on mismatch.

    Three steps, cheapest first, so a damaged file is named in seconds rather than surfacing as a
    `datasets` error or a download timeout: (1) the Hub's file list (size, sha256 / git blob id)
    against the local files; (2) in a fresh child process (own HF_HOME, HF_ENDPOINT), every file
    of a config downloaded and its bytes hashed against the local file; (3) the config loaded with
    `datasets` (it reuses those downloads) and its rows and content hash compared."""
    release_dir = Path(release_dir)
    configs = _configs_from_card((release_dir / "README.md").read_text("utf-8"), release_dir)
    token = resolve_token(token)
    paths = sorted({"README.md", *(p for c in configs for ps in c.splits.values() for p in ps)})
    digests = {p: (_sha256(release_dir / p), (release_dir / p).stat().st_size) for p in paths}
    problems = _tree_problems(repo_id, revision, release_dir, digests, token, endpoint)
    jobs: list[dict[str, Any]] = []
    for c in configs:
        for split, ps in c.splits.items():
            files = ["README.md", *ps]
            known = next((problems[f] for f in files if f in problems), None)
            jobs.append({"config": c.name, "split": split, "skip": known,
                         "files": [{"path": f, "sha256": digests[f][0], "size": digests[f][1]} for f in files]})
    with tempfile.TemporaryDirectory(prefix="cqia-verify-") as home:
        proc = _start_worker(repo_id, revision, jobs, token, endpoint, home)
        try:
            # hash the local side while the child downloads and loads the remote side
            local = {(c.name, s): local_content_hash([release_dir / p for p in ps])
                     for c in configs for s, ps in c.splits.items()}
            stdout, _ = proc.communicate(timeout=3600)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stderr = Path(home, "worker.stderr").read_text("utf-8", "replace")
    if proc.returncode != 0 or not stdout.strip():
        tail = "\n".join(stderr.strip().splitlines()[-8:])
        raise ReleasePushError(_scrub(f"verification worker crashed (exit {proc.returncode}): {tail}", token))
    remote = {(r["config"], r["split"]): r for r in json.loads(stdout.strip().splitlines()[-1])}
    checks = []
    for (config, split), (rows, digest) in local.items():
        r = remote.get((config, split), {})
        checks.append(ConfigCheck(config, split, rows, r.get("rows"), digest, r.get("hash"),
                                  _scrub(r["error"], token) if r.get("error") else None))
    return checks


def _tree_problems(repo_id: str, revision: str, release_dir: Path, digests: dict[str, tuple[str, int]],
                   token: str | None, endpoint: str | None) -> dict[str, str]:
    """path -> why the Hub's record of that file at `revision` differs from the local file.

    Read from the repo tree, without downloading anything. When the tree cannot be read (e.g. a
    wrong token), nothing is reported here: the download step reports the same error per config."""
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    try:
        items = HfApi(endpoint=endpoint, token=token, library_name="cqia").list_repo_tree(
            repo_id, repo_type="dataset", revision=revision, recursive=True)
        remote = {i.path: i for i in items if isinstance(i, RepoFile)}
    except Exception:  # noqa: BLE001 - reported by the worker, which repeats the request
        return {}
    problems = {}
    for path, (sha, size) in digests.items():
        r = remote.get(path)
        if r is None:
            problems[path] = f"file {path} of the local build is missing on the Hub at {revision[:12]}"
            continue
        if r.lfs is not None:
            theirs, ours = r.lfs.sha256, sha
        else:
            theirs, ours = r.blob_id, _git_blob_id((release_dir / path).read_bytes())
        if r.size != size or theirs != ours:
            problems[path] = (f"file {path} differs from the local build: the Hub lists {r.size} bytes "
                              f"({theirs[:12]}), the local file has {size} bytes ({ours[:12]})")
    return problems


def _start_worker(repo_id: str, revision: str, jobs: list[dict[str, Any]], token: str | None,
                  endpoint: str | None, home: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(HF_HOME=home, HF_DATASETS_CACHE=f"{home}/datasets", HF_HUB_DISABLE_TELEMETRY="1",
               HF_HUB_DISABLE_PROGRESS_BARS="1", HF_HUB_DISABLE_XET=os.environ.get("HF_HUB_DISABLE_XET", "0"))
    if endpoint or os.environ.get("HF_ENDPOINT"):
        env["HF_ENDPOINT"] = endpoint or os.environ["HF_ENDPOINT"]
    if token:
        env["HF_TOKEN"] = token  # env, not argv: argv is visible in `ps`
    with open(Path(home, "worker.stderr"), "w") as err:  # a file: a stderr pipe could fill up and block
        proc = subprocess.Popen([sys.executable, "-m", "curation.release.push", "--verify-worker"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, env=env,
                                cwd=str(Path(__file__).resolve().parents[2]))
    assert proc.stdin is not None
    proc.stdin.write(json.dumps({"repo_id": repo_id, "revision": revision, "jobs": jobs}))
    proc.stdin.close()
    proc.stdin = None  # communicate() must not touch the closed pipe
    return proc


def _verify_worker() -> None:
    """Child side of verify_release: check each config's files byte for byte, then load it and
    print rows + content hash as JSON."""
    spec = json.loads(sys.stdin.read())
    import datasets

    datasets.disable_progress_bars()
    token = os.environ.get("HF_TOKEN") or None
    file_errors: dict[str, str | None] = {}
    out = []
    for job in spec["jobs"]:
        r: dict[str, Any] = {"config": job["config"], "split": job["split"]}
        if job.get("skip"):
            r["error"] = job["skip"]
            out.append(r)
            continue
        for f in job["files"]:
            if f["path"] not in file_errors:
                file_errors[f["path"]] = _downloaded_file_error(spec["repo_id"], spec["revision"], f, token)
        bad = next((file_errors[f["path"]] for f in job["files"] if file_errors[f["path"]]), None)
        if bad:
            r["error"] = bad
            out.append(r)
            continue
        try:
            ds = datasets.load_dataset(spec["repo_id"], name=job["config"], split=job["split"],
                                       revision=spec["revision"], token=token)
            table = ds.data.table
            r["rows"], r["hash"] = hash_rows(b.to_pylist() for b in table.to_batches(max_chunksize=4096))
        except Exception as e:  # reported per config, the parent turns it into ReleasePushError
            r["error"] = _short(e)
        out.append(r)
    print(json.dumps(out), flush=True)


def _downloaded_file_error(repo_id: str, revision: str, f: dict[str, Any], token: str | None) -> str | None:
    """Download one file into this process's HF cache (where `datasets` then finds it) and compare
    its bytes with the local build; None when identical."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RemoteEntryNotFoundError

    path = f["path"]
    try:
        local_path = Path(hf_hub_download(repo_id, path, repo_type="dataset", revision=revision, token=token))
    except RemoteEntryNotFoundError:
        return f"file {path} of the local build is missing on the Hub at {revision[:12]}"
    except LocalEntryNotFoundError as e:  # the Hub did not answer the file's metadata request
        return f"downloading {path} failed: {_short(e.__cause__ or e)}"
    except HfHubHTTPError as e:
        return f"downloading {path} failed: {_short(e)}"
    except Exception as e:  # a body cut short, a size check, a timeout: the Hub did not serve it whole
        return f"file {path} differs from the local build: the Hub did not serve its {f['size']} bytes ({_short(e)[:300]})"
    size, sha = local_path.stat().st_size, _sha256(local_path)
    if size != f["size"] or sha != f["sha256"]:
        return (f"file {path} differs from the local build: the Hub served {size} bytes with sha256 {sha[:12]}, "
                f"the local file has {f['size']} bytes with sha256 {f['sha256'][:12]}")
    return None


if __name__ == "__main__":
    if sys.argv[1:] == ["--verify-worker"]:
        _verify_worker()
    else:
        raise SystemExit("internal entry point: python -m curation.release.push --verify-worker < spec.json")
