"""HTTP layer of the local Hub: routing on raw (still %-encoded) path segments, auth, errors.

Routing splits the raw path on "/" before decoding each segment, so a revision such as
`refs%2Fpr%2F1` stays one segment. Every request body is read before answering (even a 401),
otherwise a kept-alive connection desynchronises.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import mimetypes
import re
import secrets
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, unquote

import yaml

from curation.hubserver.admin import Admin, Fault
from curation.hubserver.storage import Commit, FileEntry, HubError, Repo, Store, git_blob_sha1, iso

API_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
LFS_EXTENSIONS = (".parquet", ".arrow", ".bin", ".safetensors", ".pt", ".gz", ".zip", ".zst", ".tar", ".npy")
LFS_MIN_SIZE = 10 * 1024 * 1024
MAX_BODY = 512 * 1024 * 1024
BAD_TOKEN = "Invalid credentials in Authorization header"


class HubServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], store: Store, admin: Admin, tree_page_size: int = 1000) -> None:
        super().__init__(addr, Handler)
        self.store = store
        self.admin = admin
        self.tree_page_size = tree_page_size
        self.lfs_secret = secrets.token_bytes(16)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _ChunkedReader(io.RawIOBase):
    """Decodes a `Transfer-Encoding: chunked` request body (httpx streams file uploads this way)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.left = 0
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self.done:
            return 0
        if self.left == 0:
            line = self.raw.readline(65537).split(b";")[0].strip()
            self.left = int(line or b"0", 16)
            if self.left == 0:
                while self.raw.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self.done = True
                return 0
        data = self.raw.read(min(len(b), self.left))
        if not data:
            raise HubError(400, "Truncated chunked body", "BadRequest")
        n = len(data)
        b[:n] = data
        self.left -= n
        if self.left == 0:
            self.raw.readline(3)  # CRLF after chunk
        return n


