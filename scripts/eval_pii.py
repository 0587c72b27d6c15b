"""Precision/recall of cqia's PII detector on the labelled Chinese snippet set.

    python scripts/eval_pii.py [--data tests/fixtures/pii/labelled.jsonl] [--json] [--show-errors]

Targets: recall >= 0.99 and precision >= 0.95 on the checksum categories (id_card, bank_card).
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curation.stages.pii import CHECKSUM_TYPES, evaluate, find_pii  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pii" / "labelled.jsonl"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show-errors", action="store_true")
    args = ap.parse_args()
    snippets = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    result = evaluate(snippets)
    ok = all(result.get(k, {}).get("recall", 0) >= 0.99 and result.get(k, {}).get("precision", 0) >= 0.95
             for k in CHECKSUM_TYPES)
    if args.json:
        print(json.dumps({"snippets": len(snippets), "per_type": result, "targets_met": ok}, ensure_ascii=False, indent=2))
    else:
        print(f"{len(snippets)} snippets ({sum(not s['entities'] for s in snippets)} without PII)")
        print(f"{'type':<10} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}")
        for kind, r in result.items():
            print(f"{kind:<10} {r['tp']:>4} {r['fp']:>4} {r['fn']:>4} {r['precision']:>9.4f} {r['recall']:>7.4f}")
        print("checksum targets (recall>=0.99, precision>=0.95):", "met" if ok else "MISSED")
    if args.show_errors:
        for s in snippets:
            gold = sorted((e["type"], e["value"]) for e in s["entities"])
            pred = sorted((m.type, m.value) for m in find_pii(s["text"]))
            if gold != pred:
                print(f"- {s['text']}\n  gold={gold}\n  pred={pred}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
