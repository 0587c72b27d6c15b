"""LLM quality scoring on Ray workers: the session's real two-node Ray cluster (tests/clusters.py)
and the scripted OpenAI-compatible server (curation/llm/fake_server.py) as its own process.

What the server saw is the measure: never more than the cap in flight, never faster than the
rate, from two worker processes at once; the workers' API key comes from their nodes' own
environment (the server accepts only that key, and the driver holds a different one); the
output is byte for byte the local executor's; a killed worker's task is re-run without
re-sending the answers it had stored, and a re-run of the stage sends nothing."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import psutil
import pytest

from curation.pipeline.executors import LocalExecutor, RayExecutor
from curation.pipeline.recipe import load_recipe
from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import Stage, run_stage
from curation.stages.quality import quality_stage
from schemas import CuratedRecord, InstructionRecord
from tests.clusters import WORKER_API_KEY, RayCluster
from tests.curation.pipeline.scaleout import StageInThread, digest_tree, wait_for
from tests.llm_fixtures import FakeLLMServer

PREFIX = "CQIA_RAYQ"  # the recipe's env_prefix; the Ray nodes hold CQIA_RAYQ_API_KEY
DRIVER_KEY = "sk-driver-side-value-9d2e-never-shipped"
RATE, CAP = 8.0, 3


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[FakeLLMServer]:
    """A private server that answers only requests carrying the workers' key."""
    server = FakeLLMServer.start(api_key=WORKER_API_KEY)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(keyed_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> FakeLLMServer:
    keyed_server.reset()
    keyed_server.set_rules([{"pattern": "【指令】", "reply": '{"score": 7, "reason": "编号{hash}"}'}])
    monkeypatch.setenv(f"{PREFIX}_BASE_URL", keyed_server.base_url)
    monkeypatch.setenv(f"{PREFIX}_MODEL", "fake-model")
    return keyed_server


@pytest.fixture
def ray_executor(ray_cluster: RayCluster) -> RayExecutor:
    assert ray_cluster.executor.workers == 2
    return ray_cluster.executor


def _record(i: int) -> CuratedRecord:
    return CuratedRecord(
        id=f"q{i:05d}", source="demo",
        record=InstructionRecord(instruction=f"第{i}个问题：豆浆和咖啡有什么不同？", output=f"第{i}个回答：原料和做法都不同。",
                                 task_type={"major": ["问答"], "minor": ["通用问答"]}, domain=["通用"],
                                 answer_from="human", human_verified=False),
    )


def _run_with_upstream(root: Path, n: int, per_shard: int) -> RunDir:
    run = RunDir(root)
    run_stage(run, Stage("ingest-demo", lambda skip: (_record(i) for i in range(skip, n)), inputs=[{"n": n}],
                         shard_size=per_shard), progress=False)
    return run


def _recipe(tmp_path: Path, limits: str) -> object:
    path = tmp_path / f"recipe-{abs(hash(limits))}.yaml"
    path.write_text(f"quality: {{enabled: true, env_prefix: {PREFIX}, max_retries: 2, {limits}}}\n", encoding="utf-8")
    return load_recipe(path)


def _reference(tmp_path: Path, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, n: int, per_shard: int) -> RunDir:
    """The same scoring with the local executor (on the driver, with the right key, no limits)."""
    monkeypatch.setenv(f"{PREFIX}_API_KEY", WORKER_API_KEY)
    run = _run_with_upstream(tmp_path / "local", n, per_shard)
    stage = quality_stage(run, "ingest-demo", _recipe(tmp_path, "concurrency: 8"))
    result = run_stage(run, stage, progress=False, executor=LocalExecutor(2))
    assert result.manifest["timings"]["executor"] == "driver"
    assert result.manifest["calls"]["made"] == n and result.manifest["calls"]["failed"] == 0
    server.reset()
    server.set_rules([{"pattern": "【指令】", "reply": '{"score": 7, "reason": "编号{hash}"}'}])
    monkeypatch.setenv(f"{PREFIX}_API_KEY", DRIVER_KEY)  # from here on the driver's key is the wrong one
    return run


class _Connections(threading.Thread):
    """Samples which Ray worker processes hold a TCP connection to the server (every 50 ms)."""

    def __init__(self, cluster: RayCluster, port: int) -> None:
        super().__init__(daemon=True)
        self.cluster, self.port = cluster, port
        self.pids: set[int] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in self.cluster.worker_processes():
                try:
                    conns = psutil.Process(pid).net_connections(kind="tcp")
                except psutil.Error:
                    continue
                if any(c.raddr and c.raddr.port == self.port for c in conns):
                    self.pids.add(pid)
            time.sleep(0.05)


def _files_bytes(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes()


def _stored_prompts(run: RunDir, name: str = "quality") -> set[str]:
    """The user prompts whose answers are in the workers' cache segments now."""
    out = set()
    for path in (run.root / "_cache" / name).rglob("*.jsonl"):
        for line in path.read_bytes().splitlines():
            out.add(orjson.loads(line)["request"]["messages"][-1]["content"])
    return out


def test_quality_on_ray_workers_one_rate_one_cap_worker_key_same_bytes(
    tmp_path: Path, server: FakeLLMServer, ray_cluster: RayCluster, ray_executor: RayExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    n, per_shard = 120, 30
    reference = _reference(tmp_path, server, monkeypatch, n, per_shard)

    run = _run_with_upstream(tmp_path / "ray", n, per_shard)
    # the first 36 answers are slow (0.5 s): then the cap binds; after them the rate binds
    server.set_faults(delay_s=0.5, times=36)
    stage = quality_stage(run, "ingest-demo", _recipe(tmp_path, f"concurrency: {CAP}, rate_limit_rps: {RATE}"))
    import cloudpickle

    shipped = cloudpickle.dumps((stage.tasks, stage.sync))  # what the runner hands to Ray
    assert DRIVER_KEY.encode() not in shipped and WORKER_API_KEY.encode() not in shipped

    sampler = _Connections(ray_cluster, int(server.base_url.rsplit(":", 1)[1].split("/")[0]))
    sampler.start()
    try:
        result = run_stage(run, stage, progress=False, executor=ray_executor)
    finally:
        sampler.stop.set()
        sampler.join()
    manifest = result.manifest
    assert manifest["timings"]["executor"] == "ray"
    assert manifest["calls"] == {"service": "LLM quality-scoring", "made": n, "failed": 0, "errors": {}}
    assert digest_tree(run.root / "quality") == digest_tree(reference.root / "quality")
    scored = [r.stats for r in run.iter_records("quality")]
    assert len(scored) == n and all(s["llm_quality"] == 7 for s in scored)

    log = server.log()
    assert log["by_status"] == {"200": n}  # the workers' key was accepted; the driver's never sent
    assert log["max_concurrent"] == CAP  # reached while answers were slow, never passed
    starts = sorted(e["t0"] for e in log["entries"])
    window = max(sum(1 for t in starts[i:] if t < s + 1.0) for i, s in enumerate(starts))
    assert window <= RATE + 2  # requests starting within any 1 s (+ jitter of the way back)
    fast = starts[40:]  # after the slow answers: the rate binds
    observed = (len(fast) - 1) / (fast[-1] - fast[0])
    assert RATE * 0.6 <= observed <= RATE * 1.1, observed
    assert len(sampler.pids) >= 2, sampler.pids  # two worker processes called the server
    import ray

    limiter = ray.get(stage.tasks[0].llm.limiter.stats.remote())
    assert limiter["max_held"] == CAP and limiter["expired"] == 0 and limiter["granted"] == n

    # no key in the run directory, the manifests or the job's configuration
    for path, data in _files_bytes(run.root):
        assert WORKER_API_KEY.encode() not in data and DRIVER_KEY.encode() not in data, path

    job_config = orjson.dumps(ray.get_runtime_context().runtime_env, default=str)
    assert WORKER_API_KEY.encode() not in job_config and DRIVER_KEY.encode() not in job_config
    assert len(_stored_prompts(run)) == n

    # a forced re-run is answered from the workers' segments: nothing is sent
    again = run_stage(run, quality_stage(run, "ingest-demo", _recipe(tmp_path, f"concurrency: {CAP}")),
                      force=True, progress=False, executor=ray_executor)
    assert again.manifest["calls"]["made"] == n
    assert server.log(entries=False)["requests"] == n
    assert digest_tree(run.root / "quality") == digest_tree(reference.root / "quality")


def test_killed_worker_resends_nothing_it_had_stored(
    tmp_path: Path, server: FakeLLMServer, ray_cluster: RayCluster, ray_executor: RayExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    n, per_shard = 80, 40
    reference = _reference(tmp_path, server, monkeypatch, n, per_shard)
    run = _run_with_upstream(tmp_path / "ray", n, per_shard)
    stage = quality_stage(run, "ingest-demo", _recipe(tmp_path, f"concurrency: {CAP}, rate_limit_rps: {RATE}"))
    running = StageInThread(run, stage, ray_executor)
    busy: list[int] = []

    def storing() -> bool:
        busy[:] = ray_cluster.busy_workers()
        return bool(busy) and bool(list((run.root / "_cache" / "quality").rglob("*.jsonl")))

    assert wait_for(storing, timeout=120, step=0.05), "no worker stored an answer"
    stored_at_kill = _stored_prompts(run)
    os.kill(busy[0], signal.SIGKILL)
    manifest = running.finish()

    served = server.log(entries=False)["per_prompt_served"]
    assert len(served) == n and stored_at_kill
    resent = {p for p, times in served.items() if times > 1}
    assert not resent & stored_at_kill  # what was stored was never asked again
    assert sum(served.values()) < 2 * n
    assert manifest["calls"]["made"] == n and manifest["calls"]["failed"] == 0
    assert digest_tree(run.root / "quality") == digest_tree(reference.root / "quality")
