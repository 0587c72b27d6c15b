"""Real local services for the scale-out tests: a two-node Ray cluster and an S3-compatible server.

Both are separate processes on 127.0.0.1, started once per test session and stopped in
teardown by the ids of the processes started here (each in its own session: killing the group
ends the daemons it forked, never anyone else's Ray).

- Ray: `ray start --head --block` and `ray start --address=HEAD --block` (a second node on this
  machine), one CPU and a small object store each.
- S3: `moto_server` (moto in server mode: a real HTTP S3 API, not an in-process mock), with
  dummy credentials and `AWS_ENDPOINT_URL` pointing at it, so s3fs/boto reach it like AWS.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """SIGTERM the process group this test started (the daemon and what it forked), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.time() + wait
        while time.time() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


@dataclass
class S3Server:
    endpoint: str
    env: dict[str, str]

    def bucket(self, name: str) -> str:
        """Create a bucket (idempotent) and return its s3:// URL."""
        import fsspec

        fs = fsspec.filesystem("s3", skip_instance_cache=True)
        if not fs.exists(name):
            fs.mkdir(name)
        return f"s3://{name}"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    port = free_port()
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ACCESS_KEY_ID": "cqia-test", "AWS_SECRET_ACCESS_KEY": "cqia-test-secret",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        yield S3Server(endpoint, env)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _stop(proc)


@dataclass
class RayCluster:
    address: str
    head: subprocess.Popen
    worker: subprocess.Popen

    def worker_processes(self) -> list[int]:
        """Pids of Ray worker processes (running a task) that belong to this cluster."""
        import psutil

        pids = []
        for proc in psutil.process_iter(["pid", "cmdline"]):
            try:
                cmd = proc.info["cmdline"] or []
                if cmd and cmd[0].startswith("ray::") and os.getsid(proc.pid) in (self.head.pid, self.worker.pid):
                    pids.append(proc.pid)
            except (psutil.Error, ProcessLookupError, PermissionError):
                continue
        return pids


def _ray_cmd(*args: str, temp_dir: str) -> list[str]:
    return [str(BIN / "ray"), "start", "--block", "--num-cpus=1", "--memory=700000000",
            "--object-store-memory=80000000", "--disable-usage-stats", "--node-ip-address=127.0.0.1",
            f"--temp-dir={temp_dir}", *args]


@pytest.fixture(scope="session")
def ray_cluster(s3_server: S3Server) -> Iterator[RayCluster]:
    """A head and a second worker node (1 CPU each) for the whole session; the S3 endpoint and
    credentials are in their environment so workers can reach an s3:// run directory."""
    temp_dir = tempfile.mkdtemp(prefix="cqia-ray-", dir="/tmp")  # Ray's socket paths must stay short
    env = {**os.environ, **s3_server.env, "RAY_USAGE_STATS_ENABLED": "0",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    port = free_port()
    address = f"127.0.0.1:{port}"
    logs = Path(temp_dir)
    head = subprocess.Popen(_ray_cmd("--head", f"--port={port}", "--include-dashboard=false", temp_dir=temp_dir),
                            env=env, stdout=open(logs / "head.out", "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    worker = None
    try:
        _wait_nodes(address, 1, head)
        worker = subprocess.Popen(_ray_cmd(f"--address={address}", temp_dir=temp_dir), env=env,
                                  stdout=open(logs / "worker.out", "wb"), stderr=subprocess.STDOUT,
                                  start_new_session=True)
        _wait_nodes(address, 2, worker)
        yield RayCluster(address, head, worker)
    finally:
        try:
            import ray

            if ray.is_initialized():
                ray.shutdown()
        except ImportError:
            pass
        if worker is not None:
            _stop(worker)
        _stop(head)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _wait_nodes(address: str, count: int, proc: subprocess.Popen, timeout: float = 150.0) -> None:
    """Poll `ray status` until `count` nodes are alive (start-up on 2 busy cores is slow)."""
    deadline = time.time() + timeout
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`ray start` exited with {proc.returncode}")
        out = subprocess.run([str(BIN / "ray"), "status", f"--address={address}"], capture_output=True,
                             text=True, env=env, timeout=60)
        if out.returncode == 0 and out.stdout.count("node_") >= count:
            return
        time.sleep(1.0)
    raise RuntimeError(f"Ray cluster at {address} did not reach {count} node(s) in {timeout:.0f} s")
