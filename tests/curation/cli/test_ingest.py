"""`cqia ingest …` summary: a file whose every item was rejected (or that yielded nothing) gets a
warning line naming it and the top reject reason; productive files get none. Real CLI process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _ingest(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "400", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "curation.cli", "ingest", *args, "--no-progress"], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=300)


def test_all_rejected_file_is_named_at_the_end(samples_dir: Path, tmp_path: Path) -> None:
    for name in ("mi-optimize__ceval-exam_test_high_school_chinese_test.csv", "cmmlu__dev_logical.csv"):
        shutil.copy(samples_dir / "exam" / name, tmp_path / name)
    (tmp_path / "empty.json").write_text('{"keywords": "x", "example": []}', encoding="utf-8")
    proc = _ingest(tmp_path, "exam", "mi-optimize__ceval-exam_test_high_school_chinese_test.csv",
                   "cmmlu__dev_logical.csv", "empty.json", "--run", "run")
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: mi-optimize__ceval-exam_test_high_school_chinese_test.csv: every item was rejected "
        "(178 rejects; top reason no_answer ×178)",
        "warning: empty.json: every item was rejected (1 rejects; top reason unknown_layout ×1)",  # counted
    ]
    # re-running a complete stage is skipped but still reports it
    again = _ingest(tmp_path, "exam", "mi-optimize__ceval-exam_test_high_school_chinese_test.csv",
                    "cmmlu__dev_logical.csv", "empty.json", "--run", "run")
    assert "already complete, skipped" in again.stderr and again.stderr.count("warning:") == 2


def test_no_warning_when_every_file_yields(samples_dir: Path, tmp_path: Path) -> None:
    proc = _ingest(tmp_path, "logiqa", str(samples_dir / "logiqa" / "logiqa2.0__LOGIQA_dev_zh.first300.jsonl"),
                   "--run", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "warning:" not in proc.stderr
