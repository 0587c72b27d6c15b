"""Benchmark the LLM client against the local fake OpenAI-compatible server.

1. Sustained requests/s at concurrency 32 (median of runs, fresh keys each run, no cache hits).
2. Resume after kill -9: a child process runs a batch with a response store and is SIGKILLed mid-run;
   the batch is then resumed and the server log is checked: `duplicate_calls` counts stored answers
   that were requested again (must be 0); `in_flight_resent` counts requests the server answered
   while the client was being killed (the answer never reached the store, so it is asked again;
   bounded by the concurrency).

Usage: python scripts/bench_distill.py [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from curation.llm import ChatRequest, ChatResult, LLMClient  # noqa: E402
from curation.llm.cache import ResponseCache  # noqa: E402
from tests.llm_fixtures import FakeLLMServer  # noqa: E402

console = Console(stderr=True)


def throughput(server: FakeLLMServer, n: int, runs: int, concurrency: int) -> dict:
    rates = []
    for run in range(runs):
        reqs = [ChatRequest(f"r{run}-{i}", [{"role": "user", "content": f"基准测试问题 {run}-{i}"}], {"max_tokens": 64})
                for i in range(n)]
        client = LLMClient(server.base_url, "bench", concurrency=concurrency)
        t0 = time.perf_counter()
        ok = sum(isinstance(r, ChatResult) for r in client.chat_many(reqs, progress=False))
        dt = time.perf_counter() - t0
        if ok != n:
            raise SystemExit(f"throughput run {run}: only {ok}/{n} succeeded")
        rates.append(n / dt)
        console.print(f"run {run + 1}/{runs}: {n} requests in {dt:.2f}s = {n / dt:.0f} req/s")
    return {"requests_per_run": n, "runs": runs, "concurrency": concurrency, "req_per_s": [round(r) for r in rates],
            "median_req_per_s": round(statistics.median(rates))}


def resume(server: FakeLLMServer, n: int, concurrency: int, kill_after: int) -> dict:
    server.reset()
    server.set_faults(delay_s=0.005, times=10**9)  # slow answers so the kill lands mid-run
    with tempfile.TemporaryDirectory(prefix="cqia-bench-") as tmp:
        cache = Path(tmp) / "responses.jsonl"
        code = textwrap.dedent(f"""
            from curation.llm import ChatRequest, LLMClient
            rs = [ChatRequest(f"k{{i}}", [{{"role": "user", "content": f"续跑测试 {{i}}"}}]) for i in range({n})]
            for _ in LLMClient({server.base_url!r}, "bench", concurrency={concurrency}, cache_path={str(cache)!r}).chat_many(rs, progress=False):
                pass
        """)
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
        while (not cache.exists() or cache.read_bytes().count(b"\n") < kill_after) and proc.poll() is None:
            time.sleep(0.01)
        proc.kill()
        proc.wait()
        time.sleep(0.3)  # requests in flight at the kill finish (or are dropped) on the server
        server.set_faults([])
        stored_keys = set(ResponseCache(cache).rows)
        stored = len(stored_keys)
        before = server.log(entries=False)
        t0 = time.perf_counter()
        out = list(LLMClient(server.base_url, "bench", concurrency=concurrency, cache_path=cache).chat_many(
            [ChatRequest(f"k{i}", [{"role": "user", "content": f"续跑测试 {i}"}]) for i in range(n)], progress=False))
        dt = time.perf_counter() - t0
        after = server.log(entries=False)
    served = after["per_prompt_served"]
    stored_resent = sum(1 for k in stored_keys if served.get(f"续跑测试 {k[1:]}", 0) > 1)
    return {
        "batch": n, "stored_before_kill": stored, "served_before_kill": before["served"],
        "in_flight_dropped_at_kill": before["by_status"].get("499", 0),
        "resumed_from_store": sum(1 for r in out if isinstance(r, ChatResult) and r.cached),
        "sent_on_resume": after["served"] - before["served"],
        "complete_after_resume": sum(isinstance(r, ChatResult) for r in out) == n,
        # a stored answer must never be requested again
        "duplicate_calls": stored_resent,
        # answered by the server but still in transit when the client died: never stored, so re-sent
        "in_flight_resent": after["duplicate_served"] - stored_resent,
        "resume_seconds": round(dt, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer/smaller runs (about 15 s)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    n, runs = (1000, 3) if args.quick else (4000, 5)
    server = FakeLLMServer.start()
    try:
        tp = throughput(server, n, runs, 32)
        rs = resume(server, 1000 if args.quick else 3000, 32, 300 if args.quick else 1000)
    finally:
        server.stop()
    result = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}, "throughput": tp, "resume": rs}
    table = Table(title="bench_distill")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("req/s @ concurrency 32 (median)", str(tp["median_req_per_s"]))
    table.add_row("req/s per run", ", ".join(map(str, tp["req_per_s"])))
    for k, v in rs.items():
        table.add_row(f"resume: {k}", str(v))
    console.print(table)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if rs["duplicate_calls"] or not rs["complete_after_resume"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
