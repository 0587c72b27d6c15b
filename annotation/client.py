"""A thin, retrying client for the Label Studio REST API (httpx + tenacity).

Why not label-studio-sdk's client: it does not tell a wrong URL from a wrong key, its task pager
builds a Pydantic object per task (slow at 50k), and its default retries (on 429/5xx) would
re-send imports, which are not idempotent on the server: a retry after a lost response would
duplicate tasks. So every call goes through `Client.call` with one tenacity policy, and calls
that create things (project, import, prediction, export) are sent once (`retry=False`; push
recovers from a failed import itself, see sync.py). The SDK is still used for labeling configs.
The API key (and the access token derived from it) never appears in messages, reprs or logs:
server answers are scrubbed with schemas.redact before they reach an error.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from tenacity import (
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_exponential_jitter,
)

from schemas.redact import redact_text, redact_url

T = TypeVar("T")
ENV_URL = ("CQIA_LS_URL", "LABEL_STUDIO_URL")
ENV_KEY = ("CQIA_LS_API_KEY", "LABEL_STUDIO_API_KEY")



RESTART_WINDOW_S = 90.0  # how long retryable calls keep trying a server that answered before

class LSError(RuntimeError):
    """Any Label Studio failure with a message fit for a user (no secrets)."""


class WrongURLError(LSError):
    pass


class AuthError(LSError):
    pass


class TransientError(LSError):
    """Timeout, connection drop or 5xx: worth retrying."""


def config_file() -> Path:
    env = os.environ.get("CQIA_LS_CONFIG")
    return Path(env) if env else Path.home() / ".config" / "cqia" / "label-studio.json"


@dataclass(frozen=True)
class Connection:
    url: str
    api_key: str

    def __repr__(self) -> str:
        return f"Connection(url={redact_url(self.url)!r}, api_key=***)"

    def save(self, path: Path | None = None) -> Path:
        path = path or config_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"url": self.url, "api_key": self.api_key}))
        path.chmod(0o600)
        return path


def resolve_connection() -> Connection:
    """URL and key from the environment (CQIA_LS_URL/CQIA_LS_API_KEY), else the config file
    that `cqia annotate serve` writes (CQIA_LS_CONFIG or ~/.config/cqia/label-studio.json)."""
    url = next((os.environ[k] for k in ENV_URL if os.environ.get(k)), None)
    key = next((os.environ[k] for k in ENV_KEY if os.environ.get(k)), None)
    path = config_file()
    if (not url or not key) and path.exists():
        saved = json.loads(path.read_text())
        url, key = url or saved.get("url"), key or saved.get("api_key")
    if not url or not key:
        raise LSError(
            "no Label Studio connection: set CQIA_LS_URL and CQIA_LS_API_KEY, or start one with "
            f"`cqia annotate serve` (it writes {path})"
        )
    return Connection(url.rstrip("/"), key)


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])) if "@" in parts.netloc else url


def _is_jwt(key: str) -> bool:
    return key.count(".") == 2 and key.startswith("ey")


class Client:
    """Label Studio access with timeouts, retries (exponential backoff) and clear errors."""

    def __init__(self, conn: Connection, *, retries: int = 5, backoff: float = 0.5, timeout: float = 600.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.conn, self.retries, self.backoff, self.sleep = conn, retries, backoff, sleep
        # What messages may show, and what is called: without `user:pass@`, which httpx would send
        # as `Authorization: Basic …` in place of the API key (every call then fails with 401).
        self.url = redact_url(conn.url)
        # No keep-alive: Django's dev server adds ~45 ms per request on kept-alive connections.
        limits = httpx.Limits(max_keepalive_connections=0)
        self.http = httpx.Client(base_url=_without_userinfo(conn.url), timeout=timeout, limits=limits)
        self._auth: dict[str, str] | None = None
        self._seen_up = False

    def __repr__(self) -> str:
        return f"Client(url={self.url!r}, api_key=***)"

    def _scrub(self, text: str) -> str:
        """A server answer or exception text without the key or the access token made from it."""
        auth = (self._auth or {}).get("Authorization", "").partition(" ")[2]
        return redact_text(text, [self.conn.api_key, auth])

    # -- errors and retries -------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        if self._auth is None:
            if _is_jwt(self.conn.api_key):
                response = self.http.post("/api/token/refresh", json={"refresh": self.conn.api_key})
                if response.status_code != 200:
                    raise AuthError(f"Label Studio at {self.url} rejected the personal access token "
                                    f"(HTTP {response.status_code}); check CQIA_LS_API_KEY")
                self._auth = {"Authorization": f"Bearer {response.json()['access']}"}
            else:
                self._auth = {"Authorization": f"Token {self.conn.api_key}"}
        return self._auth

    def _classify(self, exc: BaseException) -> LSError:
        if isinstance(exc, LSError):
            return exc
        if isinstance(exc, httpx.ConnectError):
            return WrongURLError(f"cannot connect to Label Studio at {self.url} ({type(exc).__name__}); "
                                 "check CQIA_LS_URL and that the server is running")
        if isinstance(exc, httpx.TimeoutException | httpx.TransportError):
            return TransientError(f"Label Studio at {self.url}: {type(exc).__name__}")
        return LSError(self._scrub(f"Label Studio at {self.url}: {type(exc).__name__}: {exc}"))

    def _status_error(self, status: int, body: str) -> LSError:
        if status in (401, 403):
            return AuthError(f"Label Studio at {self.url} rejected the API key (HTTP {status}); "
                             "check CQIA_LS_API_KEY (the URL is fine)")
        if status == 404:
            return WrongURLError(f"{self.url} answered 404: not a Label Studio API root or the "
                                 "object is gone; check CQIA_LS_URL")
        if status == 429 or status >= 500:
            return TransientError(f"Label Studio at {self.url} answered HTTP {status}")
        return LSError(f"Label Studio at {self.url} answered HTTP {status}: {self._scrub(body)}")

    def _retryable(self, exc: BaseException) -> bool:
        error = self._classify(exc)
        # A URL that answered before is not wrong: the server is restarting, so retry.
        return isinstance(error, TransientError) or (
            isinstance(error, WrongURLError) and self._seen_up and "cannot connect" in str(error))

    def call(self, fn: Callable[[], T], *, what: str, retry: bool = True) -> T:
        """Run `fn`; transient failures are retried with exponential backoff when `retry`.

        The Label Studio policy: up to `retries` retries of timeouts, dropped connections, 429/5xx
        and "cannot connect" once the server has answered, waiting `backoff * 2**n` (+ jitter, at
        most 30 s), for at least RESTART_WINDOW_S seconds. `retry=False` for calls that must never be sent
        twice (imports, creations).
        """
        # At least `retries` retries and, for a server seen up that is restarting, at least
        # RESTART_WINDOW_S seconds of them (a restart on a loaded machine takes longer than 5 quick tries).
        stop = (stop_after_attempt(self.retries + 1) & stop_after_delay(RESTART_WINDOW_S)) if retry \
            else stop_after_attempt(1)
        policy = Retrying(
            stop=stop,
            retry=retry_if_exception(self._retryable),
            wait=wait_exponential_jitter(multiplier=self.backoff, max=30.0, jitter=self.backoff / 2),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return policy(fn)
        except Exception as exc:  # noqa: BLE001 - classified right here
            error = self._classify(exc)
            raise type(error)(f"{what}: {error}") from None

    def request(self, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> Any:
        headers = {**self._headers(), **kwargs.pop("headers", {})}

        def go() -> Any:
            response = self.http.request(method, path, headers=headers, **kwargs)
            if response.status_code >= 400:
                raise self._status_error(response.status_code, response.text[:300])
            return orjson.loads(response.content) if response.content else None

        return self.call(go, what=f"{method} {path}", retry=retry)

    def check(self) -> dict[str, Any]:
        """Who am I: the first call every command makes, so URL/key mistakes surface at once."""
        try:
            response = self.http.get("/api/current-user/whoami", headers=self._headers(), timeout=20)
        except httpx.HTTPError as exc:
            raise self._classify(exc) from None
        if response.status_code in (401, 403):
            raise self._status_error(response.status_code, "")
        if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
            raise WrongURLError(f"{self.url} is not a Label Studio server (GET /api/current-user/whoami "
                                f"answered HTTP {response.status_code}); check CQIA_LS_URL")
        self._seen_up = True
        return response.json()

    def wait_until_up(self, timeout: float = 120.0) -> None:
        """After a connection failure: poll until the server answers again (restart mid-push)."""
        Retrying(
            stop=stop_after_delay(timeout),
            retry=retry_if_exception_type((WrongURLError, TransientError)),
            wait=wait_exponential(multiplier=self.backoff, max=10.0),
            sleep=self.sleep,
            reraise=True,
        )(self.check)

    # -- projects -------------------------------------------------------------------------------
    def find_project(self, title: str) -> dict[str, Any] | None:
        page = 1
        while True:
            body = self.request("GET", "/api/projects", params={"page": page, "page_size": 100, "title": title})
            results = body["results"] if isinstance(body, dict) else body
            for project in results:
                if project["title"] == title:
                    return project
            if not isinstance(body, dict) or not body.get("next"):
                return None
            page += 1

    def ensure_project(self, title: str, label_config: str, **settings: Any) -> tuple[dict[str, Any], bool]:
        """(project, created): reuse the project with this exact title or create it."""
        project = self.find_project(title)
        if project is not None:
            changed = {k: v for k, v in settings.items() if project.get(k) != v}
            if changed:
                project = self.request("PATCH", f"/api/projects/{project['id']}", json=changed)
            return project, False
        body = {"title": title, "label_config": label_config, **settings}
        return self.request("POST", "/api/projects", json=body, retry=False), True

    # -- tasks ----------------------------------------------------------------------------------
    def iter_tasks(self, project_id: int, page_size: int = 5000) -> Iterator[dict[str, Any]]:
        """Every task (id, data, meta) page by page; explicit page size, stops at the total."""
        page, seen = 1, 0
        while True:
            body = self.request("GET", "/api/tasks", params={
                "project": project_id, "page": page, "page_size": page_size, "fields": "task_only"})
            tasks = body.get("tasks", []) if isinstance(body, dict) else body
            yield from tasks
            seen += len(tasks)
            total = body.get("total") if isinstance(body, dict) else None
            if not tasks or len(tasks) < page_size or (total is not None and seen >= total):
                return
            page += 1

    def import_tasks(self, project_id: int, tasks: list[dict[str, Any]]) -> list[int]:
        """One import request, NOT retried: a retry after a lost response could duplicate."""
        body = self.request("POST", f"/api/projects/{project_id}/import", params={"return_task_ids": "true"},
                            content=orjson.dumps(tasks), headers={"Content-Type": "application/json"},
                            retry=False)
        return list(body.get("task_ids") or [])

    def update_task(self, task_id: int, data: dict[str, Any], meta: dict[str, Any]) -> None:
        self.request("PATCH", f"/api/tasks/{task_id}", json={"data": data, "meta": meta})

    def add_prediction(self, task_id: int, prediction: dict[str, Any]) -> None:
        self.request("POST", "/api/predictions", json={"task": task_id, **prediction}, retry=False)

    def delete_tasks(self, project_id: int, task_ids: list[int]) -> None:
        self.request("POST", "/api/dm/actions", params={"id": "delete_tasks", "project": project_id},
                     json={"selectedItems": {"all": False, "included": task_ids}})

    # -- export -----------------------------------------------------------------------------------
    def export_snapshot(self, project_id: int, *, only_annotated: bool = False,
                        poll: float = 0.3, timeout: float = 1800.0) -> list[dict[str, Any]]:
        """Tasks with annotations by the snapshot flow (create → poll → download), not by paging."""
        body: dict[str, Any] = {"title": f"cqia-{int(time.time())}",
                                "serialization_options": {"predictions": {"only_id": True}}}
        if only_annotated:
            body["task_filter_options"] = {"only_with_annotations": True}
        export = self.request("POST", f"/api/projects/{project_id}/exports", json=body, retry=False)
        export_id = export["id"]
        try:
            deadline = time.monotonic() + timeout
            while export.get("status") not in ("completed", "failed"):
                if time.monotonic() > deadline:
                    raise LSError(f"export {export_id} of project {project_id} not done after {timeout:.0f}s")
                self.sleep(poll)
                export = self.request("GET", f"/api/projects/{project_id}/exports/{export_id}")
            if export["status"] == "failed":
                raise LSError(f"Label Studio failed to build export {export_id} of project {project_id}")

            def download() -> bytes:
                response = self.http.get(f"/api/projects/{project_id}/exports/{export_id}/download",
                                         params={"exportType": "JSON"}, headers=self._headers())
                if response.status_code >= 400:
                    raise self._status_error(response.status_code, response.text[:300])
                return response.content

            return orjson.loads(self.call(download, what="download export"))
        finally:
            try:
                self.request("DELETE", f"/api/projects/{project_id}/exports/{export_id}", retry=False)
            except LSError:
                pass

    # -- users ------------------------------------------------------------------------------------
    def users(self) -> dict[int, str]:
        body = self.request("GET", "/api/users")
        return {u["id"]: u.get("email") or u.get("username") or str(u["id"]) for u in body}

    def add_user(self, email: str, password: str) -> dict[str, Any]:
        """Create an account that can log in: the organisation's invite link + the signup form.

        Works on any server (local or remote) with admin rights, even with open signup disabled.
        """
        if email.lower() in {e.lower() for e in self.users().values()}:
            raise LSError(f"user {email} already exists on {self.url}")
        invite = self.request("GET", "/api/invite")
        token = invite["token"]
        with httpx.Client(base_url=_without_userinfo(self.conn.url), timeout=60, follow_redirects=False) as browser:
            browser.get("/user/signup/", params={"token": token})
            form = {"email": email, "password": password, "csrfmiddlewaretoken": browser.cookies.get("csrftoken", ""),
                    "allow_newsletters": "false"}
            response = browser.post(f"/user/signup/?token={token}", data=form,
                                    headers={"Referer": f"{_without_userinfo(self.conn.url)}/user/signup/"})
        if response.status_code != 302:
            raise LSError(f"signup of {email} failed (HTTP {response.status_code}); the password may be "
                          "too short or the email invalid")
        found = [uid for uid, e in self.users().items() if e.lower() == email.lower()]
        if not found:
            raise LSError(f"signup of {email} returned no account")
        return {"id": found[0], "email": email}


def login_token(url: str, email: str, password: str) -> str:
    """Log in like a browser and fetch the user's own API token (proves the account works)."""
    with httpx.Client(base_url=url.rstrip("/"), timeout=60, follow_redirects=False) as browser:
        browser.get("/user/login/")
        response = browser.post("/user/login/", data={
            "email": email, "password": password, "csrfmiddlewaretoken": browser.cookies.get("csrftoken", "")},
            headers={"Referer": f"{url}/user/login/"})
        if response.status_code != 302:
            raise AuthError(f"login of {email} at {redact_url(url)} failed (HTTP {response.status_code})")
        token = browser.get("/api/current-user/token")
        if token.status_code != 200:
            raise AuthError(f"{email} logged in but could not read an API token (HTTP {token.status_code})")
        return str(token.json()["token"])
