"""LogiQA text files (Chinese logical reasoning) → `logi_qa` records.

The released format is blocks separated by blank lines: an answer letter line (`a`–`d`), the
passage (numbered irregularly: `35.`, `1、`, `12．` or not at all), the question, and four option
lines whose markers vary (`A.`, `A．`, `A、`, `A:`, `A `, `A` glued to text). Passage + question
→ `instruction`, options → `input`, `答案：X. 文本` → `output`. A block that does not fit becomes
a reject naming `file:line` and what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from schemas import CuratedRecord, InstructionRecord, InvalidItem, Provenance, make_record_id
from sources.choice import ChoiceError, answer_line, format_options
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
_OPTION = re.compile(r"^\s*([A-DＡ-Ｄ])\s*(?:[.．、:：]\s*|\s+|(?=[^\sA-Za-z]))(.*)$")
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
        raise ChoiceError("no_answer_line", f"first line {lines[0][:40]!r} is not an answer letter a–d")
    if len(lines) < 6:
        raise ChoiceError("short_block", f"{len(lines)} lines; need answer, passage, question and 4 options")
    options: dict[str, str] = {}
    for line in lines[-4:]:
        match = _OPTION.match(line)
        if match is None:
            raise ChoiceError("bad_option", f"expected an option line A–D, got {line[:40]!r}")
        options[match.group(1).translate(_FULLWIDTH)] = match.group(2).strip()
    if sorted(options) != list("ABCD"):  # the file sometimes lists A, C, B, D: letters decide
        raise ChoiceError("bad_option", f"option letters {''.join(options)} are not A, B, C, D once each")
    body = lines[1:-4]
    if len(body) < 2:
        raise ChoiceError("short_block", "need a passage line and a question line before the options")
    passage = _NUMBER.sub("", body[0], count=1)
    question = _NUMBER.sub("", body[-1], count=1)  # some blocks number the question, not the passage
    return answer.group(1).upper(), "\n".join([passage, *body[1:-1]]).strip(), question, sorted(options.items())


def iter_logiqa(paths: list[Path], settings: SourceSettings | None = None) -> Iterator[CuratedRecord | InvalidItem]:
    """Records (or `file:line` rejects) from LogiQA text files, in file order."""
    settings = settings or load_settings("logi_qa")
    options_cfg = settings.options
    for path in paths:
        data = read_file(path, SOURCE)
        if isinstance(data, InvalidItem):
            yield data
            continue
        text, encoding = decode(data)
        text = normalize_newlines(text)
        fetched_at = file_time(path)
        for start, lines in iter_blocks(text):
            location = f"{path}:{start}"
            raw = "\n".join(lines)
            try:
                letter, passage, question, options = parse_block(lines)
                record = InstructionRecord(
                    instruction=options_cfg["instruction_template"].format(passage=passage, question=question),
                    input=format_options(options),
                    output=answer_line(letter, options, options_cfg["answer_template"]),
                    task_type=settings.task_type, domain=settings.domain, answer_from=settings.answer_from,
                    human_verified=False, copyright=settings.copyright,
                )
            except ChoiceError as exc:
                yield invalid(location, exc.reason, str(exc), SOURCE, raw)
                continue
            except ValidationError as exc:
                yield invalid(location, "schema", schema_error(exc), SOURCE, raw)
                continue
            number = re.match(r"^\s*(\d{1,4})\s*[.．、]", lines[1]) or re.match(r"^\s*(\d{1,4})\s*[.．、]", lines[-5])
            source_id = f"{path.name}:{start}"
            yield CuratedRecord(
                id=make_record_id(SOURCE, source_id), source=SOURCE, record=record,
                provenance=Provenance(
                    source_id=source_id, url=options_cfg.get("url"), fetched_at=fetched_at,
                    raw_sha256=sha256_text(raw), license=settings.license, location=location,
                    extra={"dataset": "LogiQA", "benchmark": "LogiQA", "encoding": encoding,
                           "question_number": number.group(1) if number else None},
                ),
            )
