"""Time PII detection + redaction per 10,000 records, the way the clean stage calls it.

    python scripts/bench_pii.py [--quick] [--repeats 7] [--json]

Two corpora, both built in memory, seeded:
- `bench`: 10,000 records from scripts/make_bench_corpus.py's generator (real instructions and
  sentences from ../shared/samples recombined, ~150 characters; few hold PII, as in real data);
- `dense`: 10,000 records that each hold one line of tests/fixtures/pii_eval/cases.jsonl after a
  real sentence (every record has PII or a lookalike: the detector's slow path).
Reports the median (and min) CPU seconds per 10,000 records over the repeats. `detect_and_redact`
runs on instruction, input and output, as curation/stages/chain.py does.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from make_bench_corpus import Generator, load_pools, samples_root  # noqa: E402

from curation.stages.pii import detect_and_redact  # noqa: E402

N = 10_000
EVAL = REPO / "tests" / "fixtures" / "pii_eval" / "cases.jsonl"


def corpora(seed: int = 0) -> dict[str, list[tuple[str, str, str]]]:
    questions, sentences = load_pools(samples_root())
    gen = Generator(questions, sentences, seed)
    bench = []
    for _ in range(N):
        instruction, ids = gen.base()
        bench.append((instruction, "", "".join(sentences[s] for s in ids)))
    lines = [json.loads(line)["text"] for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(seed)
    dense = [(questions[rng.randrange(len(questions))], "", sentences[rng.randrange(len(sentences))] + lines[i % len(lines)])
             for i in range(N)]
    return {"bench": bench, "dense": dense}


def time_once(records: list[tuple[str, str, str]]) -> float:
    """CPU seconds of this process: on a shared machine wall time mostly measures the neighbours."""
    started = time.process_time()
    for fields in records:
        for text in fields:
            detect_and_redact(text)
    return time.process_time() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 repeats instead of --repeats")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    data = corpora()
    result = {}
    for name, records in data.items():
        time_once(records[:500])  # warm-up: regex compilation, imports
        runs = [time_once(records) for _ in range(repeats)]
        result[name] = {"records": len(records), "repeats": repeats,
                        "median_s_per_10k": round(statistics.median(runs) * N / len(records), 4),
                        "min_s_per_10k": round(min(runs) * N / len(records), 4)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, r in result.items():
            print(f"{name:<6} median {r['median_s_per_10k']:.3f} s / 10k records "
                  f"(min {r['min_s_per_10k']:.3f}, {r['repeats']} repeats)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
