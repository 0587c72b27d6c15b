"""Release test fixtures: a small real run (COIG-CQIA ruozhiba rows + Alpaca rows with one broken line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def cqia(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curation.cli", *args], capture_output=True, text=True, cwd=REPO)


@pytest.fixture
def built_run(samples_dir: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "坏行"\n{"instruction": "问", "input": "", "output": "答"}\n', encoding="utf-8")
    for args in (
        ["--format", "coig-cqia", str(samples_dir / "coig_cqia" / "cqia_ruozhiba_first20.jsonl"), "--source", "ruozhiba"],
        ["--format", "alpaca", str(samples_dir / "instruct_zh" / "llama-factory__alpaca_zh_demo.json"),
         str(bad), "--source", "coig_pc"],
    ):
        result = cqia("ingest", "import", *args, "--run", str(run))
        assert result.returncode == 0, result.stderr
    assert cqia("run", "validate", str(run)).returncode == 0
    return run
