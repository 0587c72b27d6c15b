"""`cqia annotate serve` never leaves Label Studio behind: a real CLI process and a real server,
stopped by SIGTERM during start-up, SIGHUP (terminal closed) and SIGKILL (issue 12)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from annotation.server import copy_data_dir, free_port

REPO = Path(__file__).resolve().parents[2]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Serve:
    """A `python -m curation.cli annotate serve` process on a copy of the migrated data dir."""

    def __init__(self, template: Path, tmp_path: Path) -> None:
        data = tmp_path / "ls-data"
        copy_data_dir(template, data)
        self.port = free_port()
        self.stderr = tmp_path / "serve.stderr"
        env = {**os.environ, "CQIA_LS_CONFIG": str(tmp_path / "ls.json"), "PYTHONPATH": str(REPO)}
        with self.stderr.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "curation.cli", "annotate", "serve", "--data-dir", str(data),
                 "--port", str(self.port)], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)
        self.server: psutil.Process | None = None

    def wait_for_server_process(self, timeout: float = 60) -> psutil.Process:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.stderr.read_text()
            for child in psutil.Process(self.proc.pid).children():
                try:
                    if any("label-studio" in part for part in child.cmdline()):  # exec'd, not mid-fork
                        self.server = child
                        return child
                except psutil.Error:
                    pass
            time.sleep(0.02)
        raise AssertionError("the CLI started no server process")

    def wait_until_up(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while "Label Studio is up" not in self.stderr.read_text():
            assert self.proc.poll() is None, self.stderr.read_text()
            assert time.monotonic() < deadline, "Label Studio did not come up"
            time.sleep(0.2)

    def server_gone(self, timeout: float = 60) -> bool:
        """The server process has ended and its port is free. A killed process shows as a zombie
        while its last threads are still being torn down (slow under heavy I/O); its socket closes
        only then, so wait for both."""
        assert self.server is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ended = not self.server.is_running() or self.server.status() == psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                ended = True
            if ended and not _port_open(self.port):
                return True
            time.sleep(0.1)
        return False

    def describe(self) -> str:
        """What the server process is doing (for a failure message)."""
        assert self.server is not None
        try:
            state = f"status {self.server.status()}, parent {self.server.ppid()}"
        except psutil.Error as exc:
            state = repr(exc)
        holders = []
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == self.port and conn.status == psutil.CONN_LISTEN:
                try:
                    holders.append(f"{conn.pid} {psutil.Process(conn.pid).cmdline()[:4]}" if conn.pid else "?")
                except psutil.Error:
                    holders.append(str(conn.pid))
        return (f"server {self.server.pid}: {state}, port {self.port} held by {holders}\n"
                f"{_stack(self.server.pid)}")

    def cleanup(self) -> None:
        """Stop what this test started if the code under test did not (only these two pids)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.server is not None and self.server.is_running():
            self.server.kill()


@pytest.fixture
def serve(ls_template: Path, tmp_path: Path) -> Iterator[Serve]:
    handle = Serve(ls_template, tmp_path)
    try:
        yield handle
    finally:
        handle.cleanup()


def _stack(pid: int) -> str:
    """The process's Python stack (py-spy, a dev dependency), for a failure message."""
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        return "(py-spy not installed)"
    out = subprocess.run([str(py_spy), "dump", "--pid", str(pid)], capture_output=True, text=True)
    return out.stdout + out.stderr


def test_sigterm_during_startup_stops_the_server(serve: Serve) -> None:
    serve.wait_for_server_process()
    serve.proc.send_signal(signal.SIGTERM)
    try:
        serve.proc.wait(60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the CLI did not end after SIGTERM:\n{_stack(serve.proc.pid)}\n{serve.stderr.read_text()}")
    assert serve.proc.returncode != 0
    assert serve.server_gone(), f"Label Studio outlived `cqia annotate serve` (SIGTERM during start-up): {serve.describe()}"


def test_sighup_closing_the_terminal_stops_the_server(serve: Serve) -> None:
    serve.wait_for_server_process()
    serve.wait_until_up()
    serve.proc.send_signal(signal.SIGHUP)
    serve.proc.wait(60)
    assert serve.server_gone(), f"Label Studio outlived `cqia annotate serve` (SIGHUP): {serve.describe()}"


def test_sigkill_of_the_cli_stops_the_server(serve: Serve) -> None:
    serve.wait_for_server_process()
    serve.wait_until_up()
    serve.proc.kill()
    serve.proc.wait(10)
    assert serve.server_gone(), f"Label Studio outlived a SIGKILLed `cqia annotate serve`: {serve.describe()}"


def test_sigterm_when_up_stops_the_server_in_order(serve: Serve) -> None:
    serve.wait_for_server_process()
    serve.wait_until_up()
    serve.proc.send_signal(signal.SIGTERM)
    assert serve.proc.wait(60) == 0
    assert "stopping Label Studio" in serve.stderr.read_text()
    assert serve.server_gone(), serve.describe()
