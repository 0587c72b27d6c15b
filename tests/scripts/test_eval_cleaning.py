"""scripts/eval_cleaning.py: exact match per defect kind, traps apart, exit status on the targets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _case(i: int, field: str, dirty: str, expected: str, kinds: list[str]) -> dict:
    return {"id": f"t{i}", "field": field, "dirty": dirty, "expected": expected, "kinds": kinds,
            "trap": not kinds, "note": ""}


def _run(tmp_path: Path, cases: list[dict]) -> tuple[int, dict]:
    data = tmp_path / "cases.jsonl"
    data.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "eval_cleaning.py"), "--data", str(data), "--json"],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, json.loads(proc.stdout)


def test_scores_per_kind_and_exit_status(tmp_path: Path) -> None:
    cases = [
        _case(1, "output", "好的\u200b，谢谢。\n\n编辑于 2024-01-01", "好的，谢谢。", ["invisible", "boilerplate"]),
        _case(2, "input", "下列哪个是质数？\nA.\nB.", "下列哪个是质数？", ["dangling_options"]),
        _case(3, "instruction", "下列哪个是质数？\nA.\nB.", "下列哪个是质数？\nA.\nB.", []),  # input-only rule
    ]
    code, result = _run(tmp_path, cases)
    assert code == 0 and result["targets_met"]
    assert result["per_kind"]["invisible"] == {"fixed": 1, "total": 1, "share": 1.0}
    assert result["traps"] == {"unchanged": 1, "total": 1, "share": 1.0}

    cases[1]["expected"] = "下列哪个是质数？\nA."  # a label the cleaner does not produce
    code, result = _run(tmp_path, cases)
    assert code == 1 and not result["targets_met"]
    assert result["dirty"] == {"fixed": 1, "total": 2, "share": 0.5}
    assert result["per_kind"]["dangling_options"]["fixed"] == 0