class Handler(BaseHTTPRequestHandler):
    server: HubServer
    protocol_version = "HTTP/1.1"
    timeout = 120

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # the request log is served at /_admin/log; tokens never reach stderr

    # ---- plumbing ----
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _body_stream(self) -> tuple[BinaryIO, int | None]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return io.BufferedReader(_ChunkedReader(self.rfile)), None
        return self.rfile, int(self.headers.get("Content-Length") or 0)

    def _read_body(self) -> bytes:
        stream, length = self._body_stream()
        if length is None:
            data = stream.read(MAX_BODY + 1)
        else:
            if length > MAX_BODY:
                raise HubError(413, "Request body too large", "BadRequest")
            data = stream.read(length)
        if len(data) > MAX_BODY:
            raise HubError(413, "Request body too large", "BadRequest")
        return data

    def _dispatch(self, method: str) -> None:
        self.method = method
        raw_path, _, self.query_string = self.path.partition("?")
        self.raw_path = raw_path
        self.query = parse_qs(self.query_string)
        self.user: str | None = None
        self.status = 0
        self.fault_hit = False
        self.body = b""
        admin = self.server.admin
        is_admin = raw_path.startswith("/_admin/")
        is_lfs_put = method == "PUT" and raw_path.startswith("/_lfs/")
        try:
            if not is_lfs_put:
                self.body = self._read_body()
            fault = None if is_admin else admin.take_fault(method, raw_path)
            if fault and fault.mode == "before":
                if is_lfs_put:
                    self._read_body()
                self._send_fault(fault)
            else:
                if not is_admin:
                    self._authenticate()
                self._route(method, [unquote(s) for s in raw_path.split("/")[1:]], fault)
        except HubError as e:
            self._send_error(e)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as e:  # a server bug must still answer, not hang the client
            self._send_error(HubError(500, f"Internal error: {type(e).__name__}: {e}"[:300], "InternalError"))
        if not is_admin:
            admin.record(method, raw_path, self.query_string, self.status, self.user, self.fault_hit)

    def _authenticate(self) -> None:
        auth = self.headers.get("Authorization", "")
        if not auth:
            return
        scheme, _, token = auth.partition(" ")
        user = self.server.admin.users.get(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise HubError(401, BAD_TOKEN)
        self.user = user

    def _base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{self.headers.get('Host') or f'{host}:{port}'}"

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.method != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _send_error(self, e: HubError) -> None:
        headers = {"X-Error-Message": e.message.encode("ascii", "replace").decode()}
        code = e.code or ("NotFound" if e.status == 404 else None)
        if code:
            headers["X-Error-Code"] = code
        self._json({"error": e.message}, e.status, headers)

    def _send_fault(self, fault: Fault) -> None:
        self.fault_hit = True
        headers = {"X-Error-Message": fault.message}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(int(fault.retry_after)) if float(fault.retry_after).is_integer() \
                else str(fault.retry_after)
        if fault.status == 404:
            headers["X-Error-Code"] = "EntryNotFound"
        self._json({"error": fault.message}, fault.status, headers)

    def _json_body(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError as e:
            raise HubError(400, "Request body is not valid JSON", "BadRequest") from e

    # ---- routing ----
    def _route(self, method: str, segs: list[str], fault: Fault | None) -> None:
        head = segs[0] if segs else ""
        if head == "_admin":
            return self._admin(method, segs[1:])
        if head == "_lfs" and method == "PUT" and len(segs) == 2:
            return self._finish(fault, self._lfs_put, segs[1])
        if head == "api":
            return self._finish(fault, self._api, method, segs[1:])
        repo_type, rest = ("model", segs)
        if head in ("datasets", "spaces"):
            repo_type, rest = API_TYPES[head], segs[1:]
        if len(rest) >= 6 and rest[1].endswith(".git") and rest[2:] == ["info", "lfs", "objects", "batch"] \
                and method == "POST":
            return self._finish(fault, self._lfs_batch, repo_type, f"{rest[0]}/{rest[1][:-4]}")
        if len(rest) >= 4 and rest[2] == "resolve" and method in ("GET", "HEAD"):
            rev, path = _split_rev(rest[3:])
            return self._finish(fault, self._resolve, repo_type, f"{rest[0]}/{rest[1]}", rev, "/".join(path))
        raise HubError(404, f"Route not found: {method} {self.raw_path}", "RouteNotFound")

    def _finish(self, fault: Fault | None, fn: Any, *args: Any) -> None:
        """Run a handler; with an "after" fault, run it and then answer the fault instead."""
        if fault is None:
            return fn(*args)
        real_send = self._send
        self._send = lambda *a, **k: None  # type: ignore[method-assign]
        try:
            fn(*args)
        except HubError:
            pass
        finally:
            self._send = real_send  # type: ignore[method-assign]
        self._send_fault(fault)

    def _admin(self, method: str, segs: list[str]) -> None:
        admin = self.server.admin
        if segs == ["health"]:
            return self._json({"ok": True})
        if segs == ["log"] and method == "GET":
            with admin.lock:
                return self._json(list(admin.log))
        if segs == ["log"] and method == "DELETE":
            with admin.lock:
                admin.log.clear()
            return self._json({"ok": True})
        if segs == ["faults"] and method == "POST":
            body = self._json_body()
            try:
                faults = [Fault.from_json(d) for d in (body if isinstance(body, list) else [body])]
            except (KeyError, ValueError, re.error) as e:
                raise HubError(400, f"Bad fault: {e}", "BadRequest") from e
            with admin.lock:
                admin.faults.extend(faults)
            return self._json({"ok": True, "faults": len(admin.faults)})
        if segs == ["faults"] and method == "DELETE":
            with admin.lock:
                admin.faults.clear()
            return self._json({"ok": True})
        if segs == ["faults"] and method == "GET":
            with admin.lock:
                return self._json([f.__dict__ for f in admin.faults])
        raise HubError(404, "Unknown admin route", "RouteNotFound")

    def _api(self, method: str, segs: list[str]) -> None:
        if segs == ["whoami-v2"] and method == "GET":
            return self._whoami()
        if segs == ["repos", "create"] and method == "POST":
            return self._create_repo()
        if segs == ["repos", "delete"] and method == "DELETE":
            return self._delete_repo()
        if segs == ["validate-yaml"] and method == "POST":
            return self._validate_yaml()
        if len(segs) >= 3 and segs[0] in API_TYPES:
            repo_type, repo_id, rest = API_TYPES[segs[0]], f"{segs[1]}/{segs[2]}", segs[3:]
            return self._repo_api(method, repo_type, repo_id, rest)
        raise HubError(404, f"Route not found: {method} {self.raw_path}", "RouteNotFound")

    def _repo_api(self, method: str, repo_type: str, repo_id: str, rest: list[str]) -> None:
        action = rest[0] if rest else ""
        if method == "GET" and not rest:
            return self._repo_info(repo_type, repo_id, "main")
        if method == "GET" and action == "revision" and len(rest) >= 2:
            return self._repo_info(repo_type, repo_id, _split_rev(rest[1:])[0])
        if method == "GET" and action == "tree" and len(rest) >= 2:
            rev, path = _split_rev(rest[1:])
            return self._tree(repo_type, repo_id, rev, "/".join(path))
        if method == "POST" and action == "paths-info" and len(rest) >= 2:
            return self._paths_info(repo_type, repo_id, _split_rev(rest[1:])[0])
        if method == "POST" and action == "preupload" and len(rest) >= 2:
            return self._preupload(repo_type, repo_id, _split_rev(rest[1:])[0])
        if method == "POST" and action == "commit" and len(rest) >= 2:
            return self._commit(repo_type, repo_id, _split_rev(rest[1:])[0])
        if method == "GET" and action == "commits" and len(rest) >= 2:
            return self._commits(repo_type, repo_id, _split_rev(rest[1:])[0])
        if method == "GET" and action == "refs":
            return self._refs(repo_type, repo_id)
        if action == "tag" and len(rest) >= 2 and method in ("POST", "DELETE"):
            return self._tag(method, repo_type, repo_id, _split_rev(rest[1:])[0])
        if action == "branch" and len(rest) >= 2 and method in ("POST", "DELETE"):
            return self._branch(method, repo_type, repo_id, _split_rev(rest[1:])[0])
        if action in ("xet-write-token", "xet-read-token"):
            raise HubError(404, "This local Hub speaks git-LFS only: set HF_HUB_DISABLE_XET=1 in the client",
                           "XetNotSupported")
        if action == "settings" and method == "PUT":
            return self._settings(repo_type, repo_id)
        raise HubError(404, f"Route not found: {method} {self.raw_path}", "RouteNotFound")

    # ---- access ----
    def _get_repo(self, repo_type: str, repo_id: str, write: bool = False) -> Repo:
        store, admin = self.server.store, self.server.admin
        repo = store.repos.get((repo_type, repo_id))
        visible = repo is not None and (not repo.private or admin.can_write(self.user, repo.namespace))
        if not visible:
            status = 401 if self.user is None else 404
            raise HubError(status, "Repository not found", "RepoNotFound")
        assert repo is not None
        if write and not admin.can_write(self.user, repo.namespace):
            if self.user is None:
                raise HubError(401, "You must be authenticated to write to this repository", "Unauthorized")
            raise HubError(403, f"You don't have the rights to write to {repo_id}", "Forbidden")
        return repo

    def _commit_at(self, repo: Repo, rev: str) -> Commit:
        return self.server.store.get_commit(repo, self.server.store.resolve(repo, rev))

    # ---- handlers ----
    def _whoami(self) -> None:
        if self.user is None:
            raise HubError(401, "Invalid user token. Make sure you are logged in.", "Unauthorized")
        orgs = [{"name": o, "type": "org"} for o, m in self.server.admin.orgs.items() if self.user in m]
        self._json({
            "type": "user", "id": self.user, "name": self.user, "fullname": self.user, "orgs": orgs,
            "auth": {"type": "access_token", "accessToken": {"displayName": "local", "role": "write"}},
        })

    def _create_repo(self) -> None:
        body = self._json_body()
        if self.user is None:
            raise HubError(401, "You must be authenticated to create a repository", "Unauthorized")
        repo_type = body.get("type") or "model"
        if repo_type not in URL_PREFIX:
            raise HubError(400, f"Invalid repo type: {repo_type}", "BadRequest")
        name, namespace = body.get("name"), body.get("organization") or self.user
        if not name or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}", name) or "/" in namespace:
            raise HubError(400, "Invalid repository name", "BadRequest")
        if not self.server.admin.claim_namespace(self.user, namespace):
            raise HubError(403, f"You don't have the rights to create a repo under {namespace}", "Forbidden")
        private = bool(body.get("private")) or body.get("visibility") == "private"
        repo = self.server.store.create_repo(repo_type, f"{namespace}/{name}", private, self.user)
        self._json({"url": f"{self._base_url()}/{URL_PREFIX[repo_type]}{repo.repo_id}", "name": repo.repo_id,
                    "id": repo.repo_id})

    def _delete_repo(self) -> None:
        body = self._json_body()
        repo_id = f"{body.get('organization') or self.user}/{body.get('name')}"
        repo = self._get_repo(body.get("type") or "model", repo_id, write=True)
        self.server.store.delete_repo(repo)
        self._json({})

    def _validate_yaml(self) -> None:
        content = self._json_body().get("content", "")
        try:
            _front_matter(content)
        except yaml.YAMLError as e:
            return self._json({"errors": [{"message": f"Invalid YAML: {e}"[:500]}]}, 400)
        self._json({"errors": [], "warnings": []})

    def _settings(self, repo_type: str, repo_id: str) -> None:
        repo = self._get_repo(repo_type, repo_id, write=True)
        body = self._json_body()
        with self.server.store.lock:
            if "private" in body:
                repo.private = bool(body["private"])
            self.server.store.save_repo(repo)
        self._json({"private": repo.private})

    def _repo_info(self, repo_type: str, repo_id: str, rev: str) -> None:
        repo = self._get_repo(repo_type, repo_id)
        commit = self._commit_at(repo, rev)
        blobs = self.query.get("blobs", ["false"])[0].lower() == "true"
        siblings = []
        for path, e in sorted(commit.files.items()):
            s: dict[str, Any] = {"rfilename": path}
            if blobs:
                s.update(size=e.size, blobId=e.blob_id)
                if e.lfs:
                    s["lfs"] = {"sha256": e.sha256, "size": e.size, "pointerSize": len(e.pointer())}
            siblings.append(s)
        card = self._card_data(commit)
        info = {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24], "id": repo.repo_id,
            "author": repo.namespace, "sha": commit.sha, "lastModified": iso(commit.date),
            "createdAt": iso(repo.created_at), "private": repo.private, "gated": False, "disabled": False,
            "downloads": 0, "likes": 0, "tags": [], "siblings": siblings,
            "usedStorage": sum(e.size for e in commit.files.values()),
        }
        if repo_type == "model":
            info["modelId"] = repo.repo_id
        if card is not None:
            info["cardData"] = card
        self._json(info)

    def _card_data(self, commit: Commit) -> dict[str, Any] | None:
        entry = commit.files.get("README.md")
        if entry is None:
            return None
        try:
            return _front_matter(self.server.store.blob_path(entry.sha256).read_text("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            return None

    def _entry_json(self, repo: Repo, commit: Commit, path: str, expand: bool) -> dict[str, Any]:
        e = commit.files.get(path)
        if e is not None:
            d: dict[str, Any] = {"type": "file", "oid": e.blob_id, "size": e.size, "path": path}
            if e.lfs:
                d["lfs"] = {"oid": e.sha256, "size": e.size, "pointerSize": len(e.pointer())}
        else:
            d = {"type": "directory", "oid": _tree_id(commit, path), "size": 0, "path": path}
        if expand:
            last = _last_commit_touching(self.server.store, repo, commit, path)
            d["lastCommit"] = {"id": last.sha, "title": last.title, "date": iso(last.date)}
        return d

    def _tree(self, repo_type: str, repo_id: str, rev: str, path: str) -> None:
        repo = self._get_repo(repo_type, repo_id)
        commit = self._commit_at(repo, rev)
        path = path.strip("/")
        recursive = self.query.get("recursive", ["false"])[0].lower() in ("true", "1")
        expand = self.query.get("expand", ["false"])[0].lower() in ("true", "1")
        prefix = f"{path}/" if path else ""
        if path and (path in commit.files or not any(p.startswith(prefix) for p in commit.files)):
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        children: set[str] = set()
        for p in commit.files:
            if not p.startswith(prefix):
                continue
            parts = p[len(prefix):].split("/")
            depth = len(parts) if recursive else 1
            for i in range(1, min(depth, len(parts)) + 1):
                children.add(prefix + "/".join(parts[:i]))
        ordered = sorted(children, key=lambda p: (p in commit.files, p))
        page = self.server.tree_page_size if not expand else min(50, self.server.tree_page_size)
        start = int(self.query.get("cursor", ["0"])[0] or 0)
        items = [self._entry_json(repo, commit, p, expand) for p in ordered[start:start + page]]
        headers = {}
        if start + page < len(ordered):
            q = f"recursive={str(recursive).lower()}&expand={str(expand).lower()}&cursor={start + page}"
            headers["Link"] = f'<{self._base_url()}{self.raw_path}?{q}>; rel="next"'
        self._json(items, headers=headers)

    def _paths_info(self, repo_type: str, repo_id: str, rev: str) -> None:
        repo = self._get_repo(repo_type, repo_id)
        commit = self._commit_at(repo, rev)
        if self.headers.get("Content-Type", "").startswith("application/json"):
            body = self._json_body()
            paths, expand = body.get("paths", []), bool(body.get("expand"))
        else:
            form = parse_qs(self.body.decode())
            paths, expand = form.get("paths", []), form.get("expand", ["False"])[0].lower() == "true"
        out = []
        for p in paths if isinstance(paths, list) else [paths]:
            p = p.strip("/")
            if p in commit.files or any(f.startswith(p + "/") for f in commit.files):
                out.append(self._entry_json(repo, commit, p, expand))
        self._json(out)

    def _preupload(self, repo_type: str, repo_id: str, rev: str) -> None:
        repo = self._get_repo(repo_type, repo_id, write=True)
        files = self._json_body().get("files", [])
        try:
            commit: Commit | None = self._commit_at(repo, rev)
        except HubError:
            commit = None  # a PR or branch about to be created: nothing to compare against
        out = []
        for f in files:
            sample = base64.b64decode(f.get("sample", ""))
            lfs = f["path"].lower().endswith(LFS_EXTENSIONS) or int(f.get("size", 0)) >= LFS_MIN_SIZE \
                or b"\0" in sample
            entry = commit.files.get(f["path"]) if commit else None
            oid = None if entry is None else (entry.sha256 if entry.lfs else entry.regular_oid)
            out.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                        "oid": oid})
        self._json({"files": out, "commitOid": commit.sha if commit else None})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        repo = self._get_repo(repo_type, repo_id, write=True)
        body = self._json_body()
        if body.get("operation") != "upload":
            raise HubError(400, "Only the upload operation is supported", "BadRequest")
        objects = []
        for obj in body.get("objects", []):
            oid, size = str(obj["oid"]), int(obj["size"])
            o: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            if not re.fullmatch(r"[0-9a-f]{64}", oid):
                o["error"] = {"code": 422, "message": "Invalid oid"}
            elif not self.server.store.has_blob(oid):
                ticket = hmac.new(self.server.lfs_secret, f"{oid}:{size}".encode(), "sha256").hexdigest()
                o["actions"] = {"upload": {"href": f"{self._base_url()}/_lfs/{oid}?size={size}&t={ticket}",
                                           "expires_in": 3600}}
            objects.append(o)
        del repo
        self._send(200, json.dumps({"transfer": "basic", "objects": objects}).encode(),
                   content_type="application/vnd.git-lfs+json")

    def _lfs_put(self, oid: str) -> None:
        size = int(self.query.get("size", ["-1"])[0])
        ticket = hmac.new(self.server.lfs_secret, f"{oid}:{size}".encode(), "sha256").hexdigest()
        if not hmac.compare_digest(ticket, self.query.get("t", [""])[0]):
            self._read_body()
            raise HubError(403, "Invalid or expired upload ticket", "Forbidden")
        stream, length = self._body_stream()
        if length is not None and length != size:
            self._read_body()
            raise HubError(400, "Content-Length does not match the announced size", "BadRequest")
        self.server.store.put_blob_stream(stream, length, oid)
        self._send(200, b"", content_type="text/plain")

    def _commit(self, repo_type: str, repo_id: str, rev: str) -> None:
        store = self.server.store
        repo = self._get_repo(repo_type, repo_id, write=True)
        header: dict[str, Any] = {}
        ops: list[tuple[str, dict[str, Any]]] = []
        for line in self.body.splitlines():
            if line.strip():
                item = json.loads(line)
                if item["key"] == "header":
                    header = item["value"]
                else:
                    ops.append((item["key"], item["value"]))
        create_pr = self.query.get("create_pr", ["0"])[0] in ("1", "true", "True")
        parent = header.get("parentCommit")
        with store.lock:
            if create_pr:
                base_sha = store.resolve(repo, parent or rev)
            else:
                if rev not in repo.branches:
                    store.resolve(repo, rev)  # 404 RevisionNotFound if it does not exist at all
                    raise HubError(400, f"Invalid rev id: {rev} is not a branch", "BadRequest")
                base_sha = repo.branches[rev]
                if parent and parent != base_sha:
                    raise HubError(412, "A commit has happened since. Please refresh and try again.",
                                   "PreconditionFailed")
            files = dict(store.get_commit(repo, base_sha).files)
            for key, value in ops:
                _apply_op(store, files, key, value)
            commit = store.write_commit(repo, [base_sha], header.get("summary") or "Update",
                                        header.get("description") or "", self.user or "anonymous", files)
            pr_url = None
            if create_pr:
                repo.pr_count += 1
                repo.branches[f"refs/pr/{repo.pr_count}"] = commit.sha
                pr_url = f"{self._base_url()}/{URL_PREFIX[repo_type]}{repo_id}/discussions/{repo.pr_count}"
            else:
                repo.branches[rev] = commit.sha
            store.save_repo(repo)
        self._json({
            "success": True, "commitOid": commit.sha, "hookOutput": "",
            "commitUrl": f"{self._base_url()}/{URL_PREFIX[repo_type]}{repo_id}/commit/{commit.sha}",
            "pullRequestUrl": pr_url,
        })

    def _commits(self, repo_type: str, repo_id: str, rev: str) -> None:
        repo = self._get_repo(repo_type, repo_id)
        commit: Commit | None = self._commit_at(repo, rev)
        out = []
        while commit is not None:
            out.append({"id": commit.sha, "title": commit.title, "message": commit.message,
                        "authors": [{"user": commit.author}], "date": iso(commit.date)})
            commit = self.server.store.get_commit(repo, commit.parents[0]) if commit.parents else None
        self._json(out)

    def _refs(self, repo_type: str, repo_id: str) -> None:
        repo = self._get_repo(repo_type, repo_id)

        def refs(d: dict[str, str], kind: str) -> list[dict[str, str]]:
            return [{"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": s} for n, s in sorted(d.items())]

        branches = {n: s for n, s in repo.branches.items() if not n.startswith("refs/pr/")}
        prs = [{"name": n, "ref": n, "targetCommit": s} for n, s in sorted(repo.branches.items())
               if n.startswith("refs/pr/")]
        include_prs = self.query.get("include_prs", ["0"])[0] in ("1", "true")
        self._json({"branches": refs(branches, "heads"), "converts": [], "tags": refs(repo.tags, "tags"),
                    "pullRequests": prs if include_prs else None})

    def _tag(self, method: str, repo_type: str, repo_id: str, rev_or_tag: str) -> None:
        store = self.server.store
        repo = self._get_repo(repo_type, repo_id, write=True)
        with store.lock:
            if method == "DELETE":
                if rev_or_tag not in repo.tags:
                    raise HubError(404, f"Tag {rev_or_tag} not found", "RevisionNotFound")
                del repo.tags[rev_or_tag]
            else:
                body = self._json_body()
                tag = str(body.get("tag", ""))
                if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}", tag) or ".." in tag:
                    raise HubError(400, f"Invalid tag name: {tag!r}", "BadRequest")
                sha = store.resolve(repo, rev_or_tag)
                if tag in repo.tags:
                    raise HubError(409, f"Tag {tag} already exists (points at {repo.tags[tag]})", "Conflict")
                repo.tags[tag] = sha
            store.save_repo(repo)
        self._json({})

    def _branch(self, method: str, repo_type: str, repo_id: str, branch: str) -> None:
        store = self.server.store
        repo = self._get_repo(repo_type, repo_id, write=True)
        with store.lock:
            if method == "DELETE":
                if branch not in repo.branches or branch == "main":
                    raise HubError(404 if branch != "main" else 403, f"Cannot delete branch {branch}",
                                   "RevisionNotFound" if branch != "main" else "Forbidden")
                del repo.branches[branch]
            else:
                if branch in repo.branches:
                    raise HubError(409, f"Branch {branch} already exists", "Conflict")
                start = self._json_body().get("startingPoint") or "main"
                repo.branches[branch] = store.resolve(repo, start)
            store.save_repo(repo)
        self._json({})

    def _resolve(self, repo_type: str, repo_id: str, rev: str, path: str) -> None:
        repo = self._get_repo(repo_type, repo_id)
        commit = self._commit_at(repo, rev)
        entry = commit.files.get(path)
        if entry is None:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        etag = entry.sha256 if entry.lfs else entry.regular_oid
        headers = {"X-Repo-Commit": commit.sha, "ETag": f'"{etag}"', "Accept-Ranges": "bytes",
                   "Cache-Control": "private, max-age=0"}
        if entry.lfs:
            headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(entry.size)})
        start, end = 0, entry.size - 1
        status = 200
        rng = self.headers.get("Range")
        if rng:
            parsed = _parse_range(rng, entry.size)
            if parsed is None:
                headers["Content-Range"] = f"bytes */{entry.size}"
                raise_416 = HubError(416, "Requested range not satisfiable", "RangeNotSatisfiable")
                self._json({"error": raise_416.message}, 416,
                           {**headers, "X-Error-Message": raise_416.message, "X-Error-Code": raise_416.code or ""})
                return
            start, end = parsed
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
        length = max(0, end - start + 1)
        ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if ctype.startswith("text/") or path.endswith((".md", ".json", ".yaml", ".yml")):
            ctype += "; charset=utf-8"
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.method == "HEAD" or length == 0:
            return
        with open(self.server.store.blob_path(entry.sha256), "rb") as f:
            f.seek(start)
            left = length
            while left > 0:
                chunk = f.read(min(1 << 20, left))
                if not chunk:
                    # The stored blob is shorter than its record (damaged on disk): end the
                    # connection, as a real server does, instead of leaving the client waiting.
                    self.close_connection = True
                    break
                self.wfile.write(chunk)
                left -= len(chunk)


