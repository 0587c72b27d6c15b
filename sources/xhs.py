"""Xiaohongshu (小红书) note objects → template tasks (write a note, title a note, title from tags).

Accepts the web feed/detail JSON (`data.items[].note_card`), a bare note object, or a list of
them. Topic markers in `desc` (`#话题[话题]#`) become plain `#话题`. Which tasks a note yields
depends on the text it has: a video note with an empty `desc` still gives a title-from-tags
task; a note with neither title nor desc is rejected with a reason. Templates and the minimum
desc length live in `settings/xhs.yaml`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas import CuratedRecord, InvalidItem
from sources.html_markdown import clean_text
from sources.http.ingest import build_record, invalid
from sources.http.page import RawPage
from sources.settings import SourceSettings

SOURCE = "xhs"
_TOPIC = re.compile(r"#([^#\[\]\n]{1,40})\[(?:话题|topic)\]#")
TYPE_ZH = {"video": "视频", "normal": "图文"}


def iter_notes(obj: Any) -> Iterator[dict[str, Any]]:
    """Note dicts in a feed/detail payload, a single note, or a list of notes."""
    if isinstance(obj, list):
        for item in obj:
            yield from iter_notes(item)
        return
    if not isinstance(obj, dict):
        return
    if isinstance(obj.get("note_card"), dict):
        note = dict(obj["note_card"])
        note.setdefault("note_id", obj.get("id"))
        yield note
        return
    if "note_id" in obj or ("title" in obj and "desc" in obj):
        yield obj
        return
    data = obj.get("data")
    if isinstance(data, dict):
        yield from iter_notes(data.get("items", []))
    elif isinstance(data, list):
        yield from iter_notes(data)
    elif isinstance(obj.get("items"), list):
        yield from iter_notes(obj["items"])


def clean_desc(desc: str) -> str:
    text = _TOPIC.sub(lambda m: "#" + m.group(1).strip(), clean_text(desc or ""))
    return re.sub(r"[ \t]+\n", "\n", text).strip()


def _count(value: Any) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    match = re.fullmatch(r"([\d.]+)\s*(万|w)?\+?", text)
    if not match:
        return None
    number = float(match.group(1))
    return int(number * 10000) if match.group(2) else int(number)


def _time(ms: Any) -> str | None:
    try:
        return datetime.fromtimestamp(int(ms) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _note_outcomes(page: RawPage, settings: SourceSettings, note: dict[str, Any], index: int
                   ) -> Iterator[CuratedRecord | InvalidItem]:
    note_id = str(note.get("note_id") or note.get("id") or "").strip()
    if not note_id:
        yield invalid(page, SOURCE, "missing_field", f"note #{index} has no note_id")
        return
    title = clean_text(str(note.get("title") or "")).strip()
    desc = clean_desc(str(note.get("desc") or ""))
    tag_list = note.get("tag_list") if isinstance(note.get("tag_list"), list) else []
    tags = [str(t["name"]) for t in tag_list if isinstance(t, dict) and t.get("name")]
    note_type = str(note.get("type") or "normal")
    user = note.get("user") if isinstance(note.get("user"), dict) else {}
    interact = note.get("interact_info") if isinstance(note.get("interact_info"), dict) else {}
    opts = settings.options
    fields = {"title": title, "desc": desc, "tags": " ".join(f"#{t}" for t in tags),
              "type_zh": TYPE_ZH.get(note_type, "")}
    have = {"title": bool(title), "desc": len(desc) >= int(opts.get("min_desc_chars", 20)), "tags": bool(tags)}
    url = f"https://www.xiaohongshu.com/explore/{note_id}"
    extra = {k: v for k, v in {
        "note_id": note_id, "type": note_type, "tags": tags,
        "liked_count": _count(interact.get("liked_count")), "collected_count": _count(interact.get("collected_count")),
        "comment_count": _count(interact.get("comment_count")), "share_count": _count(interact.get("share_count")),
        "time": _time(note.get("time")), "last_update_time": _time(note.get("last_update_time")),
        "user_id": user.get("user_id"),
        "image_count": len(note["image_list"]) if isinstance(note.get("image_list"), list) else None,
    }.items() if v not in (None, [], "")}
    made = 0
    for name, tpl in (opts.get("templates") or {}).items():
        if not all(have.get(req, False) for req in tpl.get("requires", [])):
            continue
        made += 1
        yield build_record(
            page, settings, source_id=f"{note_id}:{name}", instruction=tpl["instruction"].format_map(fields),
            input=tpl.get("input", "").format_map(fields), output=tpl["output"].format_map(fields),
            url=url, author=user.get("nickname"), title=title, location=f"{page.location}#note-{note_id}:{name}",
            task_type={"major": tpl.get("major", settings.task_type.major), "minor": [tpl.get("minor", name)]},
            extra={"template": name, **extra},
        )
    if not made:
        yield invalid(page, SOURCE, "no_usable_text",
                      f"note {note_id}: no template applies (title={bool(title)}, desc chars={len(desc)}, tags={len(tags)})")


def parse(page: RawPage, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    text = page.text.strip()
    if not text:
        yield invalid(page, SOURCE, "empty_body", "empty response body")
        return
    if text[0] not in "{[":
        yield invalid(page, SOURCE, "not_json", "expected note JSON, got HTML/text (login wall or error page?)",
                      text[:1000])
        return
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        yield invalid(page, SOURCE, "json_decode", f"malformed or truncated JSON: {exc}", text)
        return
    notes = list(iter_notes(obj))
    if not notes:
        detail = f"API said: {obj.get('msg')}" if isinstance(obj, dict) and obj.get("msg") else "no note objects"
        yield invalid(page, SOURCE, "no_notes", detail, text[:1000])
        return
    for index, note in enumerate(notes):
        yield from _note_outcomes(page, settings, note, index)


def discover(page: RawPage) -> list[str]:
    return []
