"""`cqia ingest import` -> `run validate` -> `curate`: ingestion checks structure and keeps raw
text, so records with control characters, mojibake C1 characters or a lone CR are not lost
before cleaning; they come out of the clean stage repaired and strict-valid."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from curation.pipeline.rundir import RunDir

REPO = Path(__file__).resolve().parents[3]


def _cqia(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curation.cli", *args], capture_output=True, text=True, cwd=REPO)


def _cp1252_mojibake(text: str) -> str:
    """UTF-8 bytes shown as cp1252, the bytes cp1252 leaves undefined as C1 controls."""
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in text.encode("utf-8"))


# (alpaca item, expected clean instruction/input/output); every text written for this test.
CASES = [
    ({"instruction": "请\x00把下面的句子\x07翻译成英文。", "input": "我爱\x1b北京。", "output": "好的\x0b\n我来翻译。"},
     ("请把下面的句子翻译成英文。", "我爱北京。", "好的\n我来翻译。")),
    ({"instruction": _cp1252_mojibake("怎么煮饺子才不会破？"), "input": "",
      "output": "今天天气很好，适合出去散步。".encode().decode("latin-1")},
     ("怎么煮饺子才不会破？", "", "今天天气很好，适合出去散步。")),
    ({"instruction": "列出三个步骤", "input": "", "output": "第一步洗菜\r第二步切菜\r第三步炒菜\r\n"},
     ("列出三个步骤", "", "第一步洗菜\n第二步切菜\n第三步炒菜")),
    ({"instruction": "\ufeff下列哪个是哺乳动物？", "input": "A. 鲸\nB. 鲨鱼\r\nC.\rD.", "output": "A"},
     ("下列哪个是哺乳动物？", "A. 鲸\nB. 鲨鱼", "A")),
]


def test_dirty_records_survive_ingest_and_come_out_cleaned(tmp_path: Path) -> None:
    assert any(0x80 <= ord(ch) <= 0x9F for ch in CASES[1][0]["instruction"] + CASES[1][0]["output"])
    data = tmp_path / "dirty.jsonl"
    lines = [json.dumps(item, ensure_ascii=False) for item, _ in CASES]
    lines.append(json.dumps({"instruction": "只有问题没有回答"}, ensure_ascii=False))  # a structural fault
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("version: 1\nworkers: 1\npii: {detect: false}\nmetrics: {segmenter: null, langid: null}\n",
                      encoding="utf-8")
    run_path = tmp_path / "run"

    for args in (("ingest", "import", str(data), "--format", "alpaca", "--source", "demo", "--run", str(run_path)),
                 ("run", "validate", str(run_path)),
                 ("curate", str(run_path), "--recipe", str(recipe), "--until", "clean")):
        result = _cqia(*args)
        assert result.returncode == 0, result.stderr

    run = RunDir(run_path)
    ingest = run.require_manifest("ingest-demo")["counts"]
    assert (ingest["in"], ingest["kept"], ingest["invalid"]) == (5, 4, {"missing_field": 1})
    [reject] = list(run.iter_rejects("ingest-demo"))
    assert reject["location"] == f"{data}:5"
    for stage in ("validate", "clean"):
        counts = run.require_manifest(stage)["counts"]
        assert counts["in"] == counts["kept"] == 4, (stage, counts)
    cleaned = {r.provenance.location: r.record for r in run.iter_records("clean")}  # strict validation
    for line, (_, expected) in enumerate(CASES, start=1):
        record = cleaned[f"{data}:{line}"]
        assert (record.instruction, record.input, record.output) == expected
