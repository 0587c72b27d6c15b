"""`cqia dedup` and `cqia decontam` on a run directory."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from curation.cli import app
from curation.pipeline.rundir import RunDir
from tests.curation.stages.dedup.helpers import make_record, upstream_run

Q = "为什么天空是蓝色的？"
A = "因为大气中的气体分子对波长较短的蓝光散射更强，这种现象叫瑞利散射，所以我们看到的天空是蓝色的。"


def test_dedup_then_decontam_commands(run_dir: Path, samples_dir: Path) -> None:
    records = [make_record(Q, A, key="a"), make_record(Q, A.replace("，", ","), key="b"),
               make_record("论证的三重功能不包括", "B", input="A.证成 B.推论 C.说服 D.反驳", key="c")]
    upstream_run(run_dir, records)
    cli = CliRunner()
    result = cli.invoke(app, ["dedup", str(run_dir), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert (run_dir / "dedup" / "clusters.jsonl").exists()
    exam = samples_dir / "exam" / "cmmlu__dev_logical.csv"
    result = cli.invoke(app, ["decontam", str(run_dir), "--against", str(exam)])
    assert result.exit_code == 0, result.output
    run = RunDir(run_dir)
    assert run.require_manifest("dedup")["counts"]["dropped"] == {"exact_duplicate": 1}
    assert run.require_manifest("decontam")["counts"]["dropped"] == {"benchmark_contamination": 1}
    assert run.count("decontam") == 1


def test_decontam_missing_file_fails_clearly(run_dir: Path) -> None:
    upstream_run(run_dir, [make_record(Q, A)])
    result = CliRunner().invoke(app, ["decontam", str(run_dir), "--against", str(run_dir / "nope.csv")])
    assert result.exit_code == 1 and "not found" in result.output
