"""Xiaohongshu (小红书) notes → template tasks (write a note, title a note, title from tags).

Reads every layout in `sources/xhs_layouts.py` (web API JSON, SSR pages, crawler outputs as
JSON, JSONL, CSV or Spider_XHS text). Each note yields the tasks its text supports; an input
item that is not a note, or a preview card without the note text, is a located reject naming
the layout. Topic markers in `desc` (`#话题[话题]#`) become plain `#话题`. A desc the server cut
(app search excerpts) is only ever used as input, never as the note to write. Templates and the
minimum desc length live in `settings/xhs.yaml`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import orjson

from schemas import CuratedRecord, InvalidItem, truncate_raw
from sources.html_markdown import clean_text
from sources.http.ingest import build_record, invalid
from sources.http.page import RawPage
from sources.settings import SourceSettings
from sources.xhs_layouts import (
    Item,
    Note,
    Skip,
    classify,
    csv_rows,
    initial_state,
    jsonl_values,
    spider_detail_txt,
    spider_note,
)

SOURCE = "xhs"
_TOPIC = re.compile(r"#([^#\[\]\n]{1,40})\[(?:话题|topic)\]#")
TYPE_ZH = {"video": "视频", "normal": "图文"}


def clean_desc(desc: str) -> str:
    text = _TOPIC.sub(lambda m: "#" + m.group(1).strip(), clean_text(desc or ""))
    text = text.replace("\u00a0", " ")
    return re.sub(r"[ \t]+\n", "\n", text).strip()


def _items(page: RawPage, text: str) -> Iterator[Item]:
    """Every item of the input, whatever its format, as a Note or a located Skip."""
    where = page.location
    if text[0] in "{[":
        try:
            yield from classify(orjson.loads(text), where)
            return
        except orjson.JSONDecodeError as exc:
            first_error = str(exc)
        lines = [line for line in text.split("\n") if line.strip()]
        if len(lines) > 1 and lines[0].lstrip()[:1] == "{" and _parses(lines[0]):
            for number, value, error in jsonl_values(text):
                if error:
                    yield Skip(f"{where}:{number}", "json_decode", f"malformed JSON line: {error}", value)
                else:
                    yield from classify(value, f"{where}:{number}")
            return
        yield Skip(where, "json_decode", f"malformed or truncated JSON: {first_error}", text)
        return
    if "__INITIAL_STATE__" in text:
        state = initial_state(text)
        if state is None:
            yield Skip(where, "json_decode", "window.__INITIAL_STATE__ is present but not readable JSON", text[:2000])
        elif not state:
            yield Skip(where, "no_notes", "window.__INITIAL_STATE__ is empty (verification page or deleted note?)",
                       text[:2000])
        else:
            yield from classify(state, where)
        return
    if text.startswith("笔记id:") or text.startswith("笔记id："):
        note = spider_note(spider_detail_txt(text), "spider_xhs_detail_txt")
        note.where = f"{where}#note-{note.note_id or '?'}"
        yield note
        return
    header = text.split("\n", 1)[0]
    if "note_id" in header and "," in header:
        for line, row in csv_rows(text):
            yield from classify(row, f"{where}:{line}")
        return
    if text.lstrip().startswith("<"):
        yield Skip(where, "not_a_note_page",
                   "HTML without window.__INITIAL_STATE__ (login wall, captcha or error page?)", text[:2000])
        return
    yield Skip(where, "unknown_layout",
               "neither JSON, JSONL, CSV, a server-rendered page nor a Spider_XHS detail.txt", text[:2000])


def _parses(line: str) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _reject(skip: Skip) -> InvalidItem:
    raw = skip.raw
    if raw is not None and not isinstance(raw, str):
        try:
            raw = orjson.dumps(raw).decode()
        except TypeError:
            raw = repr(raw)
    return InvalidItem(location=skip.where, reason=skip.reason, detail=skip.detail, source=SOURCE,
                       raw=truncate_raw(raw))


def _note_outcomes(page: RawPage, settings: SourceSettings, note: Note) -> Iterator[CuratedRecord | InvalidItem]:
    if not note.note_id:
        yield InvalidItem(location=note.where, reason="missing_field", detail=f"{note.layout} note without a note id",
                          source=SOURCE)
        return
    title = clean_text(note.title).strip()
    desc = clean_desc(note.desc)
    opts = settings.options
    enough = len(desc) >= int(opts.get("min_desc_chars", 20))
    have = {"title": bool(title), "desc": enough and note.desc_complete, "desc_excerpt": enough,
            "tags": bool(note.tags)}
    fields = {"title": title, "desc": desc, "tags": " ".join(f"#{t}" for t in note.tags),
              "type_zh": TYPE_ZH.get(note.note_type, "")}
    url = f"https://www.xiaohongshu.com/explore/{note.note_id}"
    extra = {k: v for k, v in {
        "note_id": note.note_id, "layout": note.layout, "type": note.note_type or None, "tags": note.tags,
        "user_id": note.user_id, "desc_truncated": None if note.desc_complete else True, **note.extra,
    }.items() if v not in (None, [], "")}
    made = 0
    for name, tpl in (opts.get("templates") or {}).items():
        if not all(have.get(req, False) for req in tpl.get("requires", [])):
            continue
        made += 1
        yield build_record(
            page, settings, source_id=f"{note.note_id}:{name}", instruction=tpl["instruction"].format_map(fields),
            input=tpl.get("input", "").format_map(fields), output=tpl["output"].format_map(fields),
            url=url, author=note.author, title=title, location=f"{note.where}:{name}",
            task_type={"major": tpl.get("major", settings.task_type.major), "minor": [tpl.get("minor", name)]},
            extra={"template": name, **extra},
        )
    if not made:
        cut = "" if note.desc_complete else " (an excerpt)"
        yield InvalidItem(location=note.where, reason="no_usable_text", source=SOURCE,
                          detail=f"note {note.note_id} ({note.layout}): no template applies (title={bool(title)}, "
                                 f"desc chars={len(desc)}{cut}, tags={len(note.tags)})")


def parse(page: RawPage, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    text = page.text.lstrip("\ufeff").strip()
    if not text:
        yield invalid(page, SOURCE, "empty_body", "empty response body")
        return
    for item in _items(page, text):
        if isinstance(item, Skip):
            yield _reject(item)
        else:
            yield from _note_outcomes(page, settings, item)


def discover(page: RawPage) -> list[str]:
    """No link following: note pages need per-note access tokens a crawl should not store."""
    return []

