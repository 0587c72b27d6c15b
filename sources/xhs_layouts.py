"""Every Xiaohongshu (小红书) input layout seen in the wild, read into one `Note` shape.

Layouts (each checked on real files, see docs/sources.md ## xhs):
- web API envelopes `{"code": 0, "success": true, "msg": "成功", "data": …}`: note detail
  (`/api/sns/web/v1/feed`: `data.items[].note_card` with title/desc/tag_list), home feed and
  search (`data.items[]` whose `note_card` has only `display_title`: previews), user posted /
  collected notes (`data.notes[]`, previews), comment pages (`data.comments[]`);
- the app search API (`data.items[].note`, whose `desc` is an excerpt);
- server-rendered pages (`window.__INITIAL_STATE__`, camelCase): note page
  (`note.noteDetailMap[id].note`), profile (`user.notes[[…]]`), explore/search (`feed.feeds`,
  `search.feeds`), all previews except the note page;
- crawler outputs: Spider_XHS `info.json` and `detail.txt` (key: value text), MediaCrawler
  note rows (JSON list, JSONL or CSV) and comment rows, ReaJason/xhs bare `note_card` objects.

A preview (title shown on a card, no text) is never a note: it becomes a located reject that
says so. Crawler placeholders are not data: Spider_XHS writes `无标题` for a missing title and
`未知` for a missing IP location, MediaCrawler writes `desc[:255]` as the title when the note
has none; these read as absent. Access tokens in note URLs (`xsec_token`) are dropped.
"""

from __future__ import annotations

import ast
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

TYPE_FROM_ZH = {"图集": "normal", "图文": "normal", "视频": "video"}
_STATE = re.compile(r"window\.__INITIAL_STATE__\s*=\s*")
_UNDEFINED = re.compile(r"(?<=[:\[,])\s*undefined(?=\s*[,\]}])")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_EXACT_COUNT = re.compile(r"([\d.]+)\s*(万|w|W)?")
SPIDER_TXT_KEYS = {
    "笔记id": "note_id", "笔记url": "note_url", "笔记类型": "note_type", "用户id": "user_id",
    "用户主页url": "home_url", "昵称": "nickname", "头像url": "avatar", "标题": "title", "描述": "desc",
    "点赞数量": "liked_count", "收藏数量": "collected_count", "评论数量": "comment_count",
    "分享数量": "share_count", "视频封面url": "video_cover", "视频地址url": "video_addr",
    "图片地址url列表": "image_list", "标签": "tags", "上传时间": "upload_time", "ip归属地": "ip_location",
}


@dataclass
class Note:
    """One note, whatever layout it came from; fields the input lacks stay empty."""

    note_id: str
    layout: str
    title: str = ""
    desc: str = ""
    desc_complete: bool = True
    tags: list[str] = field(default_factory=list)
    note_type: str = ""
    author: Any = None
    user_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    where: str = ""  # location of the item inside the input (set by `classify`)


@dataclass
class Skip:
    """An input item that is not a usable note: where it is, why, and the raw item."""

    where: str
    reason: str
    detail: str
    raw: Any = None


Item = Note | Skip


# ---- small readers ---------------------------------------------------------------------------