# ---- helpers ----
def _split_rev(segs: list[str]) -> tuple[str, list[str]]:
    """First segment(s) are the revision; tolerate an unencoded `refs/pr/1` spread over 3 segments."""
    if len(segs) >= 3 and segs[0] == "refs" and segs[1] in ("pr", "heads", "tags", "convert"):
        return "/".join(segs[:3]), segs[3:]
    return segs[0], segs[1:]


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if not m or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):
        n = int(m.group(2))
        if n == 0:
            return None
        return max(0, size - n), size - 1
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


def _front_matter(content: str) -> dict[str, Any] | None:
    if not content.startswith("---"):
        return None
    parts = content.split("\n---", 1)
    if len(parts) < 2:
        return None
    data = yaml.safe_load(parts[0][3:])
    return data if isinstance(data, dict) else None


def _check_path(path: str) -> str:
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in path.split("/")) \
            or path.startswith(".git/"):
        raise HubError(400, f"Invalid path in repo: {path!r}", "BadRequest")
    return path


def _apply_op(store: Store, files: dict[str, FileEntry], key: str, value: dict[str, Any]) -> None:
    if key == "file":
        data = base64.b64decode(value["content"]) if value.get("encoding", "base64") == "base64" \
            else value["content"].encode()
        sha = store.put_blob_bytes(data)
        files[_check_path(value["path"])] = FileEntry(sha, len(data), False, git_blob_sha1(data))
    elif key == "lfsFile":
        oid, size = value["oid"], int(value["size"])
        if not store.has_blob(oid) or store.blob_path(oid).stat().st_size != size:
            raise HubError(422, f"LFS object {oid} was not uploaded (or has another size)", "LfsObjectMissing")
        files[_check_path(value["path"])] = FileEntry(oid, size, True)
    elif key == "deletedFile":
        if value["path"] not in files:
            raise HubError(404, f"A file with this name doesn't exist: {value['path']}", "EntryNotFound")
        del files[value["path"]]
    elif key == "deletedFolder":
        prefix = value["path"].rstrip("/") + "/"
        doomed = [p for p in files if p.startswith(prefix)]
        if not doomed:
            raise HubError(404, f"A folder with this name doesn't exist: {value['path']}", "EntryNotFound")
        for p in doomed:
            del files[p]
    else:
        raise HubError(400, f"Unknown commit operation: {key}", "BadRequest")


def _tree_id(commit: Commit, path: str) -> str:
    prefix = path + "/"
    items = sorted((p, e.blob_id) for p, e in commit.files.items() if p.startswith(prefix))
    return hashlib.sha1(json.dumps(items).encode()).hexdigest()


def _last_commit_touching(store: Store, repo: Repo, commit: Commit, path: str) -> Commit:
    def key(c: Commit) -> str:
        e = c.files.get(path)
        return e.blob_id if e is not None else _tree_id(c, path)

    current, k = commit, key(commit)
    for _ in range(200):
        if not current.parents:
            break
        parent = store.get_commit(repo, current.parents[0])
        if key(parent) != k:
            break
        current = parent
    return current


def make_server(data_dir: Path, host: str, port: int, users: dict[str, str],
                orgs: dict[str, set[str]] | None = None, tree_page_size: int = 1000) -> HubServer:
    admin = Admin(users=dict(users), orgs={k: set(v) for k, v in (orgs or {}).items()})
    return HubServer((host, port), Store(data_dir), admin, tree_page_size=tree_page_size)

