"""Exam questions → explained-answer records: CMMLU-style CSV and GAOKAO-Bench JSON.

CMMLU CSV (`,Question,A,B,C,D,Answer`): the question goes to `instruction` (with a subject
template from settings), options to `input` as `A. …` lines, `output` is the answer with its text.
GAOKAO-Bench JSON (`{"example": [{question, answer: [..], analysis, year, category, score}]}`):
the question text is PDF-extracted (hard line wraps, spaces before punctuation, blanks drawn as
space runs); it is repaired, the stem/options are split, and answer + analysis become the
explained answer. Items holding several sub-questions (（1）（2）…, one answer letter each) keep the
passage as instruction and the formatted sub-questions as input.

Both are public benchmarks: every record carries `provenance.extra.benchmark` so decontamination
can exclude them from evaluation overlap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from schemas import CuratedRecord, InstructionRecord, InvalidItem, Provenance, make_record_id
from sources.choice import ChoiceError, answer_line, format_options, split_options
from sources.filecommon import (
    file_time,
    invalid,
    normalize_newlines,
    schema_error,
    sha256_text,
    short_label,
)
from sources.fileread import iter_csv, iter_json
from sources.settings import SourceSettings, load_settings

SOURCE = "exam"

_QUESTION_NUMBER = re.compile(r"^\s*\d{1,3}\s*[．.、]\s*(?:[（(]\s*(\d+)\s*分\s*[）)])?\s*")
_BLANK_PAREN = re.compile(r"[（(][\s\u3000]*[）)]")
_BLANK_RUN = re.compile(r"[ \u3000]{3,}")
_KEEP_LINE_START = re.compile(r"^\s*(?:[A-DＡ-Ｄ](?:\s*[．.、]|\s)|[（(]\d+[）)]|[①-⑳]|【)")
_PUNCT = "\u2018-\u201f\u3000-\u303f\uff00-\uffef"
# Only spaces touching full-width punctuation are dropped: a space between two ideographs may be
# a word separator in an option ("遐想 限制 亢奋不已") or a blank, so it stays.
_LAYOUT_SPACE = re.compile(rf"(?<=[{_PUNCT}])[ \u3000]{{1,2}}|[ \u3000]{{1,2}}(?=[{_PUNCT}])")
_SUBQUESTION = re.compile(r"[（(]([1-9])[）)]")
_NUMBERED = re.compile(r"(?<![\d.．])(\d{1,2})\s*[.．](?!\d)")
_CHOSEN = re.compile(r"(?:故选|故答案为|本题选|答案为|应选)\s*[：:]?\s*([A-D]+)")
_BLANK_MARK = "\ue000"


def repair_pdf_text(text: str) -> str:
    """Undo PDF extraction damage: hard wraps, layout spaces; keep blanks as '____'."""
    lines = [line.rstrip() for line in normalize_newlines(text).split("\n")]
    out: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        if out and not _KEEP_LINE_START.match(line):
            prev = out[-1]
            glue = " " if prev[-1:].isascii() and prev[-1:].isalnum() and line.lstrip()[:1].isascii() else ""
            out[-1] = prev + glue + line.lstrip()
        else:
            out.append(line.strip())
    text = "\n".join(out)
    text = _BLANK_PAREN.sub(_BLANK_MARK, text)
    text = _BLANK_RUN.sub("____", text)
    text = _LAYOUT_SPACE.sub("", text)
    return re.sub(r"[ \t]+", " ", text).replace(_BLANK_MARK, "（　　）").strip()


def _subquestion_starts(text: str, count: int) -> list[tuple[int, int, str]]:
    """(start, end, label) of `count` sub-questions: （1）（2）… or consecutive '17. 18. 19.'."""
    marks = [m for m in _SUBQUESTION.finditer(text)]
    ordered = [m for i, m in enumerate(marks) if int(m.group(1)) == i + 1][:count]
    if len(ordered) == count:
        return [(m.start(), m.end(), m.group(1)) for m in ordered]
    numbers = list(_NUMBERED.finditer(text))
    for first in range(len(numbers) - 1, -1, -1):  # the last run of consecutive numbers
        run = [numbers[first]]
        for mark in numbers[first + 1 :]:
            if len(run) < count and int(mark.group(1)) == int(run[-1].group(1)) + 1:
                run.append(mark)
        if len(run) == count:
            return [(m.start(), m.end(), m.group(1)) for m in run]
    return []


# ---------------------------------------------------------------------------------------- CMMLU


def _subject(path: Path, settings: SourceSettings) -> tuple[str, str]:
    stem = path.stem.split("__")[-1]
    key = re.sub(r"^(dev|test|val)_", "", stem)
    return key, settings.options.get("cmmlu_subjects", {}).get(key, key.replace("_", " "))


def iter_cmmlu(path: Path, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    """Rows of a CMMLU-style CSV; header names the option columns; bad rows → file:line rejects."""
    subject_key, subject = _subject(path, settings)
    header: list[str] | None = None
    fetched_at: str | None = None
    for entry in iter_csv(path, SOURCE):
        if isinstance(entry, InvalidItem):
            yield entry
            continue
        start, encoding = entry.location.rsplit(":", 1)[1], entry.encoding
        row = [normalize_newlines(cell) for cell in entry.value]
        fetched_at = fetched_at or file_time(path)
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [h.strip() for h in row]
            if "Question" not in header or "Answer" not in header:
                yield invalid(f"{path}:{start}", "csv_header", f"expected Question/A/B/C/D/Answer columns, got {header}",
                              SOURCE, ",".join(row))
                return
            continue
        location = f"{path}:{start}"
        if len(row) != len(header):
            yield invalid(location, "csv_columns", f"{len(row)} cells, header has {len(header)}", SOURCE, ",".join(row))
            continue
        cells = dict(zip(header, row, strict=True))
        letters = [h for h in header if len(h) == 1 and h.isalpha() and h.isupper()]
        options = [(letter, cells[letter].strip()) for letter in letters]
        row_id = (cells.get("") or str(start)).strip()
        source_id = f"cmmlu/{subject_key}/{row_id}"
        instruction = settings.options["cmmlu_instruction"].format(subject=subject, question=cells["Question"].strip())
        yield _build(
            settings, source_id, location, instruction, options, cells["Answer"], explanation="",
            raw=",".join(row), fetched_at=fetched_at,
            extra={"dataset": "CMMLU", "subject": subject_key, "encoding": encoding, "benchmark": "CMMLU"},
        )


# -------------------------------------------------------------------------------------- GAOKAO


def _gaokao_parts(
    question: str, answers: list[str]
) -> tuple[str, str, list[tuple[str, str]] | list[str]]:
    """(instruction, input, options | sub-question labels). ChoiceError when options are missing."""
    text = repair_pdf_text(question)
    number = _QUESTION_NUMBER.match(text)
    if number:
        text = text[number.end() :]
    if len(answers) == 1:
        split = split_options(text)
        if split is None:
            raise ChoiceError("no_options", "no complete A–D option run in the question")
        stem, options = split
        if all(body.strip() in ("", letter) for letter, body in options):
            # "A．A B．B C．C D．D" under a table whose rows (A / 这 如果 …) are the real options.
            table = split_options(stem)
            if table is None:
                raise ChoiceError("degenerate_options", "options only repeat their letters and no option table found")
            stem, options = table
        if not stem:
            raise ChoiceError("empty_stem", "question has options but no stem")
        return stem, format_options(options), options
    starts = _subquestion_starts(text, len(answers))
    if not starts:
        raise ChoiceError("subquestions", f"{len(answers)} answers but no run of {len(answers)} numbered sub-questions")
    blocks = []
    for index, (_, end_mark, label) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(text)
        split = split_options(text[end_mark:end])
        if split is None:
            raise ChoiceError("no_options", f"sub-question ({label}) has no complete A–D option run")
        stem, options = split
        blocks.append(f"（{label}）{stem}\n{format_options(options)}")
    labels = [label for _, _, label in starts]
    return text[: starts[0][0]].strip(), "\n\n".join(blocks), labels


def iter_gaokao(path: Path, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    """Items of a GAOKAO-Bench objective-question JSON file."""
    fetched_at: str | None = None
    for entry in iter_json(path, SOURCE):
        if isinstance(entry, InvalidItem):
            yield entry
            continue
        location, position, item = entry.location, entry.index, entry.value
        keyword = short_label(entry.context.get("keywords"), path.stem)
        fetched_at = fetched_at or file_time(path)
        if not isinstance(item, dict):
            yield invalid(location, "wrong_type", f"item is {type(item).__name__}", SOURCE, item)
            continue
        question, answers, analysis = item.get("question"), item.get("answer"), item.get("analysis") or ""
        if not isinstance(question, str) or not isinstance(answers, list) or not answers:
            yield invalid(location, "missing_field", "needs string 'question' and non-empty list 'answer'", SOURCE, item)
            continue
        if not all(isinstance(a, str) and re.fullmatch(r"[A-G]+", a.strip()) for a in answers):
            yield invalid(location, "bad_answer", f"answers {answers!r} are not option letters", SOURCE, item)
            continue
        raw = orjson.dumps(item).decode()
        try:
            instruction, input_text, parts = _gaokao_parts(question, answers)
        except ChoiceError as exc:
            yield invalid(location, exc.reason, str(exc), SOURCE, item)
            continue
        explanation = repair_pdf_text(str(analysis))
        explanation = re.sub(r"^【(?:解答|解析|分析)】\s*", "", explanation)
        chosen = _CHOSEN.findall(explanation)
        extra = {
            "dataset": "GAOKAO-Bench", "benchmark": "GAOKAO-Bench", "file_keyword": keyword,
            "year": item.get("year"), "category": item.get("category"), "score": item.get("score"),
            "index": item.get("index"), "answers": answers,
            # A fact for reviewers, not a filter: does the analysis end on the keyed answer?
            "analysis_choices": chosen,
        }
        source_id = f"gaokao/{keyword}/{item.get('index', position)}"
        if len(answers) == 1:
            yield _build(settings, source_id, location, instruction, parts, answers[0], explanation,  # type: ignore[arg-type]
                         raw=raw, fetched_at=fetched_at, extra=extra, input_text=input_text)
            continue
        answer = "".join(f"（{label}）{a.strip()}" for label, a in zip(parts, answers, strict=True))
        output = settings.options["answer_template"].format(answer=answer)
        yield _record(settings, source_id, location, instruction, input_text, output, explanation, raw, fetched_at,
                      extra)


# ------------------------------------------------------------------------------------- common


def _build(
    settings: SourceSettings, source_id: str, location: str, instruction: str, options: list[tuple[str, str]],
    answer: str, explanation: str, *, raw: str, fetched_at: str, extra: dict[str, Any], input_text: str | None = None,
) -> CuratedRecord | InvalidItem:
    try:
        input_text = input_text if input_text is not None else format_options(options)
        output = answer_line(answer, options, settings.options["answer_template"])
    except ChoiceError as exc:
        return invalid(location, exc.reason, str(exc), SOURCE, raw)
    return _record(settings, source_id, location, instruction, input_text, output, explanation, raw, fetched_at, extra)


def _record(
    settings: SourceSettings, source_id: str, location: str, instruction: str, input_text: str, output: str,
    explanation: str, raw: str, fetched_at: str, extra: dict[str, Any],
) -> CuratedRecord | InvalidItem:
    if explanation.strip():
        output = f"{output}\n\n{settings.options['explanation_template'].format(explanation=explanation.strip())}"
    try:
        record = InstructionRecord(
            instruction=instruction, input=input_text, output=output, task_type=settings.task_type,
            domain=settings.domain, answer_from=settings.answer_from, human_verified=False,
            copyright=settings.options.get("copyright_by_dataset", {}).get(extra["dataset"], settings.copyright),
        )
    except ValidationError as exc:
        return invalid(location, "schema", schema_error(exc), SOURCE, raw)
    return CuratedRecord(
        id=make_record_id(SOURCE, source_id), source=SOURCE, record=record,
        provenance=Provenance(
            source_id=source_id, fetched_at=fetched_at, raw_sha256=sha256_text(raw),
            license=settings.options.get("license_by_dataset", {}).get(extra["dataset"], settings.license),
            location=location, url=settings.options.get("url_by_dataset", {}).get(extra["dataset"]), extra=extra,
        ),
    )


def iter_exam(paths: list[Path], settings: SourceSettings | None = None) -> Iterator[CuratedRecord | InvalidItem]:
    """Dispatch by file type: .csv → CMMLU layout, .json → GAOKAO-Bench layout."""
    settings = settings or load_settings("exam")
    for path in paths:
        suffix = path.suffix.lower()
        if suffix == ".csv":
            yield from iter_cmmlu(path, settings)
        elif suffix == ".json":
            yield from iter_gaokao(path, settings)
        else:
            yield invalid(str(path), "unsupported_file", f"{suffix!r}: exam reads .csv (CMMLU) or .json (GAOKAO)",
                          SOURCE)
