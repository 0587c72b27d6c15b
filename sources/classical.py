"""Traditional culture → `chinese_traditional` records: classical poems and idioms.

Poems (chinese-poetry JSON: title, author, paragraphs, optional tags; traditional characters) are
converted to simplified with OpenCC and turned into tasks: compose ("以《X》为题，写一首五言律诗"),
author ("《X》的作者是谁？"), next line ("“…”的下一句是什么？") and, where the poem has human
theme tags, a theme question. The form (五言/七言 绝句/律诗) comes from the tags when present,
else from the line lengths. There is no human-written appreciation in the data, so no
appreciation task is made up here; that belongs to a generation stage with answer_from=llm.

Idioms (chinese-idiom-db CSV lines: id, word, pinyin, explanation, origin, example, abbr) become
meaning / origin / example-sentence tasks; `～` in examples is the idiom itself.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from schemas import CuratedRecord, InstructionRecord, InvalidItem, Provenance, make_record_id
from sources.filecommon import (
    decode,
    file_time,
    invalid,
    normalize_newlines,
    schema_error,
    sha256_text,
)
from sources.fileread import iter_json
from sources.opencc_convert import t2s
from sources.settings import SourceSettings, load_settings

SOURCE = "chinese_traditional"
FORMS = ("五言绝句", "七言绝句", "五言律诗", "七言律诗", "五言古诗", "七言古诗", "五言排律")
_CLAUSE = re.compile(r"[，。？！；、,.?!;]")


def poem_form(lines: list[str], tags: list[str]) -> str | None:
    """The poem's form from its tags, else from clause lengths (4/8 clauses of 5/7 chars)."""
    for tag in tags:
        if tag in FORMS:
            return tag
    clauses = [c for c in _CLAUSE.split("".join(lines)) if c]
    lengths = {len(c) for c in clauses}
    if len(lengths) != 1 or lengths.pop() not in (5, 7):
        return None
    size = "五言" if len(clauses[0]) == 5 else "七言"
    return {4: f"{size}绝句", 8: f"{size}律诗"}.get(len(clauses))


def _dynasty(path: Path, settings: SourceSettings) -> str:
    for key, name in settings.options.get("dynasty_by_file", {}).items():
        if key in path.name:
            return name
    return ""


def _poem_tasks(poem: dict[str, Any], form: str | None, dynasty: str, settings: SourceSettings) -> list[tuple]:
    """(task name, instruction, output, extra) for one converted poem."""
    o = settings.options
    title, author, lines, themes = poem["title"], poem["author"], poem["paragraphs"], poem["themes"]
    text = "\n".join(lines)
    fields = {"title": title, "author": author, "dynasty": dynasty, "era": f"{dynasty}代" if dynasty else "",
              "form": form or "诗",
              "themes": "、".join(themes), "theme": themes[0] if themes else ""}
    tasks: list[tuple] = []
    compose = o["compose_theme_instruction"] if themes else o["compose_instruction"]
    tasks.append(("compose", compose.format(**fields), text))
    if author:
        tasks.append(("author", o["author_instruction"].format(**fields), o["author_answer"].format(**fields)))
    first = [c for c in re.split(r"(?<=[，。？！；])", lines[0]) if c.strip()] if lines else []
    if len(first) >= 2:
        upper, lower = first[0].rstrip("，。？！；"), first[1].rstrip("，。？！；")
        tasks.append(("next_line", o["next_line_instruction"].format(line=upper, **fields),
                      o["next_line_answer"].format(line=upper, next=lower, **fields)))
    if themes:
        tasks.append(("themes", o["theme_instruction"].format(**fields), o["theme_answer"].format(**fields)))
    return tasks


