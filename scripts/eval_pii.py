"""Score cqia's PII detector on a labelled set: exact (start, end, type) spans per type.

    python scripts/eval_pii.py [--data tests/fixtures/pii_eval/cases.jsonl] [--json] [--show-errors]

Reads the evaluation layout (`spans` with offsets) or the older layout (`entities` with
values), told apart per line.
Targets (shared/design/pii-standard.md, issue 11): precision >= 0.97 and recall >= 0.99 on
id_card, bank_card, mobile, email; >= 0.95 / 0.95 on landline, ipv4, qq, wechat; at most 2% of
lookalike-only lines touched. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curation.stages.pii.score import CaseError, load_cases, missed_targets, score  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pii_eval" / "cases.jsonl"


def _print_table(report: dict) -> None:
    look = report["lookalike_only"]
    print(f"{report['lines']} lines, {look['lines']} lookalike-only")
    print(f"{'type':<10} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}")
    for kind, r in [*report["per_type"].items(), ("all", report["micro"])]:
        print(f"{kind:<10} {r['tp']:>4} {r['fp']:>4} {r['fn']:>4} {r['precision']:>9.4f} {r['recall']:>7.4f}")
    print(f"lookalike-only lines touched: {look['touched']}/{look['lines']} = {look['rate']:.4f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--show-errors", action="store_true", help="list missed and spurious spans per line (stderr)")
    args = ap.parse_args(argv)
    try:
        cases = load_cases(args.data)
    except (OSError, CaseError) as exc:
        print(f"eval_pii: {exc}", file=sys.stderr)
        return 2
    report = score(cases)
    missed = missed_targets(report)
    errors = report.pop("errors")
    if args.json:
        print(json.dumps({"data": str(args.data), **report, "targets_missed": missed},
                         ensure_ascii=False, indent=2))
    else:
        _print_table(report)
        print("targets:", "met" if not missed else "MISSED: " + "; ".join(missed))
    if args.show_errors:
        for e in errors:
            print(f"- {e['id']}: {e['text']}", file=sys.stderr)
            for s in e["missed"]:
                print(f"    missed   {s['type']:<9} [{s['start']}:{s['end']}] {s['value']!r}", file=sys.stderr)
            for s in e["spurious"]:
                print(f"    spurious {s['type']:<9} [{s['start']}:{s['end']}] {s['value']!r}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
