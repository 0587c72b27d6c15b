#!/usr/bin/env python
"""LLM quality scoring on the driver vs on 1 and 2 Ray workers through the job's limiter actor.

Against the scripted OpenAI-compatible server (curation/llm/fake_server.py, its own process on this
machine), the quality stage scores N generated records (8 shards) three ways: `driver` (local
executor: the tasks run in this process with one client), `ray1` (a Ray node with 1 CPU: one
worker process) and `ray2` (one node, 2 CPUs: two worker processes); each Ray run on a fresh
local cluster, after a warm-up job so worker start-up is not counted. Two settings per mode:
no rate limit (cap 32: what the limiter costs) and a rate limit (`--rps`, cap 8: does the
observed rate hold?).

Measured at the server: requests per second (requests / span from the first start to the last
end) and the most requests in progress at once. CPU: the driver process (getrusage), and for Ray
every process of the cluster (psutil, before/after: worker processes and Ray's daemons), and the
limiter actor's own process CPU from its first request on (its process start is left out).

    python scripts/bench_llm_workers.py --quick     # 400 requests per setting
    python scripts/bench_llm_workers.py             # 2000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

PY = sys.executable
PREFIX = "CQIA_BENCH"


def start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([PY, "-m", "curation.llm.fake_server", "--host", "127.0.0.1", "--port", "0",
                             "--exit-with-parent"], stdout=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    return proc, proc.stdout.readline().strip()


def server_log(base_url: str) -> dict[str, Any]:
    import httpx

    return httpx.get(base_url[: -len("/v1")] + "/_admin/log", timeout=30).json()


def server_reset(base_url: str) -> None:
    import httpx

    httpx.post(base_url[: -len("/v1")] + "/_admin/reset", content="{}", timeout=30).raise_for_status()


def make_run(root: Path, n: int, shards: int) -> Any:
    from curation.pipeline.rundir import RunDir
    from curation.pipeline.runner import Stage, run_stage
    from schemas import CuratedRecord, InstructionRecord

    def record(i: int) -> CuratedRecord:
        return CuratedRecord(id=f"b{i:07d}", source="bench", record=InstructionRecord(
            instruction=f"第{i}个问题：请解释豆浆和咖啡的区别。", output=f"第{i}个回答：两者原料、做法和味道都不同。",
            task_type={"major": ["问答"], "minor": ["通用问答"]}, domain=["通用"], answer_from="human",
            human_verified=False))

    run = RunDir(root)
    per = -(-n // shards)
    run_stage(run, Stage("ingest-bench", lambda skip: (record(i) for i in range(skip, n)), inputs=[{"n": n}],
                         shard_size=per), progress=False)
    return run


def recipe(work: Path, cap: int, rps: float | None) -> Any:
    from curation.pipeline.recipe import load_recipe

    path = work / f"recipe-{cap}-{rps}.yaml"
    rate = f", rate_limit_rps: {rps}" if rps else ""
    path.write_text(f"quality: {{enabled: true, env_prefix: {PREFIX}, concurrency: {cap}{rate}}}\n", encoding="utf-8")
    return load_recipe(path)


def cluster_cpu(sessions: list[int]) -> dict[str, float]:
    """CPU seconds so far of every process of the cluster's sessions, by kind."""
    import psutil

    out = {"workers": 0.0, "limiter": 0.0, "daemons": 0.0}
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if os.getsid(proc.pid) not in sessions:
                continue
            title = (proc.info["cmdline"] or [""])[0]
            cpu = proc.cpu_times()
            seconds = cpu.user + cpu.system
        except (psutil.Error, ProcessLookupError, PermissionError):
            continue
        kind = "limiter" if title.startswith("ray::Limiter") else "workers" if title.startswith("ray::") else "daemons"
        # (the limiter's process is reported by the actor itself, see `one`)
        out[kind] += seconds
    return out


def one(mode: str, work: Path, base_url: str, n: int, shards: int, cap: int, rps: float | None,
        executor: Any, sessions: list[int]) -> dict[str, Any]:
    from curation.pipeline.runner import run_stage
    from curation.stages.quality import quality_stage

    run = make_run(work / f"{mode}-{cap}-{rps}", n, shards)
    stage = quality_stage(run, "ingest-bench", recipe(work, cap, rps))
    server_reset(base_url)
    cpu0 = cluster_cpu(sessions) if sessions else None
    u0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.time()
    result = run_stage(run, stage, progress=False, executor=executor)
    wall = time.time() - started
    u1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu1 = cluster_cpu(sessions) if sessions else None
    log = server_log(base_url)
    ok = [e for e in log["entries"] if e["status"] == 200]
    span = max(e["t"] for e in ok) - min(e["t0"] for e in ok)
    driver_cpu = (u1.ru_utime + u1.ru_stime) - (u0.ru_utime + u0.ru_stime)
    row = {"mode": mode, "cap": cap, "rps_limit": rps, "requests": len(ok), "req_per_s": round(len(ok) / span, 1),
           "max_concurrent": log["max_concurrent"], "stage_wall_s": round(wall, 2),
           "driver_cpu_ms_per_req": round(1000 * driver_cpu / len(ok), 2),
           "executor": result.manifest["timings"]["executor"], "calls": result.manifest["calls"]["made"]}
    if cpu0 is not None and cpu1 is not None:
        import ray

        for kind in ("workers", "daemons"):
            row[f"ray_{kind}_cpu_ms_per_req"] = round(1000 * (cpu1[kind] - cpu0[kind]) / len(ok), 2)
        # the actor's own count from its first request: its process start-up is not the limiter's cost
        limiter = ray.get(stage.tasks[0].llm.limiter.stats.remote())
        row["limiter_cpu_ms_per_req"] = round(1000 * limiter["cpu_s"] / len(ok), 2)
        row["limiter_max_held"] = limiter["max_held"]
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="400 requests per setting")
    ap.add_argument("--rps", type=float, default=100.0, help="the rate limit of the limited setting")
    ap.add_argument("--modes", default="driver,ray1,ray2")
    ap.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = ap.parse_args()
    n = 400 if args.quick else args.n
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    server, base_url = start_server()
    os.environ[f"{PREFIX}_BASE_URL"], os.environ[f"{PREFIX}_MODEL"] = base_url, "fake-model"
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="cqia-bench-llm-") as tmp:
            work = Path(tmp)
            for mode in args.modes.split(","):
                settings = [(32, None), (8, args.rps)]
                if mode == "driver":
                    from curation.pipeline.executors import LocalExecutor

                    for cap, rps in settings:
                        rows.append(one(mode, work, base_url, n, 8, cap, rps, LocalExecutor(2), []))
                    continue
                from bench_scaling import Cluster

                from curation.pipeline.executors import RayExecutor

                cluster = Cluster(1, 1 if mode == "ray1" else 2)
                executor = None
                try:
                    executor = RayExecutor(cluster.address)
                    list(executor.map_unordered(_warm, None, list(range(4 * executor.workers))))
                    for cap, rps in settings:
                        rows.append(one(mode, work, base_url, n, 8, cap, rps, executor, cluster.sessions))
                finally:
                    if executor is not None:
                        executor.close()
                    cluster.stop()
    finally:
        server.terminate()
        server.wait()
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2), encoding="utf-8")


def _warm(shared: Any, item: int) -> int:
    """A warm-up task: starts the worker processes and unpacks our code in them."""
    import curation.llm.client  # noqa: F401 - import cost paid before the measured run
    import curation.stages.quality  # noqa: F401

    time.sleep(0.5)
    return item


if __name__ == "__main__":
    main()
