"""scripts/source_report.py over the real samples (a copy of two families' folders) and a
hand-made folder: per-file counts, the all-rejected flag, unrouted files and the JSON shape."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _report(samples: Path, *extra: str) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "source_report.py"), "--samples", str(samples),
                           "--json", *extra], capture_output=True, text=True, timeout=600)
    return proc.returncode, json.loads(proc.stdout)


def test_report_on_real_samples(samples_dir: Path, tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    for folder in ("exam", "ruozhiba"):
        shutil.copytree(samples_dir / folder, samples / folder)
    (samples / "mystery").mkdir()
    (samples / "mystery" / "x.bin").write_bytes(b"\x00")
    code, report = _report(samples)
    assert code == 0
    rows = {Path(r["file"]).name: r for r in report["files"]}
    ceval_test = rows["mi-optimize__ceval-exam_test_high_school_chinese_test.csv"]
    assert ceval_test == {**ceval_test, "family": "exam", "items": 178, "records": 0, "rejects": 178,
                          "reasons": {"no_answer": 178}, "all_rejected": True, "crashed": None}
    modern = rows["gaokao-bench__2010-2022_Chinese_Modern_Lit.json"]  # 29 passages → 3 records each, 2 rejected
    assert (modern["items"], modern["records"], modern["reasons"]) == (29, 77, {"no_options": 2})
    assert rows["logiqa__zh_test.txt"]["family"] == "logiqa" and rows["logiqa__zh_test.txt"]["records"] == 651
    jokes = rows["ruozhiba-qwen-lora__tieba_best100_all.json"]
    assert (jokes["items"], jokes["records"], jokes["rejects"]) == (100, 100, 0)
    assert rows["x.bin"]["family"] is None and "no route" in rows["x.bin"]["note"]
    exam = report["families"]["exam"]
    assert exam["files"] == 11 and exam["files_all_rejected"] == 1 and exam["reason:no_answer"] == 178
    assert report["families"]["ruozhiba"]["files_all_rejected"] == 1  # the image-only 100-jokes thread


def test_family_filter_and_table(samples_dir: Path, tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    shutil.copytree(samples_dir / "logiqa", samples / "logiqa")
    code, report = _report(samples, "--family", "logiqa")
    assert code == 0 and set(report["families"]) == {"logiqa"}
    assert report["families"]["logiqa"]["items"] == 800  # 500 LogiQA 1.0 blocks + 300 LogiQA 2.0 lines
    table = subprocess.run([sys.executable, str(REPO / "scripts" / "source_report.py"), "--samples", str(samples)],
                           capture_output=True, text=True, timeout=600)
    assert table.returncode == 0 and "Summary per family" in table.stdout and "logiqa2.0__LOGIQA_dev_zh" in table.stdout
