"""Ruozhiba (弱智吧, Baidu Tieba) titles and best-of posts → questions awaiting an answer.

COIG-CQIA used only the thread titles as instructions and had a strong LLM write the answers,
then people checked them. A source never calls services, and an `InstructionRecord` needs a
non-empty output, so this parser yields `Question` drafts (everything but the output); the
curation stage `curation.stages.answers` turns each into a record with `answer_from=llm`,
`human_verified=false`. `cqia ingest ruozhiba` runs both as one stage (`ingest-ruozhiba`).

Layouts found in public collections (docs/sources.md lists the files):
- title lists `[{title, abs, href, lz, n_reply}]` (znsoooo/ruozhiba);
- annual-best floors `[{author, content, l_num, ctime}]`, content starting with the entry's rank
  ("151、…"), which is stripped;
- best-of lists `[{no, text, …}]` (optionally `score`, `l_num`, `ctime`);
- categorised best-of `[{category, description, jokes: [..]}]`: every joke is one item;
- aiotieba thread dumps, JSONL or a JSON list of `{pid, tid, text, floor, …}` posts, and the same
  crawler's plain-text dump (`===== 主贴内容 =====`, `[楼层] N楼`, `  [评论] user: text`). A
  best-of thread's entries are the floor posts whose text starts with a rank ("365.", "175*.");
  opening post, unranked posts, replies and image-only posts are located rejects saying so;
- plain text, one title or post per line (heading lines and "key: value | …" rows are rejected).
Anything else is a reject whose reason (`unknown_layout`) says the layout is not recognised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from schemas import InvalidItem, Provenance, TaskType
from sources.filecommon import (
    decode,
    file_time,
    fill,
    invalid,
    normalize_newlines,
    sha256_text,
)
from sources.fileread import iter_json, iter_jsonl
from sources.settings import SourceSettings, load_settings

SOURCE = "ruozhiba"
# A leading rank: "151、", "65.", "175*.", "12，" or digits glued to an opening quote ("197“…").
_RANK = re.compile(r"^\s*(\d{1,4})\s*(\*?)\s*(?:[、.．,，]\s*|(?=[“\"「『]))")
_SCORE = re.compile(r"\n\s*评分\s*[:：]\s*(\d+(?:\.\d+)?)\s*$")
_DUMP_HEADER = "===== 主贴内容 ====="
# Plain-text lines that are apparatus, not posts: "----- 目录 -----" headings, "ID: 1 | 标题: …" rows.
_STRUCTURED_LINE = re.compile(r"^[-=#*]{3,}|[-=#*]{3,}$|^[^|]{1,20}[:：][^|]*\|\s*[^|]{1,20}[:：]")
_KNOWN = ("title list {title,…}, annual post {content,…}, best-of {no,text}, category {jokes:[…]}, "
          "thread post {text,floor,…}")


@dataclass(frozen=True)
class Question:
    """A record without its answer: what the answer-generation stage needs to finish it."""

    source: str
    source_id: str
    instruction: str
    task_type: TaskType
    domain: list[str]
    copyright: str
    provenance: Provenance
    input: str = ""
    metadata: str = "暂无元数据信息"


@dataclass
class _Ctx:
    """What every item of one file shares."""

    path: Path
    settings: SourceSettings
    fetched_at: str


def _text(value: Any) -> str:
    return normalize_newlines(value).strip() if isinstance(value, str) else ""


def _strip_rank(text: str) -> tuple[str, str | None, bool]:
    """(text without its leading rank, rank digits or None, starred = topical entry)."""
    match = _RANK.match(text)
    if match is None:
        return text, None, False
    return text[match.end():].strip(), match.group(1), bool(match.group(2))


def _question(ctx: _Ctx, source_id: str, instruction: str, location: str, raw: Any, *,
              url: str | None = None, author: str | None = None, extra: dict[str, Any]) -> Question:
    credit = fill(ctx.settings.options["copyright_templates"], author=author, url=url) or ctx.settings.copyright
    data = raw if isinstance(raw, bytes) else orjson.dumps(raw)
    return Question(
        source=SOURCE, source_id=source_id, instruction=instruction, task_type=ctx.settings.task_type,
        domain=ctx.settings.domain, copyright=credit,
        provenance=Provenance(source_id=source_id, url=url, fetched_at=ctx.fetched_at, raw_sha256=sha256_text(data),
                              license=ctx.settings.license, author=author, location=location,
                              extra={k: v for k, v in extra.items() if v is not None}),
    )


def _content_id(kind: str, text: str) -> str:
    return f"{kind}/{sha256_text(text)[:16]}"


# ------------------------------------------------------------------------------- JSON objects


def _title_item(ctx: _Ctx, item: dict[str, Any], location: str) -> Question | InvalidItem:
    title = _text(item.get("title"))
    if not title:
        return invalid(location, "empty_title", "thread has no title", SOURCE, item)
    href = _text(item.get("href")).split("?", 1)[0]
    base = ctx.settings.options["tieba_base"]
    url = f"{base}{href}" if href.startswith("/") else (href or None)
    source_id = href.strip("/") or _content_id("title", title)
    n_reply = str(item.get("n_reply", ""))
    extra = {"kind": "title", "abstract": _text(item.get("abs")) or None,
             "n_reply": int(n_reply) if n_reply.isdigit() else None}
    return _question(ctx, source_id, title, location, item, url=url, author=_text(item.get("lz")) or None, extra=extra)


def _annual_item(ctx: _Ctx, item: dict[str, Any], location: str) -> Question | InvalidItem:
    content, rank, _ = _strip_rank(_text(item.get("content")))
    if not content:
        return invalid(location, "empty_post", "annual post has no text", SOURCE, item)
    extra = {"kind": "annual_post", "floor": item.get("l_num"), "ctime": item.get("ctime"), "rank": rank,
             "author_role": "poster of the annual-best floor (compiler, not necessarily the joke's author)"}
    return _question(ctx, f"annual/{item.get('l_num', '')}/{sha256_text(content)[:8]}", content, location, item,
                     author=_text(item.get("author")) or None, extra=extra)


def _best_of_item(ctx: _Ctx, item: dict[str, Any], location: str) -> Question | InvalidItem:
    """`{no, text}` entries of a best-of list (rank in `no`; optional score/floor/time)."""
    text, _, _ = _strip_rank(_text(item.get("text")))
    if not text:
        return invalid(location, "empty_post", "best-of entry has no text", SOURCE, item)
    extra = {"kind": "best_of", "rank": item.get("no"), "score": item.get("score"), "floor": item.get("l_num"),
             "ctime": item.get("ctime")}
    return _question(ctx, _content_id("post", text), text, location, item, extra=extra)


def _category_jokes(ctx: _Ctx, item: dict[str, Any], location: str) -> Iterator[Question | InvalidItem]:
    """`{category, description, jokes: [...]}`: each joke is one item, located `#i/j`."""
    jokes = item.get("jokes")
    if not isinstance(jokes, list):
        yield invalid(location, "wrong_type", f"'jokes' is {type(jokes).__name__}, expected a list", SOURCE, item)
        return
    if not jokes:
        yield invalid(location, "empty_category", f"category {item.get('category')!r} lists no jokes", SOURCE, item)
        return
    for index, joke in enumerate(jokes):
        joke_location = f"{location}/{index}"
        text = _text(joke)
        if not text:
            yield invalid(joke_location, "empty_post", "joke is empty or not a string", SOURCE, joke)
            continue
        extra = {"kind": "categorised", "category": _text(item.get("category")) or None, "position": index}
        yield _question(ctx, _content_id("post", text), text, joke_location, joke.encode("utf-8"), extra=extra)


def _json_item(ctx: _Ctx, item: Any, location: str, floors: set[Any]) -> Iterator[Question | InvalidItem]:
    """Dispatch one JSON object by the keys that identify its layout (`floors`: thread state)."""
    if not isinstance(item, dict):
        yield invalid(location, "wrong_type", f"item is {type(item).__name__}, expected an object", SOURCE, item)
    elif "title" in item:
        yield _title_item(ctx, item, location)
    elif "content" in item:
        yield _annual_item(ctx, item, location)
    elif "jokes" in item:
        yield from _category_jokes(ctx, item, location)
    elif "text" in item and ("floor" in item or "pid" in item):
        yield _thread_post(ctx, item, location, floors)
    elif "text" in item:
        yield _best_of_item(ctx, item, location)
    elif "instruction" in item:
        yield invalid(location, "unknown_layout", "instruction/output pairs are finished instruction data, not "
                      "ruozhiba posts: use `cqia ingest import`", SOURCE, item)
    else:
        yield invalid(location, "unknown_layout", f"keys {sorted(item)[:8]} match no known ruozhiba layout "
                      f"({_KNOWN})", SOURCE, item)


# ------------------------------------------------------------------------------ thread dumps


def _thread_post(ctx: _Ctx, row: dict[str, Any], location: str, floors: set[Any]) -> Question | InvalidItem:
    """An aiotieba row. The first row of a floor is the floor post, later rows of that floor are its
    楼中楼 replies (the dumps do not flag them: is_comment false, parent_pid null on every row)."""
    first = row.get("floor") not in floors
    floors.add(row.get("floor"))
    if not isinstance(row.get("text"), str):
        return invalid(location, "wrong_type", f"'text' is {type(row.get('text')).__name__}", SOURCE, row)
    text = _text(row["text"])
    images = row.get("image_links") if isinstance(row.get("image_links"), list) else []
    kind = "floor post" if first else f"reply in floor {row.get('floor')}"
    if not text:
        reason = "image_only" if images else "empty_post"
        return invalid(location, reason, f"{kind} has no text" + (f" ({len(images)} images)" if images else ""),
                       SOURCE, row)
    if not first or row.get("is_comment") is True:
        return invalid(location, "thread_reply", f"{kind}: replies are discussion, not best-of entries", SOURCE, row)
    tid = row.get("tid")
    url = f"{ctx.settings.options['tieba_base']}/p/{tid}" if str(tid).isdigit() else None
    return _thread_entry(ctx, location, row, text, url, author=_text(row.get("user_name")) or None,
                         floor=row.get("floor"), pid=row.get("pid"), time=row.get("time"))


def _thread_entry(ctx: _Ctx, location: str, raw: Any, text: str, url: str | None, *, author: str | None,
                  floor: Any, pid: Any, time: Any) -> Question | InvalidItem:
    """A ranked floor post of a best-of thread → question (rank and trailing score removed)."""
    body, rank, starred = _strip_rank(text)
    if rank is None:
        return invalid(location, "unranked_post", "floor post without a leading rank: not a best-of entry "
                       "(preface, notice or chatter)", SOURCE, raw)
    score = _SCORE.search(body)
    if score:
        body = body[: score.start()].strip()
    if not body:
        return invalid(location, "empty_post", f"entry {rank} has no text after its rank", SOURCE, raw)
    posted = datetime.fromtimestamp(time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(time, int) else None
    extra = {"kind": "thread_entry", "rank": rank, "topical": starred or None,
             "score": float(score.group(1)) if score else None, "floor": floor, "pid": pid, "posted_at": posted,
             "author_role": "poster of the best-of floor (compiler, not necessarily the joke's author)"}
    source_id = f"p/{pid}" if pid is not None else _content_id("post", body)
    return _question(ctx, source_id, body, location, raw, url=url, author=author, extra=extra)


def _text_dump(ctx: _Ctx, text: str) -> Iterator[Question | InvalidItem]:
    """The crawler's plain-text dump: header block, then floors separated by '-----' lines."""
    lines = text.split("\n")
    tid = re.match(r"(\d{6,})_", ctx.path.name)
    url = f"{ctx.settings.options['tieba_base']}/p/{tid.group(1)}" if tid else None
    header_end = next((i for i, line in enumerate(lines) if line.startswith("===== 回复区")), len(lines))
    title = next((line.split(":", 1)[1].strip() for line in lines[:header_end] if line.startswith("标题:")), "")
    yield invalid(f"{ctx.path}:1", "thread_header", f"opening post of the thread {title!r}: entries are the ranked "
                  "floor posts", SOURCE, "\n".join(lines[:header_end])[:2000])
    floor: dict[str, Any] | None = None
    for number, line in enumerate(lines[header_end + 1:], start=header_end + 2):
        if line.startswith("[楼层]"):
            yield from _flush_floor(ctx, floor, url)
            match = re.match(r"\[楼层\]\s*(\d+)楼\s*pid=(\d+)", line)
            floor = {"line": number, "floor": int(match.group(1)) if match else None,
                     "pid": int(match.group(2)) if match else None, "user": "", "content": [], "images": 0,
                     "comments": [], "part": None, "raw": [line]}
        elif floor is None or re.fullmatch(r"-{10,}", line.strip()):
            continue
        else:
            floor["raw"].append(line)
            if line.startswith("用户:"):
                floor["user"] = line.split(":", 1)[1].strip()
            elif line.startswith("内容:"):
                floor["content"].append(line.split(":", 1)[1].strip())
                floor["part"] = "content"
            elif line.startswith("图片URL["):
                floor["images"] += 1
                floor["part"] = None
            elif line.startswith("  [评论]"):
                floor["comments"].append((number, line[len("  [评论]"):].strip()))
                floor["part"] = "comment"
            elif floor["part"] == "content":
                floor["content"].append(line)
            elif floor["part"] == "comment" and line.strip():
                number0, previous = floor["comments"][-1]
                floor["comments"][-1] = (number0, previous + "\n" + line.strip())
    yield from _flush_floor(ctx, floor, url)


