"""Helpers shared by the benchmark scripts: run a child process and sample its tree's peak RSS.

Stdlib + psutil only: the data-juicer side runs this file's callers in its own venv too.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DJ_VENV = Path(os.environ.get("CQIA_DJ_VENV", REPO / ".venv-dj"))


def _pss(proc: Any) -> int:
    """Proportional set size: forked workers' shared pages are not counted twice (RSS would)."""
    try:
        return int(proc.memory_full_info().pss)
    except (AttributeError, OSError):
        return int(proc.memory_info().rss)


def measure(cmd: list[str], *, env: dict[str, str] | None = None, interval: float = 0.1) -> dict[str, Any]:
    """Wall seconds and peak memory (PSS summed over the process tree, sampled) of a command."""
    import psutil

    # Output goes to files, not pipes: a chatty child (tqdm) would block on a full pipe.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=out, stderr=err)
        parent = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            try:
                peak = max(peak, sum(_pss(p) for p in [parent, *parent.children(recursive=True)]))
            except psutil.Error:
                pass
            time.sleep(interval)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return {"wall_seconds": seconds, "peak_mem_mb": peak / 2**20, "stdout": stdout}


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
