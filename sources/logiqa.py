"""LogiQA files (Chinese logical reasoning) → `logi_qa` records.

Two layouts, told apart by the file's first non-empty line:
- LogiQA 1.0 text (lgw863/LogiQA-dataset `zh_eval.txt`, `Eval.txt`): blocks separated by blank
  lines: an answer letter line (`a`–`d`), the passage (numbered irregularly: `35.`, `1、`, `12．`
  or not at all), the question, and four option lines whose markers vary (`A.`, `A．`, `A、`, `A:`,
  `A `, `A` glued to text, once a lowercase `d.`).
- LogiQA 2.0 JSON lines (csitfun/LogiQA2.0 `dev_zh.txt`, `test.txt`, `ood_test.jsonl`):
  `{id | example_id, answer: 0-based int, text, question, options: [4]}`. The same repository's
  QA2NLI files (`{premise, hypothesis, label}`) are NLI pairs, not questions: rejected as such.
Passage + question → `instruction`, options → `input`, `答案：X. 文本` → `output`. Anything that
does not fit becomes a reject naming `file:line` and what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from schemas import CuratedRecord, InstructionRecord, InvalidItem, Provenance, make_record_id
from sources.choice import LETTERS, ChoiceError, answer_line, format_options
from sources.filecommon import (
    decode,
    file_time,
    invalid,
    normalize_newlines,
    read_file,
    schema_error,
    sha256_text,
)
from sources.settings import SourceSettings, load_settings

SOURCE = "logi_qa"
_ANSWER = re.compile(r"^\s*([a-dA-D])\s*$")
_OPTION = re.compile(r"^\s*(?:([A-DＡ-Ｄ])\s*(?:[.．、:：]\s*|\s+|(?=[^\sA-Za-z]))|([a-d])\s*[.．、]\s*)(.*)$")
_NUMBER = re.compile(r"^\s*\d{1,4}\s*[.．、]\s*")
_FULLWIDTH = str.maketrans("ＡＢＣＤ", "ABCD")


def iter_blocks(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, non-empty lines) for each blank-line separated block."""
    block: list[str] = []
    start = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            if not block:
                start = number
            block.append(line.strip())
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def parse_block(lines: list[str]) -> tuple[str, str, str, list[tuple[str, str]]]:
    """(answer letter, passage, question, options) or ChoiceError with the reason."""
    answer = _ANSWER.match(lines[0])
    if answer is None:
        raise ChoiceError("no_answer_line", f"first line {lines[0][:40]!r} is not an answer letter a–d (LogiQA "
                          "block: answer letter, passage, question, 4 options)")
    if len(lines) < 6:
        raise ChoiceError("short_block", f"{len(lines)} lines; need answer, passage, question and 4 options")
    options: dict[str, str] = {}
    for line in lines[-4:]:
        match = _OPTION.match(line)
        if match is None:
            raise ChoiceError("bad_option", f"expected an option line A–D, got {line[:40]!r}")
        options[(match.group(1) or match.group(2).upper()).translate(_FULLWIDTH)] = match.group(3).strip()
    if sorted(options) != list("ABCD"):  # the file sometimes lists A, C, B, D: letters decide
        raise ChoiceError("bad_option", f"option letters {''.join(options)} are not A, B, C, D once each")
    body = lines[1:-4]
    if len(body) < 2:
        raise ChoiceError("short_block", "need a passage line and a question line before the options")
    passage = _NUMBER.sub("", body[0], count=1)
    question = _NUMBER.sub("", body[-1], count=1)  # some blocks number the question, not the passage
    return answer.group(1).upper(), "\n".join([passage, *body[1:-1]]).strip(), question, sorted(options.items())


def _record(settings: SourceSettings, source_id: str, location: str, letter: str, passage: str, question: str,
            options: list[tuple[str, str]], raw: str, fetched_at: str, extra: dict[str, Any]
            ) -> CuratedRecord | InvalidItem:
    o = settings.options
    try:
        record = InstructionRecord(
            instruction=o["instruction_template"].format(passage=passage, question=question),
            input=format_options(options), output=answer_line(letter, options, o["answer_template"]),
            task_type=settings.task_type, domain=settings.domain, answer_from=settings.answer_from,
            human_verified=False, copyright=o.get("copyright_by_dataset", {}).get(extra["dataset"], settings.copyright),
        )
    except ChoiceError as exc:
        return invalid(location, exc.reason, str(exc), SOURCE, raw)
    except ValidationError as exc:
        return invalid(location, "schema", schema_error(exc), SOURCE, raw)
    return CuratedRecord(
        id=make_record_id(SOURCE, source_id), source=SOURCE, record=record,
        provenance=Provenance(
            source_id=source_id, url=o.get("url_by_dataset", {}).get(extra["dataset"], o.get("url")),
            fetched_at=fetched_at, raw_sha256=sha256_text(raw),
            license=o.get("license_by_dataset", {}).get(extra["dataset"], settings.license), location=location,
            extra={"benchmark": extra["dataset"], **extra},
        ),
    )


