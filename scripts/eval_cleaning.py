"""Score cqia's text cleaner against a labelled set written from the cleaning standard.

    python scripts/eval_cleaning.py [--data tests/fixtures/cleaning_eval/cases.jsonl] [--json] [--show-errors]
    python scripts/eval_cleaning.py --cli [--json]     # the same lines through ingest -> validate -> clean

Each line holds one field value (`field` is instruction, input or output: some rules apply to one
field only), the `dirty` text, the `expected` clean text and the defect `kinds` it contains. The
cleaner (default recipe settings) runs on the value in its own field; a line counts as fixed when
the result equals `expected` exactly. A dirty line counts once for each of its kinds; trap lines
(clean text) must come back unchanged.

Targets: dirty fields fixed exactly >= 95 %, clean traps unchanged >= 98 %. Exit status 1 when a
target is missed.

`--cli` writes every line as an Alpaca record (the value in its field, a clean filler in the
others) and runs `ingest import` -> `run validate` -> `curate --until clean` (PII and word metrics
off, so only the cleaner edits text). It reports how many records each stage rejected and how
many came out of the clean stage exactly as labelled; exit 1 when a record is lost before
cleaning or the targets are missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curation.pipeline.recipe import CleanConfig  # noqa: E402
from curation.stages.clean import Cleaner  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT = REPO / "tests" / "fixtures" / "cleaning_eval" / "cases.jsonl"
DIRTY_TARGET = 0.95
TRAP_TARGET = 0.98
FIELDS = ("instruction", "input", "output")


def clean_field(cleaner: Cleaner, field: str, text: str) -> str:
    """The cleaner's result for `text` as the value of `field` (the other two fields empty)."""
    values = ["", "", ""]
    values[FIELDS.index(field)] = text
    return cleaner.clean(*values)[FIELDS.index(field)]


def load_cases(path: Path) -> list[dict[str, Any]]:
    # split("\n"), not splitlines(): a raw U+2028 or U+0085 inside a JSON string is text, not a line end
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def evaluate(cases: list[dict[str, Any]], cleaner: Cleaner | None = None) -> dict[str, Any]:
    """Per-kind and overall exact-match scores, plus the failing cases (with what came out)."""
    cleaner = cleaner or Cleaner(CleanConfig())
    per_kind: dict[str, Counter[str]] = {}
    dirty = Counter[str]()
    traps = Counter[str]()
    errors = []
    for case in cases:
        got = clean_field(cleaner, case["field"], case["dirty"])
        ok = got == case["expected"]
        if case["trap"]:
            traps["total"] += 1
            traps["ok"] += ok
        else:
            dirty["total"] += 1
            dirty["ok"] += ok
            for kind in case["kinds"]:
                counts = per_kind.setdefault(kind, Counter())
                counts["total"] += 1
                counts["ok"] += ok
        if not ok:
            errors.append({**case, "got": got})

    def share(c: Counter[str]) -> float:
        return c["ok"] / c["total"] if c["total"] else 1.0

    result = {
        "cases": len(cases),
        "dirty": {"fixed": dirty["ok"], "total": dirty["total"], "share": round(share(dirty), 4)},
        "traps": {"unchanged": traps["ok"], "total": traps["total"], "share": round(share(traps), 4)},
        "per_kind": {k: {"fixed": c["ok"], "total": c["total"], "share": round(share(c), 4)}
                     for k, c in sorted(per_kind.items())},
    }
    result["targets_met"] = share(dirty) >= DIRTY_TARGET and share(traps) >= TRAP_TARGET
    result["errors"] = errors
    return result


# ---- through the command line ------------------------------------------------------------------
FILLER = {"instruction": "请根据内容回答。", "input": "", "output": "好的，答案如下。"}
CLI_RECIPE = "version: 1\nworkers: 1\npii: {detect: false}\nmetrics: {segmenter: null, langid: null}\n"
SOURCE = "cleaning_eval"


