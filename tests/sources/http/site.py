"""Start `scripts/sample_site_server.py` as a real process on 127.0.0.1 (no HTTP mocks)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SERVER = REPO / "scripts" / "sample_site_server.py"


@contextmanager
def sample_site(*args: str) -> Iterator[str]:
    """Base URL of a fresh server process; the process is terminated (by pid) afterwards."""
    proc = subprocess.Popen([sys.executable, str(SERVER), *args], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        if not line.startswith("READY "):
            raise RuntimeError(f"sample site server did not start: {line!r}")
        yield line.split(" ", 1)[1]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def request_log(base: str) -> list[str]:
    with urllib.request.urlopen(f"{base}/_log", timeout=5) as response:
        return json.loads(response.read())