def _flush_floor(ctx: _Ctx, floor: dict[str, Any] | None, url: str | None) -> Iterator[Question | InvalidItem]:
    if floor is None:
        return
    location = f"{ctx.path}:{floor['line']}"
    text = "\n".join(floor["content"]).strip()
    raw = "\n".join(floor["raw"])
    if not text:
        reason = "image_only" if floor["images"] else "empty_post"
        yield invalid(location, reason, f"floor {floor['floor']} has no text"
                      + (f" ({floor['images']} images)" if floor["images"] else ""), SOURCE, raw)
    else:
        yield _thread_entry(ctx, location, raw.encode("utf-8"), text, url, author=floor["user"] or None,
                            floor=floor["floor"], pid=floor["pid"], time=None)
    for number, comment in floor["comments"]:
        yield invalid(f"{ctx.path}:{number}", "thread_reply", f"reply in floor {floor['floor']}: replies are "
                      "discussion, not best-of entries", SOURCE, comment)


# ------------------------------------------------------------------------------------- files


def _iter_entries(ctx: _Ctx, entries: Iterable[Any]) -> Iterator[Question | InvalidItem]:
    """Items streamed by the shared reader (a bad byte or a broken item is a reject of that item,
    the rest is read); floors seen across the whole file."""
    floors: set[Any] = set()
    for entry in entries:
        if isinstance(entry, InvalidItem):
            yield entry
            continue
        yield from _json_item(ctx, entry.value, entry.location, floors)


