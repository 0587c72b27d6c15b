"""Helpers shared by the benchmark scripts: run a child process and sample its tree's peak RSS.

Stdlib + psutil only: the data-juicer side runs this file's callers in its own venv too.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DJ_VENV = Path(os.environ.get("CQIA_DJ_VENV", REPO / ".venv-dj"))


def measure(cmd: list[str], *, env: dict[str, str] | None = None, interval: float = 0.05) -> dict[str, Any]:
    """Wall seconds and peak RSS (sum over the process tree, sampled) of a command."""
    import psutil

    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    parent = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = parent.memory_info().rss + sum(c.memory_info().rss for c in parent.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(interval)
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return {"wall_seconds": seconds, "peak_rss_mb": peak / 2**20, "stdout": out.decode()}


def last_json(stdout: str) -> dict[str, Any]:
    """Workers print one JSON object as their last line."""
    return json.loads(stdout.strip().splitlines()[-1])


def ensure_data_juicer() -> Path:
    python = DJ_VENV / "bin" / "python"
    subprocess.run(["bash", str(REPO / "scripts" / "setup_data_juicer.sh")], check=True,
                   stdout=sys.stderr)
    return python


def median(values: list[float]) -> float:
    return float(statistics.median(values))
