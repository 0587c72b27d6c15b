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


def _stage_lines(stage: Path, kind: str) -> list[bytes]:
    import json

    manifest = json.loads((stage / "_MANIFEST.json").read_text())
    return [line for f in manifest["shards"] if f["kind"] == kind for line in (stage / f["path"]).read_bytes().splitlines()]


def test_import_of_a_split_json_lines_file_equals_the_whole_file_read(tmp_path: Path) -> None:
    """`ingest import` splits a JSON Lines file longer than --shard-size into line-range tasks run by
    two workers: the records (in shard order), the rejects with their file:line and the counts are
    those of the unsplit read, and a run killed after some tasks resumes to the same output."""
    import json

    rows = [json.dumps({"instruction": f"问题{i}", "input": "", "output": f"回答{i}"}, ensure_ascii=False)
            for i in range(30)]
    rows[3], rows[4], rows[11] = '{"instruction": "坏', "", '{"instruction": "无答案"}'  # lines 4, 5 (blank), 12
    data = tmp_path / "data.jsonl"
    data.write_text("\r\n".join(rows), encoding="utf-8")  # CRLF, no final newline
    env = {**os.environ, "COLUMNS": "400", "PYTHONPATH": str(REPO), "CQIA_WORKERS": "2"}

    def run(run_dir: str, shard_size: int) -> Path:
        proc = subprocess.run([sys.executable, "-m", "curation.cli", "ingest", "import", "--format", "alpaca",
                               str(data), "--source", "demo", "--run", run_dir, "--shard-size", str(shard_size)],
                              cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return tmp_path / run_dir / "ingest-demo"

    whole, split = run("whole", 1000), run("split", 4)
    manifest = json.loads((split / "_MANIFEST.json").read_text())
    assert json.loads((whole / "_MANIFEST.json").read_text())["tasks"] == 1 and manifest["tasks"] == 8
    assert manifest["counts"]["in"] == 29 and manifest["counts"]["kept"] == 27 and manifest["counts"]["invalid_total"] == 2
    assert _stage_lines(split, "part") == _stage_lines(whole, "part")
    assert _stage_lines(split, "rejects") == _stage_lines(whole, "rejects")
    rejects = [json.loads(line) for line in _stage_lines(split, "rejects")]
    assert [(r["location"], r["reason"]) for r in rejects] == [(f"{data}:4", "json_decode"), (f"{data}:12", "missing_field")]
    kept = [json.loads(line) for line in _stage_lines(split, "part")]
    assert kept[3]["provenance"]["location"] == f"{data}:6" and kept[3]["record"]["instruction"] == "问题5"
    assert kept[-1]["provenance"]["location"] == f"{data}:30"

    # a kill before task 2 wrote anything: no manifest, none of its markers or files; the re-run
    # skips the 7 finished tasks (25 outcomes) and redoes task 2 only
    expected = _stage_lines(split, "part")
    (split / "_MANIFEST.json").unlink()
    for path in [*(split / "_progress").glob("00002*.json"), split / "part-00002.jsonl", split / "rejects-00002.jsonl"]:
        path.unlink()
    again = run("split", 4)
    assert json.loads((again / "_MANIFEST.json").read_text())["timings"]["resumed_from_outcome"] == 25
    assert _stage_lines(again, "part") == expected
