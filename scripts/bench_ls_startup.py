"""Where Label Studio start-up time goes, before and after the project's fixes (docs/benchmarks.md).

    .venv/bin/python scripts/bench_ls_startup.py            # before and after, each with a cold cache
    .venv/bin/python scripts/bench_ls_startup.py --after    # only the current behaviour

Timed, each from Popen until the API answers with the admin token:
  first start   a new, empty data dir (database migrations);
  restart       the same data dir again (migrations already applied);
  new data dir  another new data dir once the cache is warm (template database copied in);
and `cqia annotate users add` as a user runs it (a subprocess of the CLI against the running server).
"before" = the server as started until v13: no bytecode kept when PYTHONDONTWRITEBYTECODE is set
(as in this workplace's environment) and no template database. Both runs use a fresh cache dir.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import annotation.server as server_mod  # noqa: E402
from annotation.server import start_server  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def timed_start(data_dir: Path) -> tuple[float, server_mod.LocalServer]:
    started = time.perf_counter()
    server = start_server(data_dir, timeout=900)
    return time.perf_counter() - started, server


def users_add(server: server_mod.LocalServer, email: str) -> float:
    env = {**os.environ, "CQIA_LS_URL": server.url, "CQIA_LS_API_KEY": server.creds.token,
           "CQIA_LS_CONFIG": "/nonexistent/cqia-ls.json", "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "curation.cli", "annotate", "users", "add", email,
                    "--password", "bench-pass-12345"], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def measure(label: str, root: Path, *, before: bool) -> dict[str, float]:
    os.environ["CQIA_CACHE_DIR"] = str(root / "cache")
    os.environ["CQIA_LS_TEMPLATE"] = "0" if before else "1"
    saved = server_mod._bytecode_cache
    if before:
        server_mod._bytecode_cache = lambda env: None  # type: ignore[assignment]
    out: dict[str, float] = {}
    try:
        out["first start"], server = timed_start(root / "d1")
        out["users add (CLI)"] = users_add(server, f"{label}@bench.test")
        server.stop()
        out["restart"], server = timed_start(root / "d1")
        server.stop()
        out["new data dir"], server = timed_start(root / "d2")
        server.stop()
    finally:
        server_mod._bytecode_cache = saved
    out["load average (1 min) at end"] = os.getloadavg()[0]
    print(label, json.dumps({k: round(v, 1) for k, v in out.items()}), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--after", action="store_true", help="only measure the current behaviour")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-ls-") as tmp:
        if not args.after:
            results["before"] = measure("before", Path(tmp) / "before", before=True)
        results["after"] = measure("after", Path(tmp) / "after", before=False)
    print(json.dumps({k: {m: round(v, 1) for m, v in r.items()} for k, r in results.items()}, indent=2))


if __name__ == "__main__":
    main()
