"""One curated run per session for the report tests: real samples + the embedded demo file + a few
hand-written records whose effect is known, curated with the default recipe, and a `verified`
stage written by the real pull code path from hand-made verdicts (no Label Studio needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "curation" / "data" / "demo"

# Hand-written (imitating curation/data/demo/alpaca_zh.jsonl): one record the filter drops for its
# English, a record whose text is HTML that must show as text, and the same answer in traditional
# and simplified script (dedup folds them into one cluster).
MINI = [
    {"instruction": "Translate the phrase into English please", "input": "",
     "output": "This answer is written entirely in English and has no Chinese characters at all."},
    {"instruction": "请解释下面这段 HTML 的作用。", "input": "",
     "output": "<script>alert('xss')</script> 这段代码会弹出一个对话框，网页中不应直接执行来历不明的脚本。"},
    {"instruction": "請問如何在軟體中設定滑鼠的預設速度？", "input": "",
     "output": "打開系統設定，進入滑鼠選項，拖動指標速度的滑桿即可調整，調整後立即生效，不需要重新開機。"},
    {"instruction": "请问如何在软件中设定鼠标的预设速度？", "input": "",
     "output": "打开系统设定，进入鼠标选项，拖动指针速度的滑杆即可调整，调整后立即生效，不需要重新开机。"},
]


def cqia(*args: str | Path) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "curation.cli", *map(str, args)], capture_output=True,
                            text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def hand_verdicts(run: Path) -> dict[str, list]:
    """Verdicts on three ruozhiba records: two accepts (one edit adds 5 characters to the output),
    two rejects, and one accept against one reject (a tie: held)."""
    from annotation.verdicts import Verdict
    from curation.pipeline.rundir import RunDir

    records = [r for r in RunDir(run).iter_records("dedup") if r.source == "ruozhiba"][:3]
    a, b, c = (r.id for r in records)
    edited = records[0].record.output + "（已核对）"
    return {
        a: [Verdict(a, "ann1", "accept_with_edits", output=edited, annotation_id=1, created_at="2025-01-01T00:00:01"),
            Verdict(a, "ann2", "accept", annotation_id=2, created_at="2025-01-01T00:00:02")],
        b: [Verdict(b, "ann1", "reject", reasons=("factual_error",), annotation_id=3, created_at="2025-01-01T00:00:03"),
            Verdict(b, "ann2", "reject", reasons=("factual_error",), annotation_id=4, created_at="2025-01-01T00:00:04")],
        c: [Verdict(c, "ann1", "accept", annotation_id=5, created_at="2025-01-01T00:00:05"),
            Verdict(c, "ann2", "reject", reasons=("off_topic",), annotation_id=6, created_at="2025-01-01T00:00:06")],
    }


@pytest.fixture(scope="session")
def report_run(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path) -> Path:
    from curation.cli.annotate import write_verified_stage

    root = tmp_path_factory.mktemp("report")
    run = root / "run"
    mini = root / "mini.jsonl"
    mini.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in MINI), encoding="utf-8")
    cqia("ingest", "import", samples_dir / "coig_cqia" / "cqia_ruozhiba_first20.jsonl", "--format", "coig-cqia",
         "--source", "ruozhiba", "--run", run)
    cqia("ingest", "import", DEMO / "alpaca_zh.jsonl", mini, "--format", "alpaca", "--source", "demo", "--run", run)
    cqia("run", "validate", run)
    cqia("curate", run, "--workers", "1")
    verdicts = hand_verdicts(run)
    write_verified_stage(run, "dedup", verdicts, pushed=set(verdicts), project="report-test", progress=False)
    return run


@pytest.fixture(scope="session")
def report_dir(report_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report-out") / "report"
    cqia("report", report_run, "--out", out, "--no-progress")
    return out
