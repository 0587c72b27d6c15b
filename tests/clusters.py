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
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# An API key only the Ray nodes hold (their own environment, as an operator would set it before
# `ray start`): the LLM-on-workers tests prove the workers use it and the driver never ships one.
WORKER_API_KEY = "sk-worker-node-only-4be1c0ffee77"
WORKER_ONLY_ENV = {"CQIA_RAYQ_API_KEY": WORKER_API_KEY}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(*procs: subprocess.Popen, grace: float = 3.0) -> None:
    """SIGTERM the process groups this test started (each daemon and what it forked), wait a
    little, then SIGKILL what is left; all groups at once."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        for proc in procs:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + wait
        while time.time() < deadline and any(_group_alive(p) for p in procs):
            time.sleep(0.2)
    for proc in procs:
        try:
            proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass


def _group_alive(proc: subprocess.Popen) -> bool:
    proc.poll()  # reap the leader if it exited
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True


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
    executor: Any  # a RayExecutor connected to the cluster (one driver connection per session)

    def worker_processes(self) -> list[int]:
        """Pids of Ray worker processes that belong to this cluster."""
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

    def busy_workers(self) -> list[int]:
        """Pids of this cluster's worker processes running a task now (Ray titles them `ray::_ray_call…`)."""
        import psutil

        busy = []
        for pid in self.worker_processes():
            try:
                if psutil.Process(pid).cmdline()[0].startswith("ray::_ray_call"):
                    busy.append(pid)
            except (psutil.Error, IndexError):
                continue
        return busy


def _ray_cmd(*args: str, temp_dir: str) -> list[str]:
    return [str(BIN / "ray"), "start", "--block", "--num-cpus=1", "--memory=700000000",
            "--object-store-memory=80000000", "--disable-usage-stats", "--node-ip-address=127.0.0.1",
            f"--temp-dir={temp_dir}", *args]


@pytest.fixture(scope="session")
def ray_cluster(s3_server: S3Server) -> Iterator[RayCluster]:
    """A head and a second worker node (1 CPU each) for the whole session, and one driver
    connection to it (the RayExecutor the tests and in-process CLI commands share). The S3
    endpoint and credentials are in the nodes' environment so workers can reach s3:// runs."""
    from curation.pipeline.executors import RayExecutor

    temp_dir = tempfile.mkdtemp(prefix="cqia-ray-", dir="/tmp")  # Ray's socket paths must stay short
    env = {**os.environ, **s3_server.env, **WORKER_ONLY_ENV, "RAY_USAGE_STATS_ENABLED": "0",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    port = free_port()
    address = f"127.0.0.1:{port}"
    logs = Path(temp_dir)
    procs = [subprocess.Popen(_ray_cmd("--head", f"--port={port}", "--include-dashboard=false", temp_dir=temp_dir),
                              env=env, stdout=open(logs / "head.out", "wb"), stderr=subprocess.STDOUT,
                              start_new_session=True)]
    executor = None
    try:
        _wait_port(port, procs[0])
        executor = RayExecutor(address)  # returns once the head is fully up

        def start_worker() -> subprocess.Popen:
            return subprocess.Popen(_ray_cmd(f"--address={address}", temp_dir=temp_dir), env=env,
                                    stdout=open(logs / "worker.out", "ab"), stderr=subprocess.STDOUT,
                                    start_new_session=True)

        procs.append(start_worker())
        try:
            _wait_nodes(2, procs)
        except RuntimeError:  # a node start that lost a race with the head: once more
            _stop(procs.pop())
            procs.append(start_worker())
            _wait_nodes(2, procs)
        executor.refresh()
        yield RayCluster(address, procs[0], procs[1], executor)
    finally:
        if executor is not None:
            executor.close()
        _stop(*procs)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`ray start --head` exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"Ray head did not open port {port} in {timeout:.0f} s")


def _wait_nodes(count: int, procs: list[subprocess.Popen], timeout: float = 150.0) -> None:
    """Wait (through the driver's connection) until `count` nodes are alive."""
    import ray

    deadline = time.time() + timeout
    while time.time() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"`ray start` exited with {proc.returncode}")
        if sum(1 for node in ray.nodes() if node["Alive"]) >= count:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the Ray cluster did not reach {count} node(s) in {timeout:.0f} s")
