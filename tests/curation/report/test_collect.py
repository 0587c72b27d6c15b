"""The report summary against what the inputs hold (counted by hand or recomputed independently)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from curation.pipeline.rundir import RunDir
from curation.report.stats import Values
from tests.curation.report.conftest import DEMO, MINI


def _summary(report_dir: Path) -> dict:
    return json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))


def test_funnel_counts_every_input_line(report_dir: Path, samples_dir: Path) -> None:
    s = _summary(report_dir)
    ingest = s["funnel"]["overall"][0]
    lines = sum(1 for _ in (samples_dir / "coig_cqia" / "cqia_ruozhiba_first20.jsonl").open()) \
        + sum(1 for line in (DEMO / "alpaca_zh.jsonl").open() if line.strip()) + len(MINI)
    assert ingest["stage"] == "ingest" and ingest["in"] == lines == 20 + 15 + 4
    # the demo file's broken JSON line and its whitespace-only answer are the two invalid items (its
    # \f control character is raw text the cleaner repairs, not a reason to reject)
    assert ingest["invalid"] == {"json_decode": 1, "schema": 1}
    steps = {st["stage"]: st for st in s["funnel"]["overall"]}
    assert steps["filter"]["dropped"].get("low_cjk_ratio", 0) >= 1  # the English record
    assert steps["dedup"]["dropped"]["exact_duplicate"] >= 1  # 中国的首都是哪里？ twice
    assert steps["verified"]["dropped"] == {"rejected_factual_error": 1}
    for step in s["funnel"]["overall"]:
        assert step["in"] == step["kept"] + sum(step["dropped"].values()) + sum(step["invalid"].values())


def test_lengths_match_an_independent_count(report_dir: Path, report_run: Path) -> None:
    s = _summary(report_dir)
    rows = [r for _, r in RunDir(report_run).iter_rows("verified")]
    for field in ("instruction", "output"):
        lengths = [len(r["record"][field]) for r in rows]
        got = s["records"]["overall"]["chars"][field]
        assert got["n"] == len(rows)
        assert got["p50"] == statistics.median_low(lengths)
        assert got["max"] == max(lengths) and got["min"] == min(lengths)
        assert sum(got["hist"]["counts"]) == len(rows)
    ruozhiba = [len(r["record"]["output"]) for r in rows if r["source"] == "ruozhiba"]
    assert s["records"]["by_source"]["ruozhiba"]["chars"]["output"]["p50"] == statistics.median_low(ruozhiba)
    assert s["records"]["by_source"]["ruozhiba"]["answer_from"] == {"llm": len(ruozhiba)}


def test_pii_dedup_and_script_folding_are_reported(report_dir: Path) -> None:
    s = _summary(report_dir)
    assert s["pii_found"]["occurrences"]["mobile"] == 1  # 13812345678 in the demo file
    d = s["dedup"]
    assert d["removed_by_reason"]["exact_duplicate"] >= 1
    assert d["script_folded_removals"] == 1  # the traditional copy of the mouse-speed answer
    folded = [c for c in d["examples"] if c["why_shown"] == "script_folded"]
    assert len(folded) == 1
    texts = {folded[0]["kept"]["text"]["instruction"], folded[0]["removed"][0]["text"]["instruction"]}
    assert texts == {MINI[2]["instruction"], MINI[3]["instruction"]}


def test_annotation_progress_verdicts_agreement_and_edits(report_dir: Path) -> None:
    a = _summary(report_dir)["annotation"]
    assert a["status"]["verified"] == 1 and a["status"]["rejected"] == 1 and a["status"]["held"] == 1
    assert a["verdicts"] == {"reject": 3, "accept": 2, "accept_with_edits": 1}
    assert a["overlapping_records"] == 3 and a["annotators"] == 2
    # units (accept_with_edits, accept), (reject, reject), (accept, reject): one of three unanimous
    assert a["agreement"]["percent_agreement"] == round(1 / 3, 4)
    assert a["edited"] == 1 and a["edit_size"]["max"] == len("（已核对）")
    assert a["reject_reasons"] == {"factual_error": 1}


def test_samples_cover_kept_and_every_reject_reason(report_dir: Path) -> None:
    s = _summary(report_dir)
    assert s["samples"]["kept"]
    keys = set(s["samples"]["rejected"])
    assert {"ingest-demo: json_decode", "ingest-demo: schema", "dedup: exact_duplicate",
            "verified: rejected_factual_error"} <= keys
    english = [x for xs in s["samples"]["rejected"].values() for x in xs if x.get("instruction") == MINI[0]["instruction"]]
    assert english and english[0]["reason"] == "low_cjk_ratio"


def test_values_quantiles_are_nearest_rank() -> None:
    v = Values("chars")
    for x in (1, 2, 2, 3, 10):
        v.add(x)
    assert (v.quantile(0.5), v.quantile(0.95), v.quantile(0.05)) == (2, 10, 1)
    assert v.summary()["mean"] == 3.6


def test_decontamination_hits_per_benchmark(samples_dir: Path, tmp_path: Path) -> None:
    """Two records copy CMMLU questions and one a GAOKAO-Bench question; the fourth copies nothing."""
    import csv

    from curation.pipeline.runner import run_stage
    from curation.report.collect import collect_run
    from curation.stages.decontam import DecontamConfig, decontam_stage
    from tests.curation.stages.dedup.helpers import make_record, upstream_run

    exam = samples_dir / "exam"
    logical = list(csv.DictReader((exam / "cmmlu__dev_logical.csv").open(encoding="utf-8")))
    gaokao = json.loads((exam / "gaokao-bench__2010-2022_Chinese_Lang_and_Usage_MCQs.json").read_text("utf-8"))
    records = [
        make_record(logical[0]["Question"], "答案是D，命题必定有真假。"),
        make_record(logical[1]["Question"] + " A. " + logical[1]["A"], "答案是B。"),
        make_record(gaokao["example"][0]["question"][:300], "答案略。"),
        make_record("北京是哪个国家的首都？", "北京是中国的首都。"),
    ]
    run = upstream_run(tmp_path / "run", records)
    against = [str(exam / "cmmlu__dev_logical.csv"), str(exam / "gaokao-bench__2010-2022_Chinese_Lang_and_Usage_MCQs.json")]
    run_stage(run, decontam_stage(run, "filter", DecontamConfig(against=against)), progress=False)
    s = collect_run(run.root, segmenter=None, progress=False)
    d = s["decontamination"]
    assert d["hits_by_benchmark"] == {"cmmlu__dev_logical": 2, "gaokao-bench__2010-2022_Chinese_Lang_and_Usage_MCQs": 1}
    assert {x["question"] for x in d["examples"]["cmmlu__dev_logical"]} == {"cmmlu__dev_logical#0",
                                                                           "cmmlu__dev_logical#1"}
    assert all(x["dropped"] for xs in d["examples"].values() for x in xs)
