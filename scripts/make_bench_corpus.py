#!/usr/bin/env python
"""Build a benchmark corpus from the REAL samples, with generated near-duplicates and labelled pairs.

Sentences, questions and answers come from ../shared/samples (alpaca-zh, COIG-CQIA, ruozhiba,
glaive tool-call, GAOKAO analyses, LogiQA, idiom explanations). Each base record is a real
instruction plus real sentences recombined (~150 characters in all), so texts are real Chinese
but 1M of them are distinct. A share of records are near-duplicates of an earlier base record,
made the way duplicates arise in scraped Q&A: typos, changed punctuation/width/spacing, an added
sentence, a dropped last sentence, a "请问" prefix, or an exact re-post.

Outputs (in --out):
  run/ingest-bench/      a run directory stage (CuratedRecord shards) for `cqia dedup`/curation
  corpus.jsonl           {"text": ...} per record in the same order (for data-juicer)
  pairs.jsonl            labelled pairs {a, b, label, kind, jaccard}: generated duplicates and
                         non-duplicates (random pairs and hard negatives sharing a question or a
                         sentence); `jaccard` is the exact char-5-gram Jaccard after normalization
Usage: python scripts/make_bench_corpus.py --n 1000000 --out runs/bench-1m [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import sys
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from curation.pipeline.rundir import RunDir  # noqa: E402
from curation.pipeline.runner import Stage, run_stage  # noqa: E402
from curation.text.normalize import normalize_text  # noqa: E402
from schemas import CuratedRecord  # noqa: E402

SOURCES = ("alpaca", "cqia", "ruozhiba", "zhihu", "baike")
_SPLIT = re.compile(r"(?<=[。！？!?；])|\n+")
TYPO_CHARS = "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会"


def samples_root() -> Path:
    return Path(os.environ.get("CQIA_SAMPLES", REPO.parent / "shared" / "samples")).resolve()


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SPLIT.split(text or "") if s and 8 <= len(s.strip()) <= 80]


def load_pools(root: Path) -> tuple[list[str], list[str]]:
    """(instructions, sentences) from the real samples, deduplicated, in a stable order."""
    questions: list[str] = []
    sentences: list[str] = []
    alpaca = json.loads((root / "instruct_zh/llama-factory__alpaca_zh_demo.json").read_text("utf-8"))
    for row in alpaca:
        questions.append(row["instruction"])
        sentences += _sentences(row["output"]) + _sentences(row["input"])
    for line in (root / "coig_cqia/cqia_ruozhiba_first20.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        questions.append(row["instruction"])
        sentences += _sentences(row["output"])
    for row in json.loads((root / "ruozhiba/znsoooo-ruozhiba__ruozhiba-title-good.json").read_text("utf-8")):
        questions.append(row["title"])
    for row in json.loads((root / "ruozhiba/znsoooo-ruozhiba__ruozhiba-post-annual.json").read_text("utf-8")):
        sentences += _sentences(re.sub(r"^\d+、", "", row["content"]))
    for row in json.loads((root / "instruct_zh/llama-factory__glaive_toolcall_zh_demo.json").read_text("utf-8")):
        for turn in row["conversations"]:
            if turn["from"] == "human":
                questions.append(turn["value"])
            elif turn["from"] == "gpt":
                sentences += _sentences(turn["value"])
    gaokao = json.loads((root / "exam/gaokao-bench__2010-2022_Chinese_Lang_and_Usage_MCQs.json").read_text("utf-8"))
    for row in gaokao["example"]:
        sentences += _sentences(row.get("analysis", "").replace(" ", ""))
    for line in (root / "exam/logiqa__zh_test.txt").read_text("utf-8").splitlines():
        sentences += _sentences(re.sub(r"^\d+\.", "", line))
    idioms = (root / "classical/chinese-idiom-db__chinese-idioms-12976.head1000.txt").read_text("utf-8")
    for cells in csv.reader(idioms.splitlines()):
        if len(cells) > 3:
            questions.append(f"“{cells[1]}”是什么意思？")
            sentences += _sentences(cells[3])
    questions = [q.strip() for q in dict.fromkeys(questions) if 4 <= len(q.strip()) <= 60]
    sentences = list(dict.fromkeys(sentences))
    return questions, sentences


class Generator:
    def __init__(self, questions: list[str], sentences: list[str], seed: int) -> None:
        self.rng = random.Random(seed)
        self.questions, self.sentences = questions, sentences

    def base(self) -> tuple[str, list[int]]:
        """(instruction, sentence ids of the output) with ~150 characters in all."""
        q = self.rng.randrange(len(self.questions))
        budget = self.rng.randint(100, 165) - len(self.questions[q])
        ids: list[int] = []
        while budget > 0 or not ids:
            s = self.rng.randrange(len(self.sentences))
            ids.append(s)
            budget -= len(self.sentences[s])
        return self.questions[q], ids

    def variant(self, instruction: str, output: str) -> tuple[str, str, str]:
        """A near-duplicate (instruction, output, kind) of a record."""
        rng = self.rng
        kind = rng.choice(("typo", "typo", "punct", "append", "truncate", "prefix", "combo", "exact"))
        if kind in ("typo", "combo"):
            chars = list(output)
            for _ in range(rng.randint(1, 6) if kind == "typo" else rng.randint(1, 2)):
                chars[rng.randrange(len(chars))] = rng.choice(TYPO_CHARS)
            output = "".join(chars)
        if kind in ("punct", "combo"):
            output = output.replace("，", ", ").replace("。", "．", rng.randint(0, 3)).replace("；", ";")
            instruction = instruction.replace("？", "?") + rng.choice(("", " ", "  "))
        if kind == "append":
            output += self.sentences[rng.randrange(len(self.sentences))]
        if kind == "truncate":
            parts = [p for p in _SPLIT.split(output) if p]
            output = "".join(parts[:-1]) if len(parts) > 2 else output[: int(len(output) * 0.85)]
        if kind == "prefix":
            instruction = rng.choice(("请问：", "问：", "请回答：", "求助，")) + instruction
        return instruction, output, kind


def shingles(text: str, n: int = 5) -> set[str]:
    t = normalize_text(text)
    return {t[i : i + n] for i in range(max(1, len(t) - n + 1))}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def record_row(i: int, instruction: str, output: str, source: str, votes: int | None) -> dict:
    return {
        "id": f"{i:016x}",
        "source": source,
        "record": {"instruction": instruction, "input": "", "output": output,
                   "task_type": {"major": ["问答"], "minor": ["百科问答"]}, "domain": ["通用"],
                   "metadata": "暂无元数据信息", "answer_from": "human", "human_verified": False,
                   "copyright": "暂无版权及作者信息"},
        "provenance": {"extra": {} if votes is None else {"votes": votes}, "location": f"bench#{i}"},
        "stats": {},
        "drop_reason": None,
    }


def build(n: int, out: Path, seed: int = 0, dup_rate: float = 0.12, pairs_per_kind: int = 1500) -> dict:
    """Write the corpus; returns a summary. Skips the work when `out` already holds this corpus."""
    meta_path = out / "corpus.json"
    params = {"n": n, "seed": seed, "dup_rate": dup_rate, "pairs_per_kind": pairs_per_kind, "version": 3}
    if meta_path.exists() and json.loads(meta_path.read_text())["params"] == params:
        return json.loads(meta_path.read_text())
    started = time.time()
    questions, sentences = load_pools(samples_root())
    gen = Generator(questions, sentences, seed)
    rng = random.Random(seed + 1)
    rows: list[dict] = []
    bases: list[int] = []
    positives: list[tuple[int, int, str]] = []
    first_with_question: dict[str, int] = {}
    first_with_sentence: dict[int, int] = {}
    hard: list[tuple[int, int, str]] = []
    for i in range(n):
        votes = rng.choice((None, None, rng.randint(0, 50), rng.randint(0, 5000)))
        source = SOURCES[rng.randrange(len(SOURCES))]
        if bases and rng.random() < dup_rate:
            b = bases[rng.randrange(len(bases))]
            rec = rows[b]["record"]
            instruction, output, kind = gen.variant(rec["instruction"], rec["output"])
            positives.append((b, i, kind))
        else:
            instruction, ids = gen.base()
            output = "".join(sentences[s] for s in ids)
            bases.append(i)
            if (j := first_with_question.setdefault(instruction, i)) != i and len(hard) < 4 * pairs_per_kind:
                hard.append((j, i, "same_question"))
            for s in ids:
                if (j := first_with_sentence.setdefault(s, i)) != i and len(hard) < 4 * pairs_per_kind:
                    hard.append((j, i, "shared_sentence"))
        rows.append(record_row(i, instruction, output, source, votes))

    def text(i: int) -> str:
        r = rows[i]["record"]
        return f"{r['instruction']}\n{r['output']}"

    pairs = rng.sample(positives, min(len(positives), 2 * pairs_per_kind))
    labelled = [{"a": a, "b": b, "label": True, "kind": kind} for a, b, kind in pairs]
    labelled += [{"a": a, "b": b, "label": False, "kind": kind}
                 for a, b, kind in rng.sample(hard, min(len(hard), pairs_per_kind))]
    randoms = [tuple(sorted(rng.sample(bases, 2))) for _ in range(pairs_per_kind)]
    labelled += [{"a": a, "b": b, "label": False, "kind": "random"} for a, b in randoms]
    for p in labelled:
        p["jaccard"] = round(jaccard(text(p["a"]), text(p["b"])), 4)

    out.mkdir(parents=True, exist_ok=True)
    with (out / "corpus.jsonl").open("wb") as handle:
        for i in range(n):
            handle.write(orjson.dumps({"text": text(i)}) + b"\n")
    with (out / "pairs.jsonl").open("wb") as handle:
        for p in labelled:
            handle.write(orjson.dumps(p) + b"\n")

    run = RunDir(out / "run")

    def produce(skip: int):
        for row in rows[skip:]:
            yield CuratedRecord.model_validate(row)

    run_stage(run, Stage("ingest-bench", produce, inputs=[params]), force=True, progress=False)
    chars = sum(len(text(i)) for i in range(n))
    summary = {"params": params, "records": n, "chars": chars, "mean_chars": round(chars / n, 1),
               "generated_duplicates": len(positives), "pairs": len(labelled),
               "real_questions": len(questions), "real_sentences": len(sentences),
               "seconds": round(time.time() - started, 1)}
    meta_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "bench-corpus")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dup-rate", type=float, default=0.12)
    args = parser.parse_args()
    print(json.dumps(build(args.n, args.out, args.seed, args.dup_rate), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
