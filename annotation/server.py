"""Start a local Label Studio server headless: SQLite data dir, 127.0.0.1, no phoning home.

Why a module and not a shell line: the server reads many generic env names (HOST, PORT,
USERNAME...), silently moves to port+1 when busy and needs legacy tokens enabled in 1.23 — all
of which must be handled the same way by the CLI, the tests and the benchmark.

The server runs in its own process group (Ctrl-C in the terminal reaches only its starter, which
stops it in order) and, on Linux, dies with its starter: the kernel sends it SIGTERM when the
starting thread ends, even when the starter was SIGKILLed and no handler ran, so the port is
never left held by an orphan.
"""

from __future__ import annotations

import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SETUP_HINT = "run `scripts/setup_label_studio.sh` (or `make setup`) to create .venv-ls"
# Generic names the server's Django settings also read: never leak the caller's values into it.
_SCRUB = ("HOST", "PORT", "USERNAME", "PASSWORD", "USER_TOKEN", "DEBUG", "DATABASE_NAME")
_STARTED = re.compile(r"Starting development server at (http://\S+?)/?\s")


class ServerError(RuntimeError):
    pass


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def find_binary() -> Path:
    """The server binary: $CQIA_LABEL_STUDIO_BIN, else <repo>/.venv-ls/bin/label-studio."""
    env = os.environ.get("CQIA_LABEL_STUDIO_BIN")
    candidate = Path(env) if env else repo_root() / ".venv-ls" / "bin" / "label-studio"
    if not candidate.is_file() or not os.access(candidate, os.X_OK):
        where = "CQIA_LABEL_STUDIO_BIN" if env else "the default location"
        raise ServerError(f"label-studio server binary not found at {candidate} ({where}); {SETUP_HINT}")
    return candidate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Credentials:
    """Admin login and legacy API token; written to `<data_dir>/cqia-admin.json` (mode 600)."""

    email: str
    password: str
    token: str

    def __repr__(self) -> str:  # never print secrets by accident
        return f"Credentials(email={self.email!r}, password=***, token=***)"

    @classmethod
    def load_or_create(cls, data_dir: Path, email: str = "admin@cqia.local") -> Credentials:
        import json

        path = data_dir / "cqia-admin.json"
        if path.exists():
            return cls(**json.loads(path.read_text()))
        creds = cls(email=email, password=secrets.token_urlsafe(16), token=secrets.token_hex(20))
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(creds.__dict__))
        path.chmod(0o600)
        return creds


def server_env(data_dir: Path, creds: Credentials) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(
        LABEL_STUDIO_BASE_DATA_DIR=str(data_dir),
        LABEL_STUDIO_USERNAME=creds.email,
        LABEL_STUDIO_PASSWORD=creds.password,
        LABEL_STUDIO_USER_TOKEN=creds.token,
        LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
        LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
        COLLECT_ANALYTICS="false",
        SENTRY_DSN="",
        FRONTEND_SENTRY_DSN="",
        LATEST_VERSION_CHECK="false",
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class LocalServer:
    """A running server process; `stop()` sends SIGTERM to exactly this process group."""

    url: str
    data_dir: Path
    creds: Credentials
    process: subprocess.Popen
    log_path: Path
    extra: dict = field(default_factory=dict)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_PR_SET_PDEATHSIG = 1


def die_with_parent_preexec() -> Callable[[], None] | None:
    """A `preexec_fn` asking Linux to SIGTERM the child when the thread that started it ends
    (prctl PR_SET_PDEATHSIG); None where that does not exist. libc is looked up here, before the
    fork, so the child only makes the call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the starter died before the request was in place
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def start_server(
    data_dir: Path,
    *,
    port: int | None = None,
    creds: Credentials | None = None,
    timeout: float = 180.0,
    die_with_parent: bool = True,
) -> LocalServer:
    """Start the server on 127.0.0.1 and wait until its API answers with the admin token.

    `die_with_parent`: the server is stopped by the kernel when the calling thread ends (call it
    from a thread that lives as long as the server should, e.g. the main thread)."""
    binary = find_binary()
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    creds = creds or Credentials.load_or_create(data_dir)
    port = port or free_port()
    log_path = data_dir / "server.log"
    log_start = log_path.stat().st_size if log_path.exists() else 0  # earlier starts' lines are not ours
    log = log_path.open("ab")
    process = subprocess.Popen(
        [str(binary), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(data_dir)],
        env=server_env(data_dir, creds), stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=die_with_parent_preexec() if die_with_parent else None,
    )
    server = LocalServer(f"http://127.0.0.1:{port}", data_dir, creds, process, log_path)
    try:
        _wait_ready(server, log_path, timeout, log_start)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: LocalServer, log_path: Path, timeout: float, offset: int) -> None:
    """Wait for the API; only log lines written after `offset` (bytes) belong to this start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise ServerError(f"label-studio exited with code {server.process.returncode}; log tail:\n{tail}")
        with log_path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
        match = _STARTED.search(text)
        if match and not match.group(1).endswith(server.url.rsplit(":", 1)[1]):
            server.stop()
            raise ServerError(f"label-studio started at {match.group(1)}, not {server.url} (port busy?)")
        try:
            response = httpx.get(
                f"{server.url}/api/current-user/whoami",
                headers={"Authorization": f"Token {server.creds.token}"}, timeout=5,
            )
            if response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ServerError(f"label-studio did not answer at {server.url} within {timeout:.0f}s (log: {log_path})")


def copy_data_dir(src: Path, dst: Path) -> None:
    """Clone a migrated data dir (SQLite + admin credentials): starts in ~3 s instead of ~25 s."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("server.log", "export", "media"))