def iter_poems(path: Path, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    backend = settings.options.get("opencc_backend", "reimplemented")
    skip_tags = set(settings.options.get("non_theme_tags", []))
    dynasty = _dynasty(path, settings)
    fetched_at: str | None = None
    for entry in iter_json(path, SOURCE):
        if isinstance(entry, InvalidItem):
            yield entry
            continue
        location, index, item = entry.location, entry.index, entry.value
        fetched_at = fetched_at or file_time(path)
        if not isinstance(item, dict):
            yield invalid(location, "wrong_type", f"item is {type(item).__name__}", SOURCE, item)
            continue
        paragraphs, title = item.get("paragraphs"), item.get("title")
        if not isinstance(title, str) or not isinstance(paragraphs, list) or not all(isinstance(p, str) for p in paragraphs):
            yield invalid(location, "missing_field", "needs string 'title' and list of strings 'paragraphs'", SOURCE, item)
            continue
        lines = [t2s(normalize_newlines(p).strip(), backend) for p in paragraphs if p.strip()]
        if not lines:
            yield invalid(location, "empty_poem", f"{title!r} has no lines", SOURCE, item)
            continue
        raw_tags = item.get("tags")
        tags = [t2s(t, backend) for t in raw_tags if isinstance(t, str)] if isinstance(raw_tags, list) else []
        poem = {
            "title": t2s(title.strip(), backend) or "无题",
            "author": t2s(str(item.get("author") or "").strip(), backend),
            "paragraphs": lines,
            "themes": [t for t in tags if t not in FORMS and t not in skip_tags],
        }
        form = poem_form(lines, tags)
        native = str(item.get("id") or f"{path.name}#{index}")
        raw = orjson.dumps(item)
        for task, instruction, output in _poem_tasks(poem, form, dynasty, settings):
            yield _record(settings, f"poem/{native}/{task}", f"{location}/{task}", instruction, output,
                          raw, fetched_at, {"kind": "poem", "task": task, "form": form, "tags": tags,
                                            "author": poem["author"], "dynasty": dynasty},
                          author=poem["author"] or None, copyright_key="poem_copyright",
                          fields={"author_credit": "·".join(x for x in (dynasty, poem["author"] or "佚名") if x)})


_IDIOM_COLUMNS = ("id", "word", "pinyin", "explanation", "origin", "example", "abbr")


def iter_idioms(path: Path, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    """chinese-idiom-db lines: 12,"哀莫大于心死","āi  mò …","释义","出处","例句","amds"."""
    text, encoding = decode(path.read_bytes())
    o = settings.options
    fetched_at = file_time(path)
    for line_no, line in enumerate(normalize_newlines(text).split("\n"), start=1):
        if not line.strip():
            continue
        location = f"{path}:{line_no}"
        try:
            row = next(csv.reader(io.StringIO(line)))
        except (csv.Error, StopIteration) as exc:
            yield invalid(location, "csv", str(exc), SOURCE, line)
            continue
        if len(row) != len(_IDIOM_COLUMNS):
            yield invalid(location, "csv_columns", f"{len(row)} fields, expected {len(_IDIOM_COLUMNS)}", SOURCE, line)
            continue
        idiom = dict(zip(_IDIOM_COLUMNS, (cell.strip() for cell in row), strict=True))
        word = idiom["word"]
        if not word or not idiom["explanation"]:
            yield invalid(location, "missing_field", "idiom needs a word and an explanation", SOURCE, line)
            continue
        fields = {**idiom, "pinyin": re.sub(r"\s+", " ", idiom["pinyin"]),
                  "example": idiom["example"].replace("～", word).replace("~", word)}
        tasks = [("meaning", o["idiom_meaning_instruction"], o["idiom_meaning_answer"])]
        if idiom["origin"]:
            tasks.append(("origin", o["idiom_origin_instruction"], o["idiom_origin_answer"]))
        if idiom["example"]:
            tasks.append(("example", o["idiom_example_instruction"], o["idiom_example_answer"]))
        for task, instruction, answer in tasks:
            yield _record(settings, f"idiom/{idiom['id'] or word}/{task}", f"{location}/{task}",
                          instruction.format(**fields), answer.format(**fields), line.encode("utf-8"), fetched_at,
                          {"kind": "idiom", "task": task, "pinyin": fields["pinyin"], "encoding": encoding},
                          author=None, copyright_key="idiom_copyright", fields={})


def _record(
    settings: SourceSettings, source_id: str, location: str, instruction: str, output: str, raw: bytes,
    fetched_at: str, extra: dict[str, Any], *, author: str | None, copyright_key: str, fields: dict[str, str],
) -> CuratedRecord | InvalidItem:
    kind = extra["kind"]
    try:
        record = InstructionRecord(
            instruction=instruction, input="", output=output,
            task_type=settings.options["task_types"][kind], domain=settings.domain,
            answer_from=settings.answer_from, human_verified=False,
            copyright=settings.options[copyright_key].format(**fields),
        )
    except ValidationError as exc:
        return invalid(location, "schema", schema_error(exc), SOURCE, raw.decode("utf-8", "replace"))
    return CuratedRecord(
        id=make_record_id(SOURCE, source_id), source=SOURCE, record=record,
        provenance=Provenance(
            source_id=source_id, url=settings.options["url_by_kind"][kind], fetched_at=fetched_at,
            raw_sha256=sha256_text(raw), license=settings.options["license_by_kind"][kind],
            author=author, location=location, extra=extra,
        ),
    )


def iter_classical(paths: list[Path], settings: SourceSettings | None = None) -> Iterator[CuratedRecord | InvalidItem]:
    """Dispatch by file type: .json → poems (chinese-poetry), .txt/.csv → idiom table."""
    settings = settings or load_settings("chinese_traditional")
    for path in paths:
        suffix = path.suffix.lower()
        if suffix == ".json":
            yield from iter_poems(path, settings)
        elif suffix in (".txt", ".csv"):
            yield from iter_idioms(path, settings)
        else:
            yield invalid(str(path), "unsupported_file", f"{suffix!r}: use .json poems or .txt/.csv idioms", SOURCE)
