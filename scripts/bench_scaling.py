#!/usr/bin/env python
"""Scale-out benchmark: the same stages on the local executor and on Ray (1 node, 2 nodes).

Corpus: scripts/make_bench_corpus.py (real Chinese sentences from ../shared/samples, ~150 chars
per record, 12% generated near-duplicates), as a run directory stage `ingest-bench`.

Per executor (`local`: the process pool; `ray1`: one Ray node with 2 CPUs; `ray2`: a head and a
second node with 1 CPU each, both on this machine), each stage runs in a fresh process:
validate -> clean -> filter -> dedup (its three phases timed apart). Reported per stage:
wall seconds of the stage itself (median of --runs), CPU seconds of every process involved (the
driver, its forked workers, and for Ray every process of the cluster), records/s, and peak memory
(largest single process, PSS; and the sum over all processes). For Ray, the fixed costs are
reported separately: cluster start, a job's connection plus its first tasks (worker processes
start with our code shipped), and the per-task overhead of 200 empty tasks.

The outputs of the three executors are compared byte for byte (every shard of every stage).
Also measured: the LLM client on the driver against the scripted local server (requests/s and
the driver's CPU per request), the argument for keeping LLM stages on the driver.

    python scripts/bench_scaling.py                 # 1M records, 1 run per stage
    python scripts/bench_scaling.py --quick         # 20k records, 2 runs, ray1 only
    python scripts/bench_scaling.py --n 200000 --runs 3 --executors local,ray1,ray2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import signal
import socket
import statistics
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
BIN = Path(sys.executable).parent
STAGES = ("validate", "clean", "filter", "dedup")
UPSTREAM = {"validate": "ingest-bench", "clean": "validate", "filter": "clean", "dedup": "filter"}


# ---- the worker: one stage in a fresh process -----------------------------------------------------
class TimedExecutor:
    """Wraps an executor and records when each `map_unordered` call ran (dedup's phases)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.calls = inner, inner.name, []

    @property
    def workers(self) -> int:
        return self.inner.workers

    def map_unordered(self, fn: Any, shared: Any, items: Any):
        start = time.time()
        yield from self.inner.map_unordered(fn, shared, items)
        self.calls.append({"fn": fn.__name__, "start": start, "end": time.time()})

    def close(self) -> None:
        self.inner.close()


def _noop(shared: Any, item: int) -> int:
    return item


def worker(stage_name: str, run_dir: str, executor_name: str, address: str | None, workers: int) -> None:
    from curation.pipeline.executors import LocalExecutor, RayExecutor
    from curation.pipeline.recipe import load_recipe
    from curation.pipeline.rundir import RunDir
    from curation.pipeline.runner import run_stage
    from curation.stages.chain import clean_stage, filter_stage
    from curation.stages.dedup import DedupConfig, dedup_stage
    from curation.stages.validate import validate_stage

    marks: dict[str, float] = {"process_start": time.time()}
    if executor_name == "local":
        inner: Any = LocalExecutor(workers)
    else:
        inner = RayExecutor(address)
        marks["connected"] = time.time()
        list(inner.map_unordered(_noop, None, list(range(2 * inner.workers))))  # start workers (code shipped)
        marks["warm"] = time.time()
    executor = TimedExecutor(inner)
    run = RunDir(run_dir)
    recipe = load_recipe().model_copy(update={"workers": workers})
    upstream = UPSTREAM[stage_name]
    build = {
        "validate": lambda: validate_stage(run, [upstream]),
        "clean": lambda: clean_stage(run, upstream, recipe),
        "filter": lambda: filter_stage(run, upstream, recipe),
        "dedup": lambda: dedup_stage(run, upstream, DedupConfig(workers=workers)),
    }[stage_name]
    def cpu() -> float:  # this process and its reaped children (the local pool's workers)
        usage = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return sum(u.ru_utime + u.ru_stime for u in usage)

    stage = build()
    cpu_start, marks["stage_start"] = cpu(), time.time()
    manifest = run_stage(run, stage, force=True, progress=False, executor=executor).manifest
    marks["stage_end"], cpu_end = time.time(), cpu()
    executor.close()
    print(json.dumps({"marks": marks, "calls": executor.calls, "counts": manifest["counts"],
                      "shards": len(manifest["shards"]), "tasks": manifest["tasks"],
                      "driver_cpu": cpu_end - cpu_start}))


# ---- measuring a worker process (and a Ray cluster's processes) ------------------------------------
def _procs(root_pid: int, sessions: list[int]) -> list[Any]:
    import psutil

    out = []
    try:
        root = psutil.Process(root_pid)
        out = [root, *root.children(recursive=True)]
    except psutil.Error:
        pass
    if sessions:
        for proc in psutil.process_iter():
            try:
                if os.getsid(proc.pid) in sessions:
                    out.append(proc)
            except (ProcessLookupError, PermissionError):
                continue
    return out


def _mem(proc: Any) -> int:
    try:
        return int(proc.memory_full_info().pss)
    except Exception:  # noqa: BLE001 - a process that just exited
        return 0


def measure(cmd: list[str], sessions: list[int], interval: float = 0.25) -> dict[str, Any]:
    """Run `cmd`; sample every process of its tree and of the given Ray sessions: per-process
    peak PSS (with time), the sum, and CPU seconds consumed meanwhile by the cluster processes."""
    import psutil

    timeline: list[tuple[float, int, int, str, float]] = []  # (time, pid, pss, kind, cpu seconds so far)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.time()
        child = subprocess.Popen(cmd, stdout=out, stderr=err)
        while child.poll() is None:
            now = time.time()
            for proc in _procs(child.pid, sessions):
                try:
                    kind = _kind(proc, child.pid, sessions)
                    t = proc.cpu_times()
                    timeline.append((now, proc.pid, _mem(proc), kind, t.user + t.system))
                except (psutil.Error, ProcessLookupError):
                    continue
            time.sleep(interval)
        wall = time.time() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({child.returncode}):\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["wall_process"] = wall
    result["timeline"] = timeline
    return result


def _cluster_cpu(timeline: list[tuple[float, int, int, str, float]], start: float, end: float) -> dict[str, float]:
    """CPU seconds the Ray cluster's processes used within [start, end], from the samples: per
    process, its last sample in the window minus its last sample before it (0 if it is new)."""
    before: dict[int, float] = {}
    last: dict[int, tuple[float, str]] = {}
    for t, pid, _, kind, cpu in timeline:
        if kind not in ("ray-worker", "ray-daemon"):
            continue
        if t < start:
            before[pid] = cpu
        elif t <= end:
            last[pid] = (cpu, kind)
    out = {"ray-worker": 0.0, "ray-daemon": 0.0}
    for pid, (cpu, kind) in last.items():
        out[kind] += cpu - before.get(pid, 0.0)
    return out


def _kind(proc: Any, driver: int, sessions: list[int]) -> str:
    if proc.pid == driver:
        return "driver"
    if sessions and os.getsid(proc.pid) in sessions:
        cmd = proc.cmdline()
        is_worker = bool(cmd) and (cmd[0].startswith("ray::") or any("default_worker.py" in c for c in cmd[:3]))
        return "ray-worker" if is_worker else "ray-daemon"
    return "forked-worker"


def _peaks(timeline: list[tuple[float, int, int, str, float]], start: float, end: float) -> dict[str, float]:
    """Largest single process (by kind) and largest sum over processes, in MB, within a window."""
    per_pid: dict[int, tuple[int, str]] = {}
    sums: dict[float, int] = {}
    for t, pid, pss, kind, _ in timeline:
        if start <= t <= end:
            if pss > per_pid.get(pid, (0, ""))[0]:
                per_pid[pid] = (pss, kind)
            if kind != "ray-daemon":
                sums[t] = sums.get(t, 0) + pss
    out = {"max_process_mb": max((p for p, _ in per_pid.values()), default=0) / 2**20,
           "sum_mb": max(sums.values(), default=0) / 2**20}
    for kind in ("driver", "forked-worker", "ray-worker"):
        values = [p for p, k in per_pid.values() if k == kind]
        if values:
            out[f"{kind}_mb"] = max(values) / 2**20
    return out


# ---- Ray clusters on this machine -------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """`ray start --block` processes (each its own session, stopped by their ids)."""

    def __init__(self, nodes: int, cpus_per_node: int) -> None:
        self.temp = tempfile.mkdtemp(prefix="cqia-bray-", dir="/tmp")
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONPATH": str(REPO)}
        base = [str(BIN / "ray"), "start", "--block", f"--num-cpus={cpus_per_node}", "--disable-usage-stats",
                "--node-ip-address=127.0.0.1", f"--temp-dir={self.temp}", "--object-store-memory=200000000"]
        started = time.time()
        self.procs.append(subprocess.Popen(base + ["--head", f"--port={self.port}", "--include-dashboard=false"],
                                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           start_new_session=True))
        self._wait(1)
        self.head_seconds = time.time() - started
        def add_nodes() -> None:
            for _ in range(nodes - 1):
                self.procs.append(subprocess.Popen(base + [f"--address={self.address}"], env=env,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                   start_new_session=True))

        add_nodes()
        try:
            self._wait(nodes, timeout=150)
        except subprocess.SubprocessError:  # a node start that lost a race with the head: once more
            extra, self.procs = self.procs[1:], self.procs[:1]
            _stop_groups(extra)
            add_nodes()
            self._wait(nodes)
        self.start_seconds = time.time() - started

    def _wait(self, nodes: int, timeout: float = 300) -> None:
        deadline = time.time() + timeout
        code = ("import ray,sys,time\nray.init(address=sys.argv[1],log_to_driver=False,configure_logging=False)\n"
                "while sum(n['Alive'] for n in ray.nodes())<int(sys.argv[2]): time.sleep(0.3)\n")
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        subprocess.run([PY, "-c", code, self.address, str(nodes)], check=True, timeout=timeout,
                       env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}, capture_output=True)

    @property
    def sessions(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        _stop_groups(self.procs)
        shutil.rmtree(self.temp, ignore_errors=True)


def _stop_groups(procs: list[subprocess.Popen]) -> None:
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
        for proc in procs:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + wait
        while time.time() < deadline and any(_alive_group(p) for p in procs):
            time.sleep(0.2)


def _alive_group(proc: subprocess.Popen) -> bool:
    proc.poll()
    try:
        os.killpg(proc.pid, 0)
        return True
    except ProcessLookupError:
        return False


def ray_overheads(cluster: Cluster) -> dict[str, float]:
    """A new job's connection, its first tasks (worker start-up with code shipped) and per-task cost."""
    code = (
        "import json,sys,time\nsys.path.insert(0,sys.argv[2])\n"
        "from curation.pipeline.executors import RayExecutor\n"
        "def noop(s,i): return i\n"
        "t=time.time(); ex=RayExecutor(sys.argv[1]); c=time.time()-t\n"
        "t=time.time(); list(ex.map_unordered(noop,None,list(range(2*ex.workers)))); w=time.time()-t\n"
        "t=time.time(); list(ex.map_unordered(noop,None,list(range(200)))); p=(time.time()-t)/200\n"
        "print(json.dumps({'connect_s':c,'first_tasks_s':w,'per_task_ms':p*1000}))\n"
    )
    out = subprocess.run([PY, "-c", code, cluster.address, str(REPO)], capture_output=True, text=True, check=True,
                         env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- LLM client on the driver ----------------------------------------------------------------------
def llm_driver(requests: int, concurrency: int) -> dict[str, float]:
    """Requests/s and the driver's CPU per request, client against the scripted server process."""
    server = subprocess.Popen([PY, "-m", "curation.llm.fake_server", "--host", "127.0.0.1", "--port", "0"],
                              stdout=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        base_url = server.stdout.readline().strip()
        code = (
            "import json,sys,time,resource\nsys.path.insert(0,sys.argv[1])\n"
            "from curation.llm.client import LLMClient, ChatRequest\n"
            "c=LLMClient(base_url=sys.argv[2],model='fake-model',api_key='k',concurrency=int(sys.argv[4]))\n"
            "reqs=[ChatRequest(key=f'k{i}',messages=[{'role':'user','content':f'问题{i}：请解释一下。'}]) "
            "for i in range(int(sys.argv[3]))]\n"
            "u0=resource.getrusage(resource.RUSAGE_SELF); t=time.time()\n"
            "n=sum(1 for r in c.chat_many(reqs,progress=False) if hasattr(r,'text'))\n"
            "w=time.time()-t; u1=resource.getrusage(resource.RUSAGE_SELF)\n"
            "cpu=(u1.ru_utime+u1.ru_stime)-(u0.ru_utime+u0.ru_stime)\n"
            "print(json.dumps({'ok':n,'seconds':w,'req_per_s':n/w,'driver_cpu_ms_per_req':1000*cpu/max(n,1)}))\n"
        )
        out = subprocess.run([PY, "-c", code, str(REPO), base_url, str(requests), str(concurrency)],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait()


# ---- main ----------------------------------------------------------------------------------------------
def _stage_digest(run: Path, stage: str) -> str:
    digest = hashlib.sha256()
    for path in sorted((run / stage).glob("*.jsonl")):
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _fresh_run(corpus_run: Path, target: Path) -> Path:
    """A run directory whose `ingest-bench` is the corpus's (symlinked, not copied)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    (target / "ingest-bench").symlink_to((corpus_run / "ingest-bench").resolve())
    (target / "run.json").write_text(json.dumps({"stages": ["ingest-bench"]}))
    return target


def bench_executor(name: str, corpus_run: Path, work: Path, runs: int, workers: int) -> dict[str, Any]:
    cluster = None
    result: dict[str, Any] = {"stages": {}}
    try:
        if name.startswith("ray"):
            nodes = 1 if name == "ray1" else 2
            cluster = Cluster(nodes, workers // nodes)
            result["cluster_start_s"] = round(cluster.start_seconds, 1)
            result["head_start_s"] = round(cluster.head_seconds, 1)
            result["overheads"] = ray_overheads(cluster)
        run = _fresh_run(corpus_run, work / f"run-{name}")
        sessions = cluster.sessions if cluster else []
        for stage in STAGES:
            samples = []
            for _ in range(runs):
                cmd = [PY, __file__, "--worker", stage, "--run", str(run), "--executor",
                       "local" if name == "local" else "ray", "--workers", str(workers)]
                if cluster:
                    cmd += ["--address", cluster.address]
                samples.append(measure(cmd, sessions))
            result["stages"][stage] = _summarise(stage, samples)
            result["stages"][stage]["digest"] = _stage_digest(run, stage)
            print(f"[{name}] {stage}: {json.dumps({k: v for k, v in result['stages'][stage].items() if k != 'phases'})}",
                  file=sys.stderr, flush=True)
    finally:
        if cluster:
            cluster.stop()
    return result


def _summarise(stage: str, samples: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [s["marks"]["stage_end"] - s["marks"]["stage_start"] for s in samples]
    clusters = [_cluster_cpu(s["timeline"], s["marks"]["stage_start"], s["marks"]["stage_end"]) for s in samples]
    cpus = [s["driver_cpu"] + c["ray-worker"] for s, c in zip(samples, clusters, strict=True)]
    records = samples[0]["counts"]["in"]
    mid = samples[walls.index(statistics.median_low(walls))]
    marks = mid["marks"]
    out: dict[str, Any] = {
        "records": records, "tasks": mid["tasks"],
        "wall_s_median": round(statistics.median(walls), 2), "wall_s_all": [round(w, 2) for w in walls],
        "cpu_s_median": round(statistics.median(cpus), 2),  # driver (+ local workers) + Ray workers
        "ray_daemons_cpu_s_median": round(statistics.median(c["ray-daemon"] for c in clusters), 2),
        "records_per_s": round(records / statistics.median(walls)),
        "memory": _peaks(mid["timeline"], marks["stage_start"], marks["stage_end"]),
    }
    if "connected" in marks:
        out["job_start_s"] = round(marks["warm"] - marks["process_start"], 2)
    if stage == "dedup" and len(mid["calls"]) >= 1:
        scan = mid["calls"][0]
        filt = mid["calls"][1] if len(mid["calls"]) > 1 else {"start": scan["end"], "end": marks["stage_end"]}
        windows = {"1_signatures": (scan["start"], scan["end"]), "2_clustering": (scan["end"], filt["start"]),
                   "3_filter": (filt["start"], marks["stage_end"])}
        out["phases"] = {k: {"wall_s": round(b - a, 2), "memory": _peaks(mid["timeline"], a, b)}
                         for k, (a, b) in windows.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20k records, 2 runs, local and ray1")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2, help="CPUs used by every executor")
    parser.add_argument("--executors", default=None, help="comma list of local, ray1, ray2")
    parser.add_argument("--out", type=Path, default=None, help="corpus directory (reused when it matches)")
    parser.add_argument("--work", type=Path, default=None, help="scratch run directories")
    parser.add_argument("--json", type=Path, default=None, help="write the result here too")
    parser.add_argument("--no-llm", action="store_true")
    parser.add_argument("--worker", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--executor", help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.run, args.executor, args.address, args.workers)
        return
    n = args.n or (20_000 if args.quick else 1_000_000)
    runs = args.runs or (2 if args.quick else 1)
    executors = (args.executors or ("local,ray1" if args.quick else "local,ray1,ray2")).split(",")
    out = args.out or REPO / "runs" / f"bench-scaling-{n}"
    work = args.work or out / "work"
    from make_bench_corpus import build

    corpus = build(n, out)
    load = os.getloadavg()
    result: dict[str, Any] = {"corpus": {k: corpus[k] for k in ("records", "chars", "mean_chars")},
                              "machine": {"cpus": os.cpu_count(), "loadavg_start": load}, "runs": runs,
                              "workers": args.workers, "executors": {}}
    for name in executors:
        result["executors"][name] = bench_executor(name, out / "run", work, runs, args.workers)
    digests = {name: {s: r["stages"][s]["digest"] for s in STAGES} for name, r in result["executors"].items()}
    result["identical_outputs"] = len({json.dumps(d, sort_keys=True) for d in digests.values()}) == 1
    if not args.no_llm:
        result["llm_driver"] = llm_driver(400 if args.quick else 3000, 32)
    result["machine"]["loadavg_end"] = os.getloadavg()
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