def _iter_json(ctx: _Ctx) -> Iterator[Question | InvalidItem]:
    """A .json file: array, object of lists or JSON Lines."""
    return _iter_entries(ctx, iter_json(ctx.path, SOURCE))


def _iter_jsonl(ctx: _Ctx) -> Iterator[Question | InvalidItem]:
    return _iter_entries(ctx, iter_jsonl(ctx.path, SOURCE))


def _iter_text(ctx: _Ctx) -> Iterator[Question | InvalidItem]:
    text, encoding = decode(ctx.path.read_bytes())
    text = normalize_newlines(text)
    if text.lstrip().startswith(_DUMP_HEADER):
        yield from _text_dump(ctx, text)
        return
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        if _STRUCTURED_LINE.search(line):
            yield invalid(f"{ctx.path}:{number}", "unknown_layout", "line looks like a heading or a 'key: value | …' "
                          "table row, not a title or post (plain-text layout: one title per line)", SOURCE, line)
            continue
        yield _question(ctx, _content_id("line", line), line, f"{ctx.path}:{number}", line.encode("utf-8"),
                        extra={"kind": "text_line", "encoding": encoding})


def iter_ruozhiba(paths: list[Path], settings: SourceSettings | None = None) -> Iterator[Question | InvalidItem]:
    """Questions (or rejects naming file#index / file:line and the reason), file by file."""
    settings = settings or load_settings("ruozhiba")
    readers = {".json": _iter_json, ".jsonl": _iter_jsonl, ".txt": _iter_text}
    for path in paths:
        reader = readers.get(path.suffix.lower())
        if reader is None:
            yield invalid(str(path), "unsupported_file", f"{path.suffix!r}: ruozhiba reads .json, .jsonl or .txt",
                          SOURCE)
            continue
        yield from reader(_Ctx(path=path, settings=settings, fetched_at=file_time(path)))
