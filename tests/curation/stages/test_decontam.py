"""Decontamination against the real CMMLU CSV and GAOKAO-Bench JSON samples."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from curation.pipeline.runner import run_stage
from curation.stages.decontam import (
    REASON,
    ContaminationIndex,
    DecontamConfig,
    decontam_stage,
    load_questions,
)
from tests.curation.stages.dedup.helpers import make_record, upstream_run


@pytest.fixture
def exam_files(samples_dir: Path) -> list[Path]:
    exam = samples_dir / "exam"
    return [exam / "cmmlu__dev_logical.csv", exam / "cmmlu__dev_chinese_civil_service_exam.csv",
            exam / "gaokao-bench__2010-2022_Chinese_Lang_and_Usage_MCQs.json"]


def _gaokao(exam_files: list[Path]) -> list[dict]:
    return json.loads(exam_files[2].read_text("utf-8"))["example"]


def test_loads_csv_and_gaokao_questions(exam_files: list[Path]) -> None:
    questions = load_questions(exam_files)
    refs = {q.ref.split("#")[0] for q in questions}
    assert refs == {"cmmlu__dev_logical", "cmmlu__dev_chinese_civil_service_exam",
                    "gaokao-bench__2010-2022_Chinese_Lang_and_Usage_MCQs"}
    logical = [q for q in questions if q.ref.startswith("cmmlu__dev_logical")]
    assert len(logical) == 5 and "推论" in logical[0].text  # options are part of the indexed text


def test_unknown_format_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "test.parquet"
    bad.write_bytes(b"x")
    with pytest.raises(ValueError, match="unsupported"):
        load_questions([bad])


def test_flags_copied_and_lightly_edited_questions(exam_files: list[Path]) -> None:
    index = ContaminationIndex(load_questions(exam_files), DecontamConfig())
    with exam_files[0].open(encoding="utf-8") as handle:
        row = list(csv.DictReader(handle))[1]
    copied = f"{row['Question']}\nA.{row['A']} B.{row['B']} C.{row['C']} D.{row['D']}"
    found = index.match(copied)
    assert found is not None and found[0].ref == "cmmlu__dev_logical#1" and found[1] == 1.0

    q = _gaokao(exam_files)[3]["question"]
    edited = "请回答下面的题目：" + q.replace("。", "，", 2)  # prefix + punctuation edits
    found = index.match(edited)
    assert found is not None and found[0].ref.endswith("#3") and found[1] > 0.9


def test_does_not_flag_same_topic_or_boilerplate(exam_files: list[Path]) -> None:
    index = ContaminationIndex(load_questions(exam_files), DecontamConfig())
    assert index.match("亚里士多德是古希腊哲学家，他对逻辑学的贡献是什么？") is None
    # Exam boilerplate shared by many GAOKAO questions is not evidence of contamination.
    assert index.match("下列各句中，加点的成语使用恰当的一项是哪一个？请说明理由。") is None


def test_stage_drops_or_flags(run_dir: Path, exam_files: list[Path]) -> None:
    q = _gaokao(exam_files)[0]["question"]
    records = [
        make_record("请解答：", "B", input=q, key="leak"),
        make_record("如何提高语文成绩？", "多读多写，积累词汇，练习审题。", key="clean"),
    ]
    run = upstream_run(run_dir, records)
    config = DecontamConfig(against=[str(p) for p in exam_files])
    manifest = run_stage(run, decontam_stage(run, "filter", config), progress=False).manifest
    assert manifest["counts"]["dropped"] == {REASON: 1}
    reject = next(run.iter_rejects("decontam"))
    assert reject["id"] == records[0].id and "gaokao" in reject["detail"]
    assert any("sha256" in i for i in manifest["inputs"])

    flag = DecontamConfig(against=[str(p) for p in exam_files], action="flag")
    manifest = run_stage(run, decontam_stage(run, "filter", flag, name="decontam-flag"), progress=False).manifest
    assert manifest["counts"]["kept"] == 2
    flagged = {r.id: r.stats.get("contamination") for r in run.iter_records("decontam-flag")}
    assert flagged[records[0].id]["overlap"] > 0.9 and flagged[records[1].id] is None


def test_recipe_plugin_builds_decontaminate_stage(run_dir: Path, exam_files: list[Path]) -> None:
    from curation.pipeline.recipe import Recipe
    from curation.stages.decontam import build_stage

    q = _gaokao(exam_files)[1]["question"]
    run = upstream_run(run_dir, [make_record("请解答：", "C", input=q, key="leak")])
    recipe = Recipe.model_validate({"decontaminate": {"against": [str(exam_files[2])], "action": "flag"}})
    manifest = run_stage(run, build_stage(run, "filter", recipe), progress=False).manifest
    assert manifest["stage"] == "decontaminate" and manifest["counts"]["kept"] == 1
    assert next(run.iter_records("decontaminate")).stats["contamination"]["overlap"] > 0.9
