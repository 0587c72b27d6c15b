#!/usr/bin/env python
"""Per-record speed of the text cleaner (`Cleaner.clean`, default recipe settings), in one process.

Corpus: real records from ../shared/samples (COIG-CQIA JSONL files and LLaMA-Factory's
alpaca_zh_demo: instruction/input/output as published, code answers included) plus the dirty
lines of tests/fixtures/cleaning_eval/cases.jsonl. Each run cleans the whole corpus; the median
run is reported as CPU microseconds per record (process time, so other processes on a shared
machine disturb it less than wall time would).

    python scripts/bench_cleaning.py [--quick] [--json] [--code PATH]
    python scripts/bench_cleaning.py --audit FILE.jsonl ...   # rule counts + code round trip on real data

`--code PATH` imports the cleaner from another checkout (e.g. `git worktree add /tmp/old HEAD~3`),
so two versions can be timed back to back on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLES = Path(os.environ.get("CQIA_SAMPLES", REPO.parent / "shared" / "samples"))
CORPUS_FILES = (
    "coig_cqia/COIG-CQIA__segmentfault_segmentfault_upvote5_clean.first80.jsonl",
    "coig_cqia/COIG-CQIA__human_value_100poison.first120.jsonl",
    "coig_cqia/COIG-CQIA__douban_movie_recommendation.jsonl",
    "coig_cqia/COIG-CQIA__chinese_traditional_chengyu.jsonl",
    "coig_cqia/cqia_ruozhiba_first20.jsonl",
    "instruct_zh/llama-factory__alpaca_zh_demo.json",
)
FIELDS = ("instruction", "input", "output")


def load_corpus() -> dict[str, list[tuple[str, str, str]]]:
    """{'samples': real records, 'dirty': eval-set lines placed in their field}."""
    records = []
    for name in CORPUS_FILES:
        path = SAMPLES / name
        text = path.read_text(encoding="utf-8")
        items = json.loads(text) if path.suffix == ".json" else [json.loads(x) for x in text.split("\n") if x.strip()]
        records += [tuple(str(item.get(f) or "") for f in FIELDS) for item in items]
    dirty = []
    cases = REPO / "tests" / "fixtures" / "cleaning_eval" / "cases.jsonl"
    for line in cases.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        case = json.loads(line)
        values = ["", "", ""]
        values[FIELDS.index(case["field"])] = case["dirty"]
        dirty.append(tuple(values))
    return {"samples": records, "dirty": dirty}  # type: ignore[dict-item]


def audit(paths: list[Path], cleaner: Any) -> dict[str, Any]:
    """Clean every field of JSONL instruction files: how many fields each rule edits, and how many
    fields had a code span (fenced or inline) come out different from the input's spans after
    rules 2-3 (control, invisible characters), which also hold inside code. Expected: 0."""
    from collections import Counter

    from curation.stages.clean.code import CODE
    from curation.stages.clean.unicode import fix_controls, remove_invisible

    rules: Counter[str] = Counter()
    records = fields = spans = code_changed = 0
    for path in paths:
        for line in path.read_text(encoding="utf-8").split("\n"):  # not splitlines(): U+2028 is text
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            records += 1
            for name in FIELDS:
                value = row.get(name)
                if not isinstance(value, str) or not value:
                    continue
                fields += 1
                new, fired = cleaner.field(name, value)
                rules.update(fired)
                before = [m.group() for m in CODE.finditer(remove_invisible(fix_controls(value)))]
                spans += len(before)
                code_changed += before != [m.group() for m in CODE.finditer(new)]
    return {"records": records, "fields": fields, "code_spans": spans, "fields_with_code_changed": code_changed,
            "fields_edited_per_rule": dict(rules.most_common())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 runs instead of 15.")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--code", type=Path, default=REPO, help="Checkout whose cleaner is timed.")
    ap.add_argument("--audit", type=Path, nargs="+", help="JSONL instruction files to audit instead of timing.")
    args = ap.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    from curation.pipeline.recipe import CleanConfig
    from curation.stages.clean import Cleaner

    cleaner = Cleaner(CleanConfig())
    if args.audit:
        print(json.dumps(audit(args.audit, cleaner), ensure_ascii=False, indent=2))
        return 0
    corpus = load_corpus()
    for rows in corpus.values():  # warm-up: lazy imports (ftfy) and regex caches
        for row in rows:
            cleaner.clean(*row)
    runs = 3 if args.quick else 15
    result: dict[str, Any] = {"code": str(args.code.resolve()), "runs": runs}
    for kind, rows in corpus.items():
        times = []
        for _ in range(runs):
            started = time.process_time()
            for row in rows:
                cleaner.clean(*row)
            times.append(time.process_time() - started)
        chars = sum(len(x) for row in rows for x in row)
        per_record = statistics.median(times) / len(rows)
        result[kind] = {"records": len(rows), "chars": chars, "us_per_record": round(per_record * 1e6, 1),
                        "mchars_per_s": round(chars / statistics.median(times) / 1e6, 2)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"cleaner from {result['code']}, median of {runs} runs")
        for kind in corpus:
            r = result[kind]
            print(f"  {kind:<8} {r['records']:>5} records  {r['chars']:>8} chars  "
                  f"{r['us_per_record']:>8.1f} CPU µs/record  {r['mchars_per_s']:>6.2f} M chars/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
