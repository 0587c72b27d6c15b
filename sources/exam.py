"""Exam questions → explained-answer records: CMMLU / C-Eval CSV and GAOKAO-Bench JSON.

CSV, told apart by the header: CMMLU (`,Question,A,B,C,D,Answer`) and C-Eval
(`id,question,A,B,C,D[,answer[,explanation]]`). The question goes to `instruction` (with a
subject template), options to `input` as `A. …` lines, `output` is the answer with its text and,
where the dataset has one, its explanation. C-Eval's test split ships without answers: each of
its rows is a located `no_answer` reject (a record needs the keyed answer; none is invented).
The subject comes from the file name (`dev/logical.csv`, `logic_val.csv`) and gives the domain.

GAOKAO-Bench JSON (`{"keywords", "example": [{question, answer, analysis, year, category,
score}]}`): the text is PDF-extracted (hard line wraps, spaces before punctuation, blanks drawn
as space runs) and is repaired (LaTeX texts only get their newlines normalised). Objective items
(answer = list of letters) split into stem and options; an item with several sub-questions
(（1）（2）… or "17. 18. 19.") becomes one record per sub-question when its analysis splits the
same way, else one record holding all of them. Subjective items (answer = a string: fill in the
blank, open-ended, dictation, …) become question → answer + analysis. Subject and question type
come from the file keyword (`2010-2022_Math_I_Fill-in-the-Blank`).

All are public benchmarks: every record carries `provenance.extra.benchmark` so decontamination
can exclude them from evaluation overlap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from schemas import CuratedRecord, InstructionRecord, InvalidItem, Provenance, TaskType, make_record_id
from sources.choice import ChoiceError, answer_line, format_options, split_options
from sources.filecommon import (
    file_time,
    fill,
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
# Lines that start something (option, sub-question "（2）" / "17．", marker, or an indented new
# paragraph) are not glued to the previous line.
_KEEP_LINE_START = re.compile(r"^(?:\s*(?:[A-DＡ-Ｄ](?:\s*[．.、]|\s)|[（(]\d+[）)]|\d{1,3}\s*．|[①-⑳]|【)|[ \u3000]{2,}\S)")
_PUNCT = "\u2018-\u201f\u3000-\u303f\uff00-\uffef"
# Only spaces touching full-width punctuation are dropped: a space between two ideographs may be
# a word separator in an option ("遐想 限制 亢奋不已") or a blank, so it stays.
_LAYOUT_SPACE = re.compile(rf"(?<=[{_PUNCT}])[ \u3000]{{1,2}}|[ \u3000]{{1,2}}(?=[{_PUNCT}])")
_SUBQUESTION = re.compile(r"[（(]([1-9])[）)]")
_NUMBERED = re.compile(r"(?<![\dA-Za-z])(\d{1,2})\s*[.．](?!\d)")
_CHOSEN = re.compile(r"(?:故选|故答案为|本题选|答案为|应选)\s*[：:]?\s*([A-D]+)")
_BLANK_MARK = "\ue000"


def repair_pdf_text(text: str) -> str:
    """Undo PDF extraction damage: hard wraps, layout spaces; keep blanks as '____'.

    LaTeX-typeset texts (GAOKAO math) were not PDF-wrapped: only newlines are normalised."""
    if "$" in text:
        return re.sub(r"\n{3,}", "\n\n", normalize_newlines(text)).strip()
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


# ------------------------------------------------------------------------------------- CSV


_SPLITS = ("dev", "val", "test", "train")


def _subject_key(path: Path) -> tuple[str, str]:
    """(subject key, split) from 'dev/logical.csv', 'logic_val.csv' or a sample 'x__dev_logical.csv'."""
    stem = path.stem.split("__")[-1]
    stem = re.sub(r"^(?:ceval-exam|cmmlu|ceval)[_-]", "", stem)
    split = next((part for part in reversed(path.parent.parts) if part in _SPLITS), "")
    match = re.match(rf"^({'|'.join(_SPLITS)})_(.+)$", stem)
    if match:
        split, stem = split or match.group(1), match.group(2)
    match = re.match(rf"^(.+)_({'|'.join(_SPLITS)})$", stem)
    if match:
        stem, split = match.group(1), split or match.group(2)
    return stem, split


def _csv_layout(header: list[str]) -> tuple[str, dict[str, str]] | None:
    """('CMMLU' | 'C-Eval', column roles) for a known header, else None."""
    names = [h.strip() for h in header]
    lower = [h.lower() for h in names]
    letters = [h for h in names if len(h) == 1 and "A" <= h <= "G"]
    if "question" not in lower or letters[:2] != ["A", "B"]:
        return None
    roles = {"question": names[lower.index("question")], "answer": "", "explanation": "", "id": names[0]}
    if "answer" in lower:
        roles["answer"] = names[lower.index("answer")]
    if "explanation" in lower:
        roles["explanation"] = names[lower.index("explanation")]
    dataset = "C-Eval" if "id" in lower and "question" in names else "CMMLU"
    return dataset, roles


def iter_exam_csv(path: Path, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    """Rows of a CMMLU or C-Eval CSV; the header decides the layout; bad rows → file:line rejects
    (the shared reader keeps going after a row the csv module refuses, and allows large cells)."""
    subject_key, split = _subject_key(path)
    header: list[str] | None = None
    layout: tuple[str, dict[str, str]] | None = None
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
            header, layout = [h.strip() for h in row], _csv_layout(row)
            if layout is None:
                yield invalid(f"{path}:{start}", "unknown_layout", f"CSV header {header} is neither CMMLU "
                              "(,Question,A,B,C,D,Answer) nor C-Eval (id,question,A,B,C,D[,answer,explanation])",
                              SOURCE, ",".join(row))
                return
            continue
        assert layout is not None
        dataset, roles = layout
        location = f"{path}:{start}"
        if len(row) != len(header):
            yield invalid(location, "csv_columns", f"{len(row)} cells, header has {len(header)}", SOURCE, ",".join(row))
            continue
        cells = dict(zip(header, row, strict=True))
        if not roles["answer"]:
            yield invalid(location, "no_answer", f"{dataset} {split or 'file'} without an answer column (the C-Eval test "
                          "split is unlabelled): a record needs the keyed answer", SOURCE, ",".join(row))
            continue
        subjects = settings.options.get("ceval_subjects" if dataset == "C-Eval" else "cmmlu_subjects", {})
        subject = subjects.get(subject_key, "")
        options = [(h, cells[h].strip()) for h in header if len(h) == 1 and "A" <= h <= "G"]
        answer = cells[roles["answer"]].strip()
        question_type = "多项选择题" if len(answer) > 1 else "单项选择题"
        question = cells[roles["question"]].strip()
        instruction = fill(settings.options["choice_instruction"], subject=subject, kind=question_type,
                           question=question) or question
        row_id = (cells.get(roles["id"]) or str(start)).strip()
        yield _build(
            settings, f"{dataset.lower()}/{subject_key}/{split}/{row_id}".replace("//", "/"), location, instruction,
            options, answer, explanation=cells.get(roles["explanation"], "").strip() if roles["explanation"] else "",
            raw=",".join(row), fetched_at=fetched_at, subject=subject, question_type=question_type,
            extra={"dataset": dataset, "subject": subject_key, "split": split or None, "encoding": encoding,
                   "benchmark": dataset},
        )


# -------------------------------------------------------------------------------------- GAOKAO


def _gaokao_parts(
    question: str, answers: list[str]
) -> tuple[str, str, list[tuple[str, str]] | list[str], list[tuple[str, str, list[tuple[str, str]]]]]:
    """(instruction, input, options | sub-question labels, per sub-question (label, stem, options)).

    ChoiceError when options are missing."""
    text = _strip_heading(repair_pdf_text(question))
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
        return stem, format_options(options), options, []
    starts = _subquestion_starts(text, len(answers))
    if not starts:
        shared = _shared_options(text, answers)
        if shared is None:
            raise ChoiceError("subquestions", f"{len(answers)} answers but no run of {len(answers)} numbered "
                              "sub-questions and no shared option list")
        return shared
    blocks, parts = [], []
    for index, (_, end_mark, label) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(text)
        split = split_options(text[end_mark:end])
        if split is None:
            raise ChoiceError("no_options", f"sub-question ({label}) has no complete A–D option run")
        stem, options = split
        blocks.append(f"（{label}）{stem}\n{format_options(options)}")
        parts.append((label, stem, options))
    labels = [label for _, _, label in starts]
    return text[: starts[0][0]].strip(), "\n\n".join(blocks), labels, parts


def _shared_options(text: str, answers: list[str]
                    ) -> tuple[str, str, list[str], list[tuple[str, str, list[tuple[str, str]]]]] | None:
    """A passage with numbered blanks and one option list for all of them (七选五 cloze):
    (passage, options, blank labels, no parts), or None. Labels are the blank numbers when the
    passage has a run of them, else positions 1..n."""
    used = "".join(a.strip() for a in answers)
    for count in (7, 6, 5, 4):
        split = split_options(text, count)
        if split is None or not all(letter in "ABCDEFG"[:count] for letter in used):
            continue
        passage, options = split
        numbers = list(re.finditer(r"(?<!\d)(?<!\d[.．])(\d{1,3})(?!\d)(?![.．]\d)", text))  # not decimals
        labels = [str(i + 1) for i in range(len(answers))]
        for first in range(len(numbers)):
            run = [int(numbers[first].group(1))]
            for mark in numbers[first + 1:]:
                if len(run) < len(answers) and int(mark.group(1)) == run[-1] + 1:
                    run.append(int(mark.group(1)))
            if len(run) == len(answers):
                labels = [str(n) for n in run]
                break
        return passage, format_options(options), labels, []
    return None


def _strip_heading(text: str) -> str:
    """Drop section headings printed above the numbered question ("一、现代文阅读（9分）")."""
    lines = text.split("\n")
    while len(lines) > 1 and not re.match(r"^\s*\d", lines[0]) and re.search(r"[（(]\s*\d+\s*分\s*[）)]\s*$", lines[0]) \
            and re.match(r"^\s*\d{1,3}\s*[．.、]", lines[1]):
        lines.pop(0)
    text = "\n".join(lines)
    # the same heading glued to the number by line repair: "一、现代文阅读（9分）1．（9分）…"
    return re.sub(r"^[^\n\d]{0,20}?[（(]\s*\d+\s*分\s*[）)]\s*(?=\d{1,3}\s*[．.、])", "", text)


def _split_analysis(analysis: str, labels: list[str]) -> list[str] | None:
    """The analysis cut at its per-sub-question markers (（1）… or '56．'), or None."""
    for pattern in (r"[（(]\s*{}\s*[）)]", r"(?:^|\n)\s*{}\s*[．.、]", r"【\s*{}\s*题[^】]*】"):
        positions = []
        for label in labels:
            match = re.search(pattern.format(re.escape(label)), analysis[positions[-1] + 1 if positions else 0:])
            if match is None:
                break
            positions.append((positions[-1] + 1 if positions else 0) + match.start())
        if len(positions) == len(labels):
            cuts = [*positions, len(analysis)]
            parts = [analysis[cuts[i] : cuts[i + 1]].strip() for i in range(len(labels))]
            if all(parts):
                return parts
    return None


def _question_kind(keyword: str, settings: SourceSettings) -> tuple[str, str]:
    """(subject, question type) from a GAOKAO-Bench file keyword."""
    subject = next((name for key, name in settings.options.get("gaokao_subjects", []) if key in keyword), "")
    kind = next((name for key, name in settings.options.get("gaokao_question_types", []) if key in keyword), "")
    return subject, kind


def iter_gaokao(path: Path, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    """Items of a GAOKAO-Bench objective or subjective question file ({'keywords', 'example': [...]}
    or a list), streamed item by item by the shared reader."""
    fetched_at: str | None = None
    kinds: dict[str, tuple[str, str]] = {}
    seen = 0
    for entry in iter_json(path, SOURCE):
        seen += 1
        if isinstance(entry, InvalidItem):
            yield entry
            continue
        location, position, item = entry.location, entry.index, entry.value
        keyword = short_label(entry.context.get("keywords"), path.stem)
        if keyword not in kinds:
            kinds[keyword] = _question_kind(keyword, settings)
        subject, file_kind = kinds[keyword]
        fetched_at = fetched_at or file_time(path)
        if not isinstance(item, dict):
            yield invalid(location, "wrong_type", f"item is {type(item).__name__}", SOURCE, item)
            continue
        question, answers = item.get("question"), item.get("answer")
        if not isinstance(question, str) or not question.strip():
            yield invalid(location, "missing_field", "needs a non-empty string 'question'", SOURCE, item)
            continue
        extra = {
            "dataset": "GAOKAO-Bench", "benchmark": "GAOKAO-Bench", "file_keyword": keyword,
            "year": item.get("year"), "category": item.get("category"), "score": item.get("score"),
            "index": item.get("index"), "answers": answers,
        }
        source_id = f"gaokao/{keyword}/{item.get('index', position)}"
        if isinstance(answers, str):
            yield _subjective(settings, item, source_id, location, extra, fetched_at, subject,
                              file_kind if file_kind and "选择" not in file_kind else "解答题")
        elif isinstance(answers, list) and answers:
            yield from _objective(settings, item, source_id, location, extra, fetched_at, subject, file_kind)
        else:
            yield invalid(location, "missing_field", f"'answer' is {type(answers).__name__}: needs a list of option "
                          "letters (objective) or a string (subjective)", SOURCE, item)
    if not seen:
        yield invalid(str(path), "unknown_layout", "no GAOKAO-Bench question items found: an empty 'example' list, "
                      "or not the layout {'keywords', 'example': [...]} / a list of question objects", SOURCE)


def _analysis(item: dict[str, Any]) -> str:
    explanation = repair_pdf_text(str(item.get("analysis") or ""))
    return re.sub(r"^【(?:解答|解析|分析)】\s*", "", explanation).strip()


def _subjective(settings: SourceSettings, item: dict[str, Any], source_id: str, location: str, extra: dict[str, Any],
                fetched_at: str, subject: str, question_type: str) -> CuratedRecord | InvalidItem:
    text = _strip_heading(repair_pdf_text(item["question"]))
    number = _QUESTION_NUMBER.match(text)
    instruction = text[number.end():].strip() if number else text
    answer = repair_pdf_text(item["answer"])
    raw = orjson.dumps(item).decode()
    if not answer:
        return invalid(location, "empty_answer", "subjective item with an empty answer", SOURCE, item)
    output = settings.options["answer_template"].format(answer=answer)
    return _record(settings, source_id, location, instruction, "", output, _analysis(item), raw, fetched_at,
                   {**extra, "question_type": question_type}, subject=subject, question_type=question_type)


def _objective(settings: SourceSettings, item: dict[str, Any], source_id: str, location: str, extra: dict[str, Any],
               fetched_at: str, subject: str, file_kind: str) -> Iterator[CuratedRecord | InvalidItem]:
    answers = item["answer"]
    if not all(isinstance(a, str) and re.fullmatch(r"[A-G]+", a.strip()) for a in answers):
        yield invalid(location, "bad_answer", f"answers {answers!r} are not option letters", SOURCE, item)
        return
    raw = orjson.dumps(item).decode()
    try:
        instruction, input_text, parts, subparts = _gaokao_parts(item["question"], answers)
    except ChoiceError as exc:
        yield invalid(location, exc.reason, str(exc), SOURCE, item)
        return
    explanation = _analysis(item)
    extra = {**extra, "analysis_choices": _CHOSEN.findall(explanation)}  # a fact for reviewers, not a filter
    if len(answers) == 1:
        kind = "多项选择题" if len(answers[0].strip()) > 1 else "单项选择题"
        yield _build(settings, source_id, location, instruction, parts, answers[0], explanation,  # type: ignore[arg-type]
                     raw=raw, fetched_at=fetched_at, extra={**extra, "question_type": kind}, input_text=input_text,
                     subject=subject, question_type=kind)
        return
    labels: list[str] = parts  # type: ignore[assignment]
    pieces = _split_analysis(explanation, labels) if subparts else None
    if pieces is not None:  # one record per sub-question: passage + its own question, options, analysis
        for (label, stem, options), answer, piece in zip(subparts, answers, pieces, strict=True):
            kind = "多项选择题" if len(answer.strip()) > 1 else "单项选择题"
            yield _build(settings, f"{source_id}/{label}", f"{location}/{label}", f"{instruction}\n\n（{label}）{stem}",
                         options, answer, piece, raw=raw, fetched_at=fetched_at,
                         extra={**extra, "question_type": kind, "subquestion": label, "answers": [answer],
                                "analysis_choices": _CHOSEN.findall(piece)},
                         subject=subject, question_type=kind)
        return
    answer = "".join(f"（{label}）{a.strip()}" for label, a in zip(labels, answers, strict=True))
    output = settings.options["answer_template"].format(answer=answer)
    kind = file_kind if file_kind and "选择" not in file_kind else "阅读理解"
    yield _record(settings, source_id, location, instruction, input_text, output, explanation, raw, fetched_at,
                  {**extra, "question_type": kind}, subject=subject, question_type=kind)


# ------------------------------------------------------------------------------------- common


def _build(
    settings: SourceSettings, source_id: str, location: str, instruction: str, options: list[tuple[str, str]],
    answer: str, explanation: str, *, raw: str, fetched_at: str, extra: dict[str, Any], subject: str,
    question_type: str, input_text: str | None = None,
) -> CuratedRecord | InvalidItem:
    try:
        input_text = input_text if input_text is not None else format_options(options)
        output = answer_line(answer, options, settings.options["answer_template"])
    except ChoiceError as exc:
        return invalid(location, exc.reason, str(exc), SOURCE, raw)
    return _record(settings, source_id, location, instruction, input_text, output, explanation, raw, fetched_at, extra,
                   subject=subject, question_type=question_type)


def _record(
    settings: SourceSettings, source_id: str, location: str, instruction: str, input_text: str, output: str,
    explanation: str, raw: str, fetched_at: str, extra: dict[str, Any], *, subject: str, question_type: str,
) -> CuratedRecord | InvalidItem:
    """The record; domain is the subject, task_type.minor the question type (when known)."""
    if explanation.strip():
        output = f"{output}\n\n{settings.options['explanation_template'].format(explanation=explanation.strip())}"
    task_type = TaskType(major=settings.task_type.major,
                         minor=[m for m in (settings.options.get("exam_label", "考试题"), question_type) if m])
    try:
        record = InstructionRecord(
            instruction=instruction, input=input_text, output=output, task_type=task_type,
            domain=[subject] if subject else settings.domain, answer_from=settings.answer_from, human_verified=False,
            copyright=settings.options.get("copyright_by_dataset", {}).get(extra["dataset"], settings.copyright),
        )
    except ValidationError as exc:
        return invalid(location, "schema", schema_error(exc), SOURCE, raw)
    return CuratedRecord(
        id=make_record_id(SOURCE, source_id), source=SOURCE, record=record,
        provenance=Provenance(
            source_id=source_id, fetched_at=fetched_at, raw_sha256=sha256_text(raw),
            license=settings.options.get("license_by_dataset", {}).get(extra["dataset"], settings.license),
            location=location, url=settings.options.get("url_by_dataset", {}).get(extra["dataset"]),
            extra={k: v for k, v in extra.items() if v is not None},
        ),
    )


def iter_exam(paths: list[Path], settings: SourceSettings | None = None) -> Iterator[CuratedRecord | InvalidItem]:
    """Dispatch by file type: .csv → CMMLU / C-Eval layout, .json → GAOKAO-Bench layout."""
    settings = settings or load_settings("exam")
    for path in paths:
        suffix = path.suffix.lower()
        if suffix == ".csv":
            yield from iter_exam_csv(path, settings)
        elif suffix == ".json":
            yield from iter_gaokao(path, settings)
        else:
            yield invalid(str(path), "unsupported_file", f"{suffix!r}: exam reads .csv (CMMLU, C-Eval) or .json "
                          "(GAOKAO-Bench)", SOURCE)
