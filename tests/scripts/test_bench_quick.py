"""The benchmark scripts run end to end in quick mode (no timing assertions; data-juicer skipped:
it lives in its own venv that CI need not build)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(script: str, tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), "--quick", "--no-dj", "--n", "3000",
         "--out", str(tmp_path / "corpus"), "--json", str(out), *extra],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_bench_dedup_quick_measures_precision_recall(tmp_path: Path) -> None:
    result = _run("bench_dedup.py", tmp_path)
    ours = result["tools"]["cqia"]
    assert result["corpus"]["records"] == 3000 and result["corpus"]["generated_duplicates"] > 100
    # Measured on the labelled pairs, not constants: a broken dedup would score near 0 here.
    assert ours["generated_labels"]["recall"] > 0.5 and ours["generated_labels"]["precision"] > 0.9
    assert ours["kept"] < 3000 and ours["peak_mem_mb_median"] > 0


def test_bench_curation_quick_runs_chain_and_ceiling(tmp_path: Path) -> None:
    result = _run("bench_curation.py", tmp_path)
    assert set(result["tools"]) == {"ceiling", "cqia-matched", "cqia-default"}
    assert result["tools"]["ceiling"]["detail"]["kept"] == 3000
    default, matched = result["tools"]["cqia-default"]["detail"], result["tools"]["cqia-matched"]["detail"]
    assert default["stages"] == ["clean", "filter", "dedup"] and matched["stages"][:1] == ["clean"]
    assert "dedup" not in matched["stages"]  # the matched chain runs what data-juicer's side runs
    assert len(default["outcome_sha256"]) == 64 and default["outcome_sha256"] != matched["outcome_sha256"]


def test_bench_cleaning_quick_reports_cpu_time_per_record() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "bench_cleaning.py"), "--quick", "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["runs"] == 3 and result["samples"]["records"] > 1000 and result["dirty"]["records"] == 380
    assert result["samples"]["us_per_record"] > 0


def test_bench_curate_memory_reports_peaks_per_stage(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "bench_curate_memory.py"), "--n", "3000",
                           "--out", str(tmp_path / "corpus")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["records"] == 3000 and set(result["stage_seconds"]) == {"clean", "filter", "dedup"}
    assert 0 < result["peak_main_rss_mb"] <= result["peak_tree_rss_mb"]
    dedup_phases = {"dedup:1-signatures", "dedup:2-clustering", "dedup:3-filter"}
    assert result["per_stage"] and set(result["per_stage"]) <= {"clean", "filter", "start-up/exit", *dedup_phases}
    assert "clean" in result["per_stage"] and set(result["per_stage"]) & dedup_phases
