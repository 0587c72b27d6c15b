"""The main job (`cqia demo`) end to end: embedded input → release → local Hub push, verified."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_demo_runs_end_to_end_and_rerun_is_idempotent(tmp_path: Path) -> None:
    run = tmp_path / "demo"
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "curation.cli", "demo", "--run", str(run)]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "verified (tag v0.1.0)" in first.stdout
    assert f"release in {run.resolve() / 'release'}" in first.stdout

    manifests = {p.parent.name: json.loads(p.read_text()) for p in run.glob("*/_MANIFEST.json")}
    ingest = manifests["ingest-demo_alpaca"]["counts"]
    # the two deliberately broken lines of the embedded file are rejected, not lost
    assert ingest["in"] == ingest["kept"] + ingest["invalid_total"] and ingest["invalid_total"] == 2
    rejects = [json.loads(line) for line in (run / "ingest-demo_alpaca" / "rejects-00000.jsonl").read_text().splitlines()]
    assert {r["reason"] for r in rejects} == {"json_decode", "schema"}
    assert all(r["location"].endswith((":13", ":14")) for r in rejects)

    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "already complete, skipped" in second.stderr
    assert "verified (tag v0.1.1)" in second.stdout
