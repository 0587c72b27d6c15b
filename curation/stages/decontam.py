"""Benchmark decontamination: flag or drop records whose instruction+input overlaps a test question.

Test sets are local files: CMMLU / C-Eval CSV (question + options A-D), GAOKAO-Bench JSON
(`example[].question`, options inline) and plain JSONL with a `question` field. Texts are
normalized like dedup keys (NFKC, lowercase, no punctuation/whitespace), cut into character
n-grams (13 by default, as datatrove/GPT-3 do with words), and a record matches a question when
the shared n-grams cover `min_overlap` of the smaller side: most of the question (a copied
question, maybe reworded a little) or most of the record (a record copying part of a long
GAOKAO reading passage). N-grams shared by
many questions (exam boilerplate such as "下列各句中加点的成语使用不恰当的一项是") are ignored.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from curation.pipeline.recipe import Recipe
from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import Dropped, Kept, Stage, file_inputs, map_stage
from curation.text.normalize import normalize_text
from schemas import CuratedRecord

REASON = "benchmark_contamination"


class DecontamConfig(BaseModel):
    """The recipe's `decontaminate:` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    against: list[str] = Field(default_factory=list, description="Benchmark test-set files (CSV/JSON/JSONL).")
    ngram: int = Field(13, ge=4, le=64, description="Character n-gram size after normalization.")
    min_overlap: float = Field(
        0.5, gt=0.0, le=1.0, description="Shared n-grams / n-grams of the smaller of question and record."
    )
    max_question_freq: int = Field(10, ge=1, description="Ignore n-grams present in more questions.")
    action: Literal["flag", "drop"] = Field("drop", description="flag: keep with stats; drop: reject.")


@dataclass(frozen=True)
class Question:
    ref: str  # "<file stem>#<row>"
    text: str


def _csv_questions(path: Path) -> Iterable[Question]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for i, row in enumerate(csv.DictReader(handle)):
            lower = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
            question = lower.get("question", "")
            options = " ".join(lower.get(letter, "") for letter in "abcd")
            if question.strip():
                yield Question(f"{path.stem}#{lower.get('id') or lower.get('') or i}", f"{question} {options}")


def _json_questions(path: Path) -> Iterable[Question]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        items = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        data = json.loads(text)
        items = data.get("example", data.get("data", [])) if isinstance(data, dict) else data
    for i, item in enumerate(items):
        question = item.get("question") or item.get("instruction") or ""
        if question.strip():
            yield Question(f"{path.stem}#{item.get('index', i)}", question)


def load_questions(paths: Sequence[str | Path]) -> list[Question]:
    """Questions of every test-set file; raises on unknown formats rather than matching nothing."""
    out: list[Question] = []
    for raw in paths:
        path = Path(raw)
        if path.suffix == ".csv":
            found = list(_csv_questions(path))
        elif path.suffix in (".json", ".jsonl"):
            found = list(_json_questions(path))
        else:
            raise ValueError(f"{path}: unsupported test-set format (use .csv, .json or .jsonl)")
        if not found:
            raise ValueError(f"{path}: no questions found")
        out.extend(found)
    return out


# Option labels ("A.", "B、", "(C)", "D：") differ between copies of the same question.
_OPTION_LABEL = re.compile(r"(?<![A-Za-z])[A-Da-d]\s*[.．、:：)）]")


def _grams(text: str, n: int) -> set[str]:
    norm = normalize_text(_OPTION_LABEL.sub(" ", text))
    if len(norm) <= n:
        return {norm} if norm else set()
    return {norm[i : i + n] for i in range(len(norm) - n + 1)}


class ContaminationIndex:
    """n-gram -> question ids, with per-question n-gram counts for the overlap ratio."""

    def __init__(self, questions: Sequence[Question], config: DecontamConfig) -> None:
        self.config, self.questions = config, list(questions)
        postings: dict[str, list[int]] = defaultdict(list)
        self.sizes: list[int] = []
        for qid, q in enumerate(self.questions):
            grams = _grams(q.text, config.ngram)
            self.sizes.append(len(grams))
            for g in grams:
                postings[g].append(qid)
        self.postings = {g: ids for g, ids in postings.items() if len(ids) <= config.max_question_freq}

    def match(self, text: str) -> tuple[Question, float] | None:
        """The best-overlapping question, if its overlap reaches `min_overlap`."""
        hits: Counter[int] = Counter()
        grams = _grams(text, self.config.ngram)
        for g in grams:
            ids = self.postings.get(g)
            if ids:
                hits.update(ids)
        if not hits:
            return None
        scored = ((q, c / min(self.sizes[q], len(grams))) for q, c in hits.items())
        qid, overlap = max(scored, key=lambda x: (x[1], -x[0]))
        return (self.questions[qid], overlap) if overlap >= self.config.min_overlap else None


def check_record(record: CuratedRecord, index: ContaminationIndex) -> Kept | Dropped:
    text = f"{record.record.instruction}\n{record.record.input}"
    found = index.match(text)
    if found is None:
        return Kept(record)
    question, overlap = found
    record.stats["contamination"] = {"question": question.ref, "overlap": round(overlap, 4)}
    if index.config.action == "flag":
        return Kept(record)
    return Dropped(record, REASON, f"{question.ref} overlap={overlap:.2f}")


def decontam_stage(run: RunDir, upstream: str, config: DecontamConfig, name: str = "decontam") -> Stage:
    """Per-record stage; the test-set files are part of the fingerprint (size + sha256)."""
    if not config.against:
        raise ValueError("decontamination needs at least one test-set file (`against`)")
    index = ContaminationIndex(load_questions(config.against), config)
    stage = map_stage(name, run, upstream, lambda r: check_record(r, index),
                      params=config.model_dump(mode="json", exclude={"against"}))
    stage.inputs = stage.inputs + file_inputs(Path(p) for p in config.against)
    return stage


def build_stage(run: RunDir, upstream: str, recipe: Recipe) -> Stage:
    """Chain plug-in (curation.stages.chain.PLUGIN_STAGES): the recipe's `decontaminate:` section."""
    config = recipe.section("decontaminate", DecontamConfig)
    if config is None:
        raise ValueError(f"{recipe.path}: decontaminate: section is empty")
    return decontam_stage(run, upstream, config, name="decontaminate")