def write_alpaca(cases: list[dict[str, Any]], path: Path) -> None:
    """One Alpaca record per case, line i+1 holding case i (C1 and other characters written raw)."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for case in cases:
            handle.write(json.dumps({**FILLER, case["field"]: case["dirty"]}, ensure_ascii=False) + "\n")


def _cli(*args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "curation.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"cqia {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def through_cli(cases: list[dict[str, Any]], workdir: Path) -> dict[str, Any]:
    """Counts per stage and exact-match scores of what the clean stage kept."""
    from curation.pipeline.rundir import RunDir

    data, run_dir, recipe = workdir / "cases.alpaca.jsonl", workdir / "run", workdir / "recipe.yaml"
    write_alpaca(cases, data)
    recipe.write_text(CLI_RECIPE, encoding="utf-8")
    _cli("ingest", "import", str(data), "--format", "alpaca", "--source", SOURCE, "--run", str(run_dir))
    _cli("run", "validate", str(run_dir))
    _cli("curate", str(run_dir), "--recipe", str(recipe), "--until", "clean")
    run = RunDir(run_dir)
    stages = {name: run.require_manifest(name)["counts"] for name in (f"ingest-{SOURCE}", "validate", "clean")}
    lost: Counter[str] = Counter()
    for name in stages:
        for reject in run.iter_rejects(name):
            reason = reject.get("reason", "?")
            lost[f"{name}: {reason}"] += 1
    reached = {_case_index(row) for _, row in run.iter_rows("validate")}
    got = {_case_index(row): row["record"] for _, row in run.iter_rows("clean")}
    dirty = [i for i, c in enumerate(cases) if not c["trap"]]
    traps = [i for i, c in enumerate(cases) if c["trap"]]

    def exact(i: int) -> bool:
        return i in got and got[i][cases[i]["field"]] == cases[i]["expected"]

    return {
        "records": len(cases),
        "stages": {n: {k: c[k] for k in ("in", "kept", "dropped_total", "invalid_total")} for n, c in stages.items()},
        "rejects": dict(sorted(lost.items())),
        "lost_before_clean": len(cases) - len(reached),
        "dirty_lost_before_clean": sum(i not in reached for i in dirty),
        "dirty_fixed": sum(map(exact, dirty)),
        "dirty_total": len(dirty),
        "traps_unchanged": sum(map(exact, traps)),
        "traps_total": len(traps),
    }


def _case_index(row: dict[str, Any]) -> int:
    """Line i+1 of the Alpaca file holds case i; the record's location names that line."""
    return int(row["provenance"]["location"].rsplit(":", 1)[1]) - 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--json", action="store_true", help="Print the scores as JSON.")
    ap.add_argument("--show-errors", action="store_true", help="Print every case that came out wrong (stderr).")
    ap.add_argument("--cli", action="store_true", help="Run the lines through ingest -> validate -> clean.")
    args = ap.parse_args()
    if args.cli:
        return main_cli(load_cases(args.data), as_json=args.json)
    result = evaluate(load_cases(args.data))
    errors = result.pop("errors")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        d, t = result["dirty"], result["traps"]
        print(f"{result['cases']} cases: {d['total']} dirty, {t['total']} traps")
        print(f"{'kind':<20} {'fixed':>6} {'lines':>6} {'share':>7}")
        for kind, r in result["per_kind"].items():
            print(f"{kind:<20} {r['fixed']:>6} {r['total']:>6} {r['share']:>7.1%}")
        print(f"{'dirty fields fixed':<20} {d['fixed']:>6} {d['total']:>6} {d['share']:>7.1%}  (target {DIRTY_TARGET:.0%})")
        print(f"{'traps unchanged':<20} {t['unchanged']:>6} {t['total']:>6} {t['share']:>7.1%}  (target {TRAP_TARGET:.0%})")
        print("targets:", "met" if result["targets_met"] else "MISSED")
    if args.show_errors:
        for e in errors:
            label = "TRAP" if e["trap"] else ",".join(e["kinds"])
            print(f"- {e['id']} [{e['field']}] {label}: {e.get('note', '')}\n"
                  f"  dirty:    {e['dirty']!r}\n  expected: {e['expected']!r}\n  got:      {e['got']!r}",
                  file=sys.stderr)
    return 0 if result["targets_met"] else 1


def main_cli(cases: list[dict[str, Any]], *, as_json: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="cqia-clean-eval-") as tmp:
        result = through_cli(cases, Path(tmp))
    ok = (result["lost_before_clean"] == 0 and result["dirty_fixed"] >= DIRTY_TARGET * result["dirty_total"]
          and result["traps_unchanged"] >= TRAP_TARGET * result["traps_total"])
    result["targets_met"] = ok
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0 if ok else 1
    print(f"{result['records']} records through ingest import -> run validate -> curate --until clean")
    for name, c in result["stages"].items():
        print(f"  {name:<22} in {c['in']:>4}  kept {c['kept']:>4}  dropped {c['dropped_total']:>4}  "
              f"invalid {c['invalid_total']:>4}")
    for reason, n in result["rejects"].items():
        print(f"    {n:>4}  {reason}")
    print(f"lost before cleaning: {result['lost_before_clean']} "
          f"({result['dirty_lost_before_clean']} of {result['dirty_total']} dirty)")
    print(f"dirty fields fixed exactly after clean: {result['dirty_fixed']}/{result['dirty_total']} "
          f"({result['dirty_fixed'] / result['dirty_total']:.1%})")
    print(f"traps unchanged after clean: {result['traps_unchanged']}/{result['traps_total']} "
          f"({result['traps_unchanged'] / result['traps_total']:.1%})")
    print("targets:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
