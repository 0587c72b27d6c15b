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
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
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
    _bytecode_cache(env)
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
    if threading.current_thread() is not threading.main_thread():
        # PR_SET_PDEATHSIG follows the starting *thread*: a server started from a helper thread
        # would be killed the moment that thread returns. The CLI starts servers from the main thread.
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
    if not (data_dir / DB_NAME).exists():  # a new data dir: start from the migrated template
        seed_database(binary, data_dir, timeout=timeout)
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


# -- start-up time (docs/benchmarks.md): compiled bytecode and a migrated template database ----------
DB_NAME = "label_studio.sqlite3"


def cache_dir() -> Path:
    """$CQIA_CACHE_DIR/label-studio, else $XDG_CACHE_HOME/cqia/label-studio (~/.cache/...)."""
    if os.environ.get("CQIA_CACHE_DIR"):
        return Path(os.environ["CQIA_CACHE_DIR"]) / "label-studio"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cqia" / "label-studio"


def _bytecode_cache(env: dict[str, str]) -> None:
    """Let the server keep its compiled bytecode. With PYTHONDONTWRITEBYTECODE set (and a venv
    installed without .pyc files) every start recompiled ~3,500 modules: about half the start-up.
    The bytecode goes to our cache dir (PYTHONPYCACHEPREFIX), never into the server's venv."""
    if env.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        env.setdefault("PYTHONPYCACHEPREFIX", str(cache_dir() / "pycache"))


def _server_version(binary: Path) -> str:
    venv = binary.resolve().parent.parent
    found = sorted(venv.glob("lib/python*/site-packages/label_studio-*.dist-info"))
    if found:
        return found[-1].name.removesuffix(".dist-info")
    return "label_studio-" + hashlib.sha256(str(binary.resolve()).encode()).hexdigest()[:12]


def template_database(binary: Path, *, timeout: float = 600.0) -> Path | None:
    """A migrated database with no user in it, built once per server version and cached.

    Built by the server's own migration step in a scratch data dir (no account, no secret key is
    copied: the new data dir gets its own admin and key at first start). None when it cannot be
    built; the server then migrates by itself as before.
    """
    target = cache_dir() / _server_version(binary) / DB_NAME
    if target.exists():
        return target
    python = binary.parent / "python"
    if not python.exists():
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="template-", dir=target.parent))
    try:
        env = server_env(scratch, Credentials("template@cqia.local", "-", "-"))
        for name in ("LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_USER_TOKEN"):
            env.pop(name)
        done = subprocess.run(
            [str(python), "-c", "import label_studio.server as s; s._setup_env(); s._apply_database_migrations()"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            timeout=timeout, check=False)
        db = scratch / DB_NAME
        if done.returncode != 0 or not db.exists() or _has_users(db):
            return None
        os.replace(db, target)  # atomic: a concurrent builder's copy is as good
        return target
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _has_users(db: Path) -> bool:
    import sqlite3

    with sqlite3.connect(db) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM htx_user").fetchone()[0] > 0
        except sqlite3.Error:
            return True  # not the schema we know: do not use it


def seed_database(binary: Path, data_dir: Path, *, timeout: float = 600.0) -> bool:
    """Copy the migrated template into a new data dir (first start ~3x faster); False if none."""
    if os.environ.get("CQIA_LS_TEMPLATE", "1") == "0":
        return False
    template = template_database(binary, timeout=timeout)
    if template is None:
        return False
    shutil.copyfile(template, data_dir / DB_NAME)
    return True