def _iter_blocks_file(path: Path, text: str, encoding: str, settings: SourceSettings, fetched_at: str
                      ) -> Iterator[CuratedRecord | InvalidItem]:
    for start, lines in iter_blocks(text):
        location = f"{path}:{start}"
        raw = "\n".join(lines)
        try:
            letter, passage, question, options = parse_block(lines)
        except ChoiceError as exc:
            yield invalid(location, exc.reason, str(exc), SOURCE, raw)
            continue
        number = re.match(r"^\s*(\d{1,4})\s*[.．、]", lines[1]) or re.match(r"^\s*(\d{1,4})\s*[.．、]", lines[-5])
        yield _record(settings, f"{path.name}:{start}", location, letter, passage, question, options, raw, fetched_at,
                      {"dataset": "LogiQA", "encoding": encoding,
                       "question_number": number.group(1) if number else None})


def _iter_jsonl_file(path: Path, text: str, settings: SourceSettings, fetched_at: str
                     ) -> Iterator[CuratedRecord | InvalidItem]:
    """LogiQA 2.0: one `{id, answer (0-based), text, question, options}` object per line."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        location = f"{path}:{number}"
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield invalid(location, "json_decode", f"not JSON: {exc}", SOURCE, line)
            continue
        if not isinstance(item, dict):
            yield invalid(location, "wrong_type", f"line is {type(item).__name__}, expected an object", SOURCE, line)
            continue
        if "premise" in item or "major_premise" in item or "hypothesis" in item:
            yield invalid(location, "unknown_layout", "NLI pair (LogiQA2NLI premise/hypothesis/label), not a "
                          "multiple-choice question", SOURCE, line)
            continue
        options, answer = item.get("options"), item.get("answer")
        passage, question = item.get("text"), item.get("question")
        if not (isinstance(options, list) and isinstance(passage, str) and isinstance(question, str)):
            yield invalid(location, "unknown_layout", f"keys {sorted(item)[:8]}: LogiQA 2.0 needs text, question, "
                          "options (list) and answer", SOURCE, line)
            continue
        if not 2 <= len(options) <= len(LETTERS) or not all(isinstance(x, str) for x in options):
            yield invalid(location, "bad_option", f"{len(options)} options, expected 2–{len(LETTERS)} strings", SOURCE,
                          line)
            continue
        labelled = [(LETTERS[i], normalize_newlines(x).strip()) for i, x in enumerate(options)]
        if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer < len(options):
            letter = LETTERS[answer]
        elif isinstance(answer, str) and answer.strip().upper() in LETTERS[: len(options)] and answer.strip():
            letter = answer.strip().upper()
        else:
            yield invalid(location, "bad_answer", f"answer {answer!r} is not an option index 0–{len(options) - 1}",
                          SOURCE, line)
            continue
        native = item.get("id", item.get("example_id"))
        source_id = f"logiqa2/{path.name}/{native}" if native is not None else f"logiqa2/{path.name}:{number}"
        yield _record(settings, source_id, location, letter, normalize_newlines(passage).strip(),
                      normalize_newlines(question).strip(), labelled, line, fetched_at,
                      {"dataset": "LogiQA 2.0", "example_id": native})


def iter_logiqa(paths: list[Path], settings: SourceSettings | None = None) -> Iterator[CuratedRecord | InvalidItem]:
    """Records (or `file:line` rejects) from LogiQA 1.0 text or LogiQA 2.0 JSON-lines files, in file order."""
    settings = settings or load_settings("logi_qa")
    for path in paths:
        data = read_file(path, SOURCE)
        if isinstance(data, InvalidItem):
            yield data
            continue
        text, encoding = decode(data)
        text = normalize_newlines(text)
        fetched_at = file_time(path)
        if text.lstrip().startswith("{"):
            yield from _iter_jsonl_file(path, text, settings, fetched_at)
        else:
            yield from _iter_blocks_file(path, text, encoding, settings, fetched_at)