def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def count(value: Any) -> int | str | None:
    """`683` / `"1.2万"` → int; `"10+"` (a lower bound) stays text; absent → None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = _str(value) if isinstance(value, str) else ""
    if not text:
        return None
    match = _EXACT_COUNT.fullmatch(text)
    if not match:
        return text
    number = float(match.group(1))
    return int(round(number * 10000)) if match.group(2) else int(number)


def epoch_ms(value: Any) -> str | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def snake_keys(obj: Any) -> Any:
    """camelCase keys → snake_case, recursively (SSR state uses camelCase, the API snake_case)."""
    if isinstance(obj, dict):
        return {(_CAMEL.sub("_", k).lower() if isinstance(k, str) else k): snake_keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [snake_keys(v) for v in obj]
    return obj


def _counts(source: dict[str, Any]) -> dict[str, Any]:
    return {k: count(source.get(k)) for k in ("liked_count", "collected_count", "comment_count", "share_count")}


def _tags_from_list(tag_list: Any) -> list[str]:
    if not isinstance(tag_list, list):
        return []
    names = []
    for tag in tag_list:
        if isinstance(tag, dict) and isinstance(tag.get("name"), str) and tag.get("type") in (None, "topic"):
            names.append(tag["name"].strip())
        elif isinstance(tag, str):
            names.append(tag.strip())
    return [n for n in names if n]


def _user(note: dict[str, Any]) -> dict[str, Any]:
    user = note.get("user")
    return user if isinstance(user, dict) else {}


# ---- one note object per layout --------------------------------------------------------------

def web_note(note: dict[str, Any], layout: str, fallback_id: Any = None) -> Note:
    """The web API / SSR note (`note_card`, snake_case) with title, desc, tag_list, interact_info."""
    user = _user(note)
    interact = note.get("interact_info") if isinstance(note.get("interact_info"), dict) else {}
    images = note.get("image_list")
    return Note(
        note_id=_str(note.get("note_id")) or _str(note.get("id")) or _str(fallback_id),
        layout=layout, title=_str(note.get("title")), desc=note.get("desc") if isinstance(note.get("desc"), str) else "",
        tags=_tags_from_list(note.get("tag_list")), note_type=_str(note.get("type")),
        author=user.get("nickname"), user_id=_str(user.get("user_id")) or None,
        extra={**_counts(interact), "time": epoch_ms(note.get("time")),
               "last_update_time": epoch_ms(note.get("last_update_time")),
               "ip_location": _str(note.get("ip_location")) or None,
               "image_count": len(images) if isinstance(images, list) else None},
    )


def app_note(item: dict[str, Any]) -> Note:
    """App search API item (`items[].note`): the desc there is an excerpt cut by the server."""
    note = item["note"]
    user = _user(note)
    images = note.get("images_list")
    return Note(
        note_id=_str(note.get("id")) or _str(item.get("id")), layout="app_search", title=_str(note.get("title")),
        desc=note.get("desc") if isinstance(note.get("desc"), str) else "", desc_complete=False,
        note_type=_str(note.get("type")), author=user.get("nickname"),
        user_id=_str(user.get("userid")) or _str(user.get("user_id")) or None,
        extra={"liked_count": count(note.get("liked_count")),
               "image_count": len(images) if isinstance(images, list) else None},
    )


def spider_note(row: dict[str, Any], layout: str) -> Note:
    """Spider_XHS `handle_note_info` output (info.json, or detail.txt read into the same keys)."""
    title = _str(row.get("title"))
    placeholder = title == "无标题"  # Spider_XHS writes this when the note has no title
    ip = _str(row.get("ip_location"))
    tags = row.get("tags")
    images = row.get("image_list")
    return Note(
        note_id=_str(row.get("note_id")), layout=layout, title="" if placeholder else title,
        desc=row.get("desc") if isinstance(row.get("desc"), str) else "",
        tags=[t.strip() for t in tags if isinstance(t, str) and t.strip()] if isinstance(tags, list) else [],
        note_type=TYPE_FROM_ZH.get(_str(row.get("note_type")), ""), author=row.get("nickname"),
        user_id=_str(row.get("user_id")) or None,
        extra={**_counts(row), "upload_time_local": _str(row.get("upload_time")) or None,
               "ip_location": None if ip in ("", "未知") else ip, "title_placeholder": placeholder or None,
               "image_count": len(images) if isinstance(images, list) else None},
    )


def mediacrawler_note(row: dict[str, Any]) -> Note:
    """MediaCrawler `store/xhs` note row: tag_list/image_list are comma-joined strings."""
    title, desc = _str(row.get("title")), row.get("desc") if isinstance(row.get("desc"), str) else ""
    derived = bool(title) and bool(desc.strip()) and title == desc[:255].strip()  # `title or desc[:255]`
    tags = row.get("tag_list")
    images = row.get("image_list")
    return Note(
        note_id=_str(row.get("note_id")), layout="mediacrawler", title="" if derived else title, desc=desc,
        tags=[t.strip() for t in tags.split(",") if t.strip()] if isinstance(tags, str) else _tags_from_list(tags),
        note_type=_str(row.get("type")), author=row.get("nickname"),
        user_id=_str(row.get("user_id")) or _str(row.get("creator_hash")) or None,
        extra={**_counts(row), "time": epoch_ms(row.get("time")),
               "last_update_time": epoch_ms(row.get("last_update_time")),
               "ip_location": _str(row.get("ip_location")) or None, "title_from_desc": derived or None,
               "source_keyword": _str(row.get("source_keyword")) or None,
               "image_count": len([u for u in images.split(",") if u.strip()]) if isinstance(images, str) else None},
    )


# ---- layout recognition ----------------------------------------------------------------------

def _preview(where: str, item: dict[str, Any], card: dict[str, Any], layout: str) -> Skip:
    note_id = _str(card.get("note_id")) or _str(card.get("noteId")) or _str(item.get("id")) or "?"
    title = _str(card.get("display_title")) or _str(card.get("displayTitle"))
    return Skip(f"{where}#note-{note_id}", "listing_preview",
                f"{layout} card of note {note_id} (display_title {title[:30]!r}): a preview without the note text; "
                "fetch the note detail (feed API or explore page) to ingest it", item)


def _at(note: Note, where: str) -> Note:
    note.where = f"{where}#note-{note.note_id or '?'}"
    return note


def _is_note(obj: dict[str, Any]) -> bool:
    return bool(_str(obj.get("note_id")) or _str(obj.get("id"))) and ("desc" in obj or "title" in obj)


def classify(obj: Any, where: str, layout_hint: str = "") -> Iterator[Item]:
    """Notes and skips in any parsed JSON value; `where` locates each item inside the input."""
    if isinstance(obj, list):
        for index, element in enumerate(obj):
            yield from classify(element, f"{where}[{index}]", layout_hint)
        return
    if not isinstance(obj, dict):
        yield Skip(where, "unknown_layout", f"{type(obj).__name__} value where a note object was expected", obj)
        return
    if "data" in obj and ("success" in obj or "code" in obj or "msg" in obj):
        yield from _envelope(obj, where)
        return
    if is_ssr_state(obj):
        yield from _ssr_state(obj, where)
        return
    yield from _item(obj, where, layout_hint)


def is_ssr_state(obj: dict[str, Any]) -> bool:
    """A `window.__INITIAL_STATE__` object: stores keyed by page area (note, user, feed, search)."""
    def store(name: str) -> dict[str, Any]:
        value = obj.get(name)
        return value if isinstance(value, dict) else {}
    return ("noteDetailMap" in store("note") or "notes" in store("user") or "userPageData" in store("user")
            or "feeds" in store("feed") or "feeds" in store("search"))


def _item(obj: dict[str, Any], where: str, hint: str) -> Iterator[Item]:
    if isinstance(obj.get("note_card"), dict):
        card = obj["note_card"]
        if "desc" in card or "title" in card:
            yield _at(web_note(card, hint or "web_feed", obj.get("id")), where)
        else:
            yield _preview(where, obj, card, hint or "home feed / search")
        return
    if isinstance(obj.get("noteCard"), dict):
        yield _preview(where, obj, obj["noteCard"], hint or "SSR listing")
        return
    model = obj.get("model_type")
    if isinstance(obj.get("note"), dict) and model in (None, "note"):
        yield _at(app_note(obj), where)
        return
    if model is not None and model != "note":
        yield Skip(where, "not_a_note", f"search/feed item of model_type {model!r} (not a note)", obj)
        return
    if "note_type" in obj and "note_id" in obj and ("nickname" in obj or "upload_time" in obj):
        yield _at(spider_note(obj, hint or "spider_xhs_info"), where)
        return
    if "comment_id" in obj and "content" in obj:
        yield Skip(f"{where}#comment-{_str(obj.get('comment_id')) or '?'}", "not_a_note",
                   "MediaCrawler comment row (a comment, not a note)", obj)
        return
    if "content" in obj and ("sub_comments" in obj or "user_info" in obj) and "id" in obj:
        yield Skip(f"{where}#comment-{_str(obj.get('id'))}", "not_a_note", "web API comment (a comment, not a note)", obj)
        return
    if "note_id" in obj and ("last_modify_ts" in obj or "note_url" in obj) and not isinstance(obj.get("tag_list"), list):
        yield _at(mediacrawler_note(obj), where)
        return
    if _is_note(obj):
        yield _at(web_note(snake_keys(obj), hint or "note_object"), where)
        return
    if ("display_title" in obj or "displayTitle" in obj) and ("note_id" in obj or "noteId" in obj):
        yield _preview(where, obj, obj, hint or "user posted / collected list")
        return
    if "noteId" in obj and ("desc" in obj or "title" in obj):
        yield _at(web_note(snake_keys(obj), hint or "ssr_note"), where)
        return
    if "basic_info" in obj or "basicInfo" in obj or ("red_id" in obj and "nickname" in obj):
        yield Skip(where, "not_a_note", "user profile object (not a note)", obj)
        return
    keys = ", ".join(sorted(map(str, obj))[:12])
    yield Skip(where, "unknown_layout", f"object with keys [{keys}] matches no known Xiaohongshu note layout", obj)


def _envelope(obj: dict[str, Any], where: str) -> Iterator[Item]:
    msg = obj.get("msg") if obj.get("msg") is not None else obj.get("message")
    code = obj.get("code")
    if obj.get("success") is False or (code not in (None, 0, "0", 200, 1000)):
        yield Skip(where, "api_error", f"API error response (code={code!r}, msg={msg!r})", obj)
        return
    data = obj.get("data")
    said = f"API said {msg!r}" if msg else "API envelope"
    if isinstance(data, dict):
        if isinstance(data.get("items"), list):
            if not data["items"]:
                yield Skip(where, "no_items", f"{said} but data.items is empty (end of feed or login required?)", obj)
            for index, element in enumerate(data["items"]):
                yield from _item_checked(element, f"{where}#data.items[{index}]", "")
            return
        if isinstance(data.get("notes"), list):
            if not data["notes"]:
                yield Skip(where, "no_items", f"{said} but data.notes is empty", obj)
            for index, element in enumerate(data["notes"]):
                yield from _item_checked(element, f"{where}#data.notes[{index}]", "user posted / collected list")
            return
        if isinstance(data.get("comments"), list):
            if not data["comments"]:
                yield Skip(where, "no_items", f"{said} but data.comments is empty", obj)
            for index, element in enumerate(data["comments"]):
                yield Skip(f"{where}#data.comments[{index}]", "not_a_note", "comment page item (a comment, not a note)",
                           element)
            return
        if _is_note(data):
            yield _at(web_note(data, "web_note"), where)
            return
    if isinstance(data, list):
        for index, element in enumerate(data):
            yield from _item_checked(element, f"{where}#data[{index}]", "")
        return
    shape = f"data keys [{', '.join(sorted(map(str, data))[:12])}]" if isinstance(data, dict) else f"data={data!r:.60}"
    yield Skip(where, "unknown_layout", f"{said} with {shape}: not a known Xiaohongshu note layout", obj)


def _item_checked(element: Any, where: str, hint: str) -> Iterator[Item]:
    if isinstance(element, dict):
        yield from _item(element, where, hint)
    else:
        yield Skip(where, "unknown_layout", f"{type(element).__name__} where a feed item was expected", element)


def _ssr_state(state: dict[str, Any], where: str) -> Iterator[Item]:
    found = False
    note_store = state.get("note") if isinstance(state.get("note"), dict) else {}
    detail = note_store.get("noteDetailMap") if isinstance(note_store.get("noteDetailMap"), dict) else {}
    for key, entry in detail.items():
        found = True
        note = entry.get("note") if isinstance(entry, dict) else None
        if isinstance(note, dict) and (note.get("noteId") or note.get("note_id")) and ("desc" in note or "title" in note):
            yield _at(web_note(snake_keys(note), "ssr_note_page", key), where)
        else:
            yield Skip(f"{where}#note-{key}", "no_note_content",
                       f"SSR noteDetailMap entry {key!r} has no note (deleted, private or login-walled note?)", entry)
    user = state.get("user") if isinstance(state.get("user"), dict) else {}
    tabs = user.get("notes") if isinstance(user.get("notes"), list) else []
    for t, tab in enumerate(tabs):
        for index, card in enumerate(tab if isinstance(tab, list) else [tab]):
            found = True
            yield from _item_checked(card, f"{where}#user.notes[{t}][{index}]", "SSR profile page")
    for store in ("feed", "search"):
        feeds = state.get(store, {}).get("feeds") if isinstance(state.get(store), dict) else None
        for index, card in enumerate(feeds if isinstance(feeds, list) else []):
            found = True
            yield from _item_checked(card, f"{where}#{store}.feeds[{index}]", f"SSR {store} page")
    if not found:
        stores = ", ".join(sorted(map(str, state))[:12])
        yield Skip(where, "no_notes", f"window.__INITIAL_STATE__ (stores [{stores}]) holds no note, note card or feed",
                   None)


# ---- text formats ----------------------------------------------------------------------------

def initial_state(html: str) -> Any:
    """The JSON object after `window.__INITIAL_STATE__=` (JS `undefined` read as null), or None."""
    match = _STATE.search(html)
    if not match:
        return None
    text = _UNDEFINED.sub("null", html[match.end():])
    end = text.find("</script>")
    text = text[:end] if end >= 0 else text
    text = text.strip().rstrip(";").strip()
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def spider_detail_txt(text: str) -> dict[str, Any]:
    """Spider_XHS detail.txt (`键: 值` lines; 描述 may span many lines) → info.json keys."""
    row: dict[str, Any] = {}
    current = None
    for line in text.split("\n"):
        key, sep, value = line.partition(": ")
        name = SPIDER_TXT_KEYS.get(key.strip()) if sep else None
        # the multi-line 描述 ends only at the field that follows it (点赞数量)
        if name and (current != "desc" or name == "liked_count"):
            current = name
            row[name] = value
        elif current == "desc":
            row["desc"] += "\n" + line
    for name in ("tags", "image_list"):
        try:
            value = ast.literal_eval(row.get(name, "[]") or "[]")
        except (ValueError, SyntaxError):
            value = []
        row[name] = value if isinstance(value, list) else []
    if isinstance(row.get("desc"), str):
        row["desc"] = row["desc"].rstrip("\n")
    return row


def csv_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line where the row starts, row) for a CSV export with a header line (quoted cells may span lines)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    start = reader.line_num + 1
    for cells in reader:
        if any(cell.strip() for cell in cells):
            yield start, dict(zip(header, cells, strict=False))
        start = reader.line_num + 1


def jsonl_values(text: str) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed value or raw text, error) for each non-empty line."""
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            yield number, orjson.loads(line), None
        except orjson.JSONDecodeError as exc:
            yield number, line, str(exc)
