"""Traditional culture → `chinese_traditional` records: poems, ci, qu, prose classics, idioms.

chinese-poetry JSON comes in many shapes (docs/sources.md lists them): flat lists of pieces
whose lines sit under `paragraphs`, `para` or `content`, whose title is `title`, `chapter` or
the ci tune `rhythmic`; documents nested as book → volume → piece (蒙学); author biographies
`{name, desc}`. Every leaf is one item. What the file or folder says about its items (genre,
dynasty, a one-author collection such as 曹操诗集) comes from `collections` in the settings, so
nothing is guessed: a field the input does not give stays empty and the templates (lists, most
specific first) never print an empty slot.

Text is converted to simplified Chinese (OpenCC). In poems, bracketed editorial notes — variant
readings `(明明 一作：佼佼)`, `（京本作「良」）`, footnote marks `[3]` — are moved out of the
text into `metadata`; a piece whose text marks missing characters (□, （缺…）) is a reject, not
a record. Tasks: poems → compose / author / next line / themes / appreciation (only where the
collection ships a human-written one); prose → recitation and source; biographies → "介绍X";
idioms (chinese-idiom-db CSV lines) → meaning / origin / example sentence.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from schemas import CuratedRecord, InstructionRecord, InvalidItem, Provenance, TaskType, make_record_id
from sources.filecommon import (
    decode,
    file_time,
    fill,
    invalid,
    load_json_file,
    normalize_newlines,
    schema_error,
    sha256_text,
)
from sources.fileread.item import MAX_ITEM_DEPTH, depth_of
from sources.opencc_convert import t2s
from sources.settings import SourceSettings, load_settings

SOURCE = "chinese_traditional"
_CLAUSE = re.compile(r"[，。？！；、：,.?!;:\n]")  # a line end ends a clause (纳兰 lines lack final punctuation)
_SENTENCE = re.compile(r"[。？！；\n]")
_PAREN = re.compile(r"[（(][^（）()]*[）)]")
_FOOTNOTE = re.compile(r"\[\d{1,3}\]")
_DYNASTY_PREFIX = re.compile(r"^\s*[（(]([^）)]{1,4})[）)]\s*(.+)$|^\s*([^：:·\s]{1,4})\s*[：:·]\s*(.+)$")
_LINE_KEYS = ("paragraphs", "para", "content")
# The 宫调 (modes) of Yuan qu: "大石调・青杏子" names a mode and a tune, not a play and a tune.
_GONGDIAO = {"仙吕", "南吕", "中吕", "黄钟", "正宫", "大石调", "小石调", "高平调", "般涉调", "歇指调", "商角调", "双调",
             "越调", "商调", "道宫", "角调", "宫调", "仙吕宫", "南吕宫", "中吕宫", "黄钟宫"}


@dataclass(frozen=True)
class Collection:
    """What a file's name or folder states about all of its items (settings `collections`)."""

    name: str = ""
    genre: str = ""
    dynasty: str = ""
    author: str = ""
    book: str = ""
    anthology: bool = False
    appreciation_field: str = ""
    title: str = ""  # the collection names its single text ("花间集序" for huajianji-0-preface.json)


@dataclass
class Piece:
    """One converted item, with every field the templates may use (empty when the input lacks it)."""

    kind: str  # poem | prose | biography | intro
    genre: str = ""
    title: str = ""
    subtitle: str = ""
    rhythmic: str = ""
    work: str = ""
    tune: str = ""
    author: str = ""
    author_as_given: str = ""
    dynasty: str = ""
    form: str = ""
    cite: str = ""
    lines: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    appreciation: str = ""
    metadata: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def fields(self, settings: SourceSettings) -> dict[str, str]:
        era = f"{self.dynasty}代" if len(self.dynasty) == 1 else self.dynasty
        return {
            "title": self.title, "subtitle": self.subtitle, "rhythmic": self.rhythmic, "work": self.work,
            "tune": self.tune, "author": self.author, "dynasty": self.dynasty, "era": era, "cite": self.cite,
            "form": self.form or ("诗" if self.genre == "诗" else ""), "themes": "、".join(self.themes),
            "theme": self.themes[0] if self.themes else "",
            "role": settings.options.get("roles", {}).get(self.genre, ""),
            "author_credit": "·".join(x for x in (self.dynasty, self.author or self.author_as_given) if x)
            if (self.author or self.author_as_given) else "",
        }


def poem_form(lines: list[str], tags: list[str], forms: tuple[str, ...] | list[str] = ()) -> str | None:
    """The poem's form from its tags, else from clause lengths (4/8 clauses of 5/7 chars)."""
    for tag in tags:
        if tag in (forms or _FORMS):
            return tag
    clauses = [c for c in _CLAUSE.split("\n".join(lines)) if c]
    lengths = {len(c) for c in clauses}
    if len(lengths) != 1 or lengths.pop() not in (5, 7):
        return None
    size = "五言" if len(clauses[0]) == 5 else "七言"
    return {4: f"{size}绝句", 8: f"{size}律诗"}.get(len(clauses))


_FORMS = ("五言绝句", "七言绝句", "五言律诗", "七言律诗", "五言古诗", "七言古诗", "五言排律")


def collection_for(path: Path, settings: SourceSettings) -> Collection:
    """The first settings entry matching the file name, else one of its folders (nearest first).

    Sample files carry their folder in the name ("chinese-poetry__宋词_ci.song.0.json"), so a
    name match covers both layouts."""
    entries = settings.options.get("collections", [])
    for text in (path.name, *reversed(path.parent.parts)):
        for entry in entries:
            if any(key in text for key in entry["match"]):
                return Collection(**{k: v for k, v in entry.items() if k != "match"})
    return Collection()


# ------------------------------------------------------------------------------ walking JSON


def _lines_of(node: dict[str, Any]) -> list[str] | None:
    """The item's text lines, whichever key holds them; None when this node has no text."""
    for key in _LINE_KEYS:
        value = node.get(key)
        if isinstance(value, list) and all(isinstance(x, str) for x in value):
            return value
        if key == "content" and isinstance(value, str):
            return [value]
    return None


def _walk(node: Any, location: str, inherited: dict[str, Any], coll: Collection, depth: int = 0
          ) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]] | InvalidItem]:
    """(location, leaf, inherited context) for every leaf under `node`; rejects for the rest."""
    if not isinstance(node, dict):
        yield invalid(location, "wrong_type", f"item is {type(node).__name__}, expected an object", SOURCE, node)
        return
    if "error_type" in node:
        yield invalid(location, "upstream_error", f"marked erroneous upstream: {node.get('error_type')}", SOURCE, node)
        return
    if _lines_of(node) is not None or ("name" in node and isinstance(node.get("desc", node.get("description")), str)):
        yield location, node, inherited
        return
    series = node.get("paragraphs")
    if isinstance(series, list) and series and all(isinstance(c, dict) for c in series):
        # a poem series (千家诗: {chapter, author, paragraphs: [{subchapter: 其一, paragraphs}, …]})
        context = {**inherited, "series": node.get("chapter") or node.get("title") or ""}
        if isinstance(node.get("author"), str):
            context["series_author"] = node["author"]
        for index, child in enumerate(series):
            yield from _walk(child, f"{location}.{index}", context, coll, depth + 1)
        return
    children = node.get("content")
    if isinstance(children, list) and children and all(isinstance(c, dict) for c in children):
        context = dict(inherited)
        title = node.get("title") if isinstance(node.get("title"), str) else ""
        if depth == 0:
            context["book"] = title
            if isinstance(node.get("author"), str) and not coll.anthology:
                context["author"] = node["author"]
        elif title:
            context["volume"] = title
        for key in ("type", "tags", "chapter"):
            if isinstance(node.get(key), str):
                context[key] = node[key]
        for index, child in enumerate(children):
            yield from _walk(child, f"{location}.{index}", context, coll, depth + 1)
        return
    if isinstance(node.get("title"), str) and "desc" in node:
        yield location, node, inherited
        return
    yield invalid(location, "unknown_layout", f"keys {sorted(node)[:8]} match no chinese-poetry layout (lines under "
                  f"{'/'.join(_LINE_KEYS)}, nested 'content' volumes, or a {{name, desc}} biography)", SOURCE, node)


# ----------------------------------------------------------------------------- one piece


def _str(value: Any) -> str:
    return normalize_newlines(value).strip() if isinstance(value, str) else ""


def _split_author(raw: str, settings: SourceSettings) -> tuple[str, str]:
    """('唐', '孟浩然') from '（唐）孟浩然' or '先秦：左丘明'; a long bio keeps only the name."""
    known = set(settings.options.get("known_dynasties", []))
    match = _DYNASTY_PREFIX.match(raw)
    if match:
        dynasty, name = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        if dynasty in known:
            raw = name
        else:
            dynasty = ""
    else:
        dynasty = ""
    name = re.split(r"[（(，,]", raw, maxsplit=1)[0].strip()
    return dynasty, name


def _clean_lines(lines: list[str], genre: str, backend: str) -> tuple[list[str], list[str], str]:
    """(text lines, editorial notes moved out, lacuna description or '')."""
    out, notes, lacuna = [], [], ""
    for line in lines:
        text = _FOOTNOTE.sub("", t2s(normalize_newlines(line), backend)).strip()
        if "□" in text:
            lacuna = lacuna or f"'□' marks a missing character: {text[:40]!r}"
        if genre in ("诗", "词"):
            for note in _PAREN.findall(text):
                notes.append(note)
                if "缺" in note:
                    lacuna = lacuna or f"{note} marks missing text"
            text = _PAREN.sub("", text).strip()
        if text:
            out.append(text)
    return out, notes, lacuna


def _piece(node: dict[str, Any], inherited: dict[str, Any], coll: Collection, settings: SourceSettings
           ) -> Piece | tuple[str, str]:
    """The converted piece, or (reason, detail) when it cannot become one."""
    backend = settings.options.get("opencc_backend", "reimplemented")

    def conv(value: Any) -> str:
        return t2s(_str(value), backend)

    known = set(settings.options.get("known_dynasties", []))
    dynasty = coll.dynasty
    tag_text = conv(inherited.get("tags")) if isinstance(inherited.get("tags"), str) else ""
    if isinstance(node.get("tags"), str):
        tag_text = conv(node["tags"])
    if tag_text in known:
        dynasty = tag_text
    if _str(node.get("dynasty")):
        value = _str(node["dynasty"])
        dynasty = settings.options.get("dynasty_names", {}).get(value.lower(), conv(value))
    author_raw = conv(node.get("author")) or conv(inherited.get("series_author")) or conv(inherited.get("author")) \
        or coll.author
    author_dynasty, author = _split_author(author_raw, settings)
    dynasty = author_dynasty or dynasty
    anonymous = any(author.startswith(a) for a in settings.options.get("anonymous_authors", []))

    if "name" in node and _lines_of(node) is None:
        desc = conv(node.get("desc", node.get("description")))
        piece = Piece(kind="biography", genre=coll.genre, author=conv(node.get("name")), dynasty=dynasty,
                      lines=[desc] if desc else [])
        return piece if piece.author and desc else ("empty_text", "biography without a name or text")
    if _lines_of(node) is None:  # {title, desc}: an introduction to a collection
        desc = node.get("desc")
        text = "\n".join(conv(d) for d in desc) if isinstance(desc, list) else conv(desc)
        piece = Piece(kind="biography", genre=coll.genre, title=conv(node.get("title")), lines=[text] if text else [])
        piece.extra["intro"] = True
        return piece if text and piece.title else ("empty_text", "introduction without a title or text")

    rhythmic = conv(node.get("rhythmic"))
    form_hint = conv(node.get("type") or inherited.get("type"))
    given_title = conv(node.get("title")) or conv(inherited.get("series"))
    raw_lines = _lines_of(node) or []
    verse = bool(raw_lines) and all(len(line) <= 40 for line in raw_lines) and not node.get("chapter")
    genre = coll.genre or ("词" if rhythmic or "·" in given_title else "诗" if (given_title or form_hint or verse)
                           else "文")
    lines, notes, lacuna = _clean_lines(raw_lines, genre, backend)
    if lacuna:
        return "incomplete_text", f"upstream text marks missing words: {lacuna}"
    if not lines:
        return "empty_text", "no text lines"
    tags_raw = node.get("tags")
    tags = [conv(t) for t in tags_raw if isinstance(t, str)] if isinstance(tags_raw, list) else []
    forms = settings.options.get("forms", list(_FORMS))
    piece = Piece(kind="prose" if genre == "文" else "poem", genre=genre, rhythmic=rhythmic, dynasty=dynasty,
                  author="" if anonymous else author, author_as_given=author, lines=lines, tags=tags)
    skip = set(settings.options.get("non_theme_tags", []))
    piece.themes = [t for t in tags if t not in forms and t not in skip]
    section = conv(node.get("section"))
    title = conv(node.get("title")) or conv(node.get("chapter"))
    if not title and inherited.get("series"):
        title = " ".join(x for x in (conv(inherited["series"]), conv(node.get("subchapter"))) if x)
    if piece.kind == "poem":
        _poem_titles(piece, title, section, coll, form_hint, forms)
    else:
        _prose_titles(piece, node, inherited, coll, conv)
    _metadata(piece, node, notes, coll, conv)
    piece.extra.update({k: conv(inherited[k]) for k in ("volume", "book") if inherited.get(k)})
    if section:
        piece.extra["section"] = section
    if conv(node.get("chapter")) and piece.kind == "poem" and node.get("title"):
        piece.extra["chapter"] = conv(node.get("chapter"))
    return piece


def _poem_titles(piece: Piece, title: str, section: str, coll: Collection, form_hint: str, forms: list[str]) -> None:
    if piece.genre == "词":
        if not piece.rhythmic and "·" in title:
            piece.rhythmic, piece.subtitle = (part.strip() for part in title.split("·", 1))
        elif piece.rhythmic and title and not title.startswith(piece.rhythmic):
            piece.subtitle = title
        title = title or piece.rhythmic
    elif piece.genre == "曲":
        parts = [p.strip() for p in title.split("・")]
        if len(parts) == 2 and all(parts) and parts[0] in _GONGDIAO:  # 宫调・曲牌: a tune, no play
            piece.tune = "·".join(parts).replace("/", "·")
        elif len(parts) == 2 and all(parts) and len(parts[1]) <= 12:
            piece.work, piece.tune = parts[0], parts[1].replace("/", "·")
        elif len(parts) == 1 and title not in ("同前", "") and len(title) <= 12:
            piece.tune = title
        piece.extra["title_as_given"] = title
        title = ""
        piece.cite = f"《{piece.work}》" if piece.work else (f"【{piece.tune}】" if piece.tune else "")
    piece.title = title
    if title:
        parts = [p for p in (coll.book, section, title) if p]
        piece.cite = "《" + "·".join(dict.fromkeys(parts)) + "》"
    piece.form = poem_form(piece.lines, [form_hint, *piece.tags], forms) or "" if piece.genre == "诗" else ""


def _prose_titles(piece: Piece, node: dict[str, Any], inherited: dict[str, Any], coll: Collection, conv: Any) -> None:
    chapter = coll.title or conv(node.get("chapter")) or conv(node.get("title")) or conv(inherited.get("chapter"))
    book = coll.book or conv(inherited.get("book"))
    if coll.anthology and chapter:
        parts = [chapter]
    else:
        parts = [p for p in (book, chapter) if p]
    piece.title = chapter
    piece.cite = "《" + "·".join(dict.fromkeys(parts)) + "》" if parts else ""
    piece.extra["standalone"] = bool(chapter) or bool(conv(node.get("title")))


def _metadata(piece: Piece, node: dict[str, Any], notes: list[str], coll: Collection, conv: Any) -> None:
    """Editorial notes, annotations, prefaces and comments: kept beside the text, not in it."""
    if notes:
        piece.metadata.append("校注（原文括注，已移出正文）：" + "；".join(notes))
        piece.extra["editorial_notes"] = notes
    annotations = node.get("notes")
    annotations = [conv(n) for n in annotations if isinstance(n, str)] if isinstance(annotations, list) \
        else [conv(annotations)] if isinstance(annotations, str) else []
    if any(annotations):
        piece.metadata.append("注释：" + "\n".join(a for a in annotations if a))
    prologue = conv(node.get("prologue"))
    if prologue and coll.appreciation_field == "prologue":
        piece.appreciation = prologue
    elif prologue:
        piece.metadata.append("序：" + prologue)
    comments = node.get("comment")
    if isinstance(comments, list) and comments:
        piece.metadata.append("评：" + "\n".join(conv(c) for c in comments if isinstance(c, str)))
    if conv(node.get("source")):
        piece.metadata.append("出自：" + conv(node.get("source")))
    if conv(node.get("abstract")) and isinstance(node.get("abstract"), str):
        piece.metadata.append("简介：" + conv(node.get("abstract")))
    if node.get("subchapter") and isinstance(node.get("subchapter"), str):
        piece.extra["subchapter"] = conv(node["subchapter"])
    for key in ("volume", "no#"):
        if node.get(key) is not None:
            piece.extra[key] = node[key]
    unused = sorted(set(node) & {"biography", "spells", "origin", "strains"})
    if unused:
        piece.extra["fields_not_used"] = unused


# ------------------------------------------------------------------------------------ tasks


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE.split(_PAREN.sub("", text)) if c.strip()]


_OPEN_QUOTES, _CLOSE_QUOTES = "“「『", "”」』"


def _excerpt(text: str, limit: int = 60) -> str:
    """The first sentence, a quotation kept whole ('子曰：“学而时习之，…不亦君子乎？”'); when that
    is longer than `limit`, the first sentence with its unclosed quotation marks left out."""
    depth, end = 0, len(text)
    for index, char in enumerate(text):
        depth += (char in _OPEN_QUOTES) - (char in _CLOSE_QUOTES)
        if depth <= 0 and char in "。？！；\n":
            end = index
            break
    first = text[:end].strip()
    if len(first) <= limit:
        return first
    naive = next((part.strip() for part in _SENTENCE.split(text) if part.strip()), "")
    for opening, closing in zip(_OPEN_QUOTES, _CLOSE_QUOTES, strict=True):
        if naive.count(opening) > naive.count(closing):
            naive = naive.replace(opening, "", naive.count(opening) - naive.count(closing))
    return naive


def _tasks(piece: Piece, settings: SourceSettings) -> list[tuple[str, str, str, str]]:
    """(task, instruction, input, output) for one piece; templates with empty slots are skipped."""
    t = settings.options["templates"]
    f = piece.fields(settings)
    tasks: list[tuple[str, str | None, str, str | None]] = []
    if piece.kind == "biography":
        if piece.extra.get("intro"):
            tasks.append(("biography", fill(t["intro_question"], **f), "", piece.text))
        else:
            tasks.append(("biography", fill(t["biography_question"], **{**f, "name": piece.author}), "", piece.text))
    elif piece.kind == "poem":
        tasks.append(("compose", fill(t[f"compose_{piece.genre}"], **f), "", piece.text))
        if piece.author and piece.genre != "曲":
            tasks.append(("author", fill(t["author_question"], **f), "", fill(t["author_answer"], **f)))
        clauses = _clauses(piece.text)
        if len(clauses) >= 2:
            g = {**f, "line": clauses[0], "next": clauses[1]}
            tasks.append(("next_line", fill(t["next_line_question"], **g), "", fill(t["next_line_answer"], **g)))
        if piece.themes:
            tasks.append(("themes", fill(t["themes_question"], **f), "", fill(t["themes_answer"], **f)))
        if piece.appreciation:
            tasks.append(("appreciation", fill(t["appreciation_question"], **f), piece.text, piece.appreciation))
    else:
        if piece.extra.get("standalone") and len(piece.text) <= settings.options.get("recite_max_chars", 3000):
            tasks.append(("recite", fill(t["recite_question"], **f), "", piece.text))
        excerpt = _excerpt(piece.text)
        if excerpt and excerpt != piece.text.strip() or not piece.extra.get("standalone"):
            g = {**f, "excerpt": excerpt}
            tasks.append(("source", fill(t["source_question"], **g), "", fill(t["source_answer"], **g)))
    return [(task, q, i, a) for task, q, i, a in tasks if q and a]


def _task_kind(task: str) -> str:
    return {"recite": "prose", "source": "prose", "biography": "biography"}.get(task, "poem")


def iter_poems(path: Path, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    """Every leaf of a chinese-poetry JSON file → its records (or one located reject)."""
    data = load_json_file(path, SOURCE)
    if isinstance(data, InvalidItem):
        yield data
        return
    coll = collection_for(path, settings)
    fetched_at = file_time(path)
    items = data if isinstance(data, list) else [data]
    for index, item in enumerate(items):
        if (depth := depth_of(item)) > MAX_ITEM_DEPTH:  # the shared readers' limit: one reject, never a crash
            yield invalid(f"{path}#{index}", "too_deep", f"item nests {depth} levels deep (limit {MAX_ITEM_DEPTH})",
                          SOURCE, None)
            continue
        for leaf in _walk(item, f"{path}#{index}", {}, coll):
            if isinstance(leaf, InvalidItem):
                yield leaf
                continue
            location, node, inherited = leaf
            yield from _piece_records(settings, path, location, node, inherited, coll, fetched_at)


def _piece_records(settings: SourceSettings, path: Path, location: str, node: dict[str, Any],
                   inherited: dict[str, Any], coll: Collection, fetched_at: str
                   ) -> Iterator[CuratedRecord | InvalidItem]:
    piece = _piece(node, inherited, coll, settings)
    if isinstance(piece, tuple):
        yield invalid(location, piece[0], piece[1], SOURCE, node)
        return
    tasks = _tasks(piece, settings)
    if not tasks:
        yield invalid(location, "no_task", f"{piece.kind} {piece.title or '(untitled)'!r}: no title, tune, author or "
                      "two clauses to build a task from", SOURCE, node)
        return
    native = node.get("id") if isinstance(node.get("id"), str) and node.get("id") else \
        f"{path.name}#{location.rsplit('#', 1)[1]}"
    raw = orjson.dumps(node)
    f = piece.fields(settings)
    metadata = "\n".join(piece.metadata) or "暂无元数据信息"
    extra = {"kind": piece.kind, "genre": piece.genre or None, "collection": coll.name or None,
             "title": piece.title or None, "rhythmic": piece.rhythmic or None, "form": piece.form or None,
             "tags": piece.tags, "author": piece.author_as_given or None, "dynasty": piece.dynasty or None,
             **piece.extra}
    extra = {k: v for k, v in extra.items() if v not in (None, "", [])}
    for task, instruction, input_text, output in tasks:
        kind = _task_kind(task) if piece.kind != "prose" else "prose"
        yield _record(settings, f"{piece.kind}/{native}/{task}", f"{location}/{task}", task, kind, instruction,
                      input_text, output, raw, fetched_at, {**extra, "task": task}, metadata=metadata,
                      author=piece.author or None, copyright_fields=f)


# ------------------------------------------------------------------------------------ idioms


_IDIOM_COLUMNS = ("id", "word", "pinyin", "explanation", "origin", "example", "abbr")


def iter_idioms(path: Path, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    """chinese-idiom-db lines: 12,"哀莫大于心死","āi  mò …","释义","出处","例句","amds"."""
    text, encoding = decode(path.read_bytes())
    t = settings.options["templates"]
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
            yield invalid(location, "csv_columns", f"{len(row)} fields, expected {len(_IDIOM_COLUMNS)} (chinese-idiom-db "
                          f"layout: {', '.join(_IDIOM_COLUMNS)})", SOURCE, line)
            continue
        idiom = dict(zip(_IDIOM_COLUMNS, (cell.strip() for cell in row), strict=True))
        word = idiom["word"]
        if not word or not idiom["explanation"]:
            yield invalid(location, "missing_field", "idiom needs a word and an explanation", SOURCE, line)
            continue
        fields = {**idiom, "pinyin": re.sub(r"\s+", " ", idiom["pinyin"]),
                  "example": idiom["example"].replace("～", word).replace("~", word)}
        tasks = [(task, fill(t[f"idiom_{task}_question"], **fields), fill(t[f"idiom_{task}_answer"], **fields))
                 for task in ("meaning", "origin", "example")]
        for task, instruction, answer in tasks:
            if not instruction or not answer:
                continue
            yield _record(settings, f"idiom/{idiom['id'] or word}/{task}", f"{location}/{task}", task, "idiom",
                          instruction, "", answer, line.encode("utf-8"), fetched_at,
                          {"kind": "idiom", "task": task, "pinyin": fields["pinyin"], "encoding": encoding},
                          metadata="暂无元数据信息", author=None, copyright_fields={})


def _record(
    settings: SourceSettings, source_id: str, location: str, task: str, kind: str, instruction: str,
    input_text: str, output: str, raw: bytes, fetched_at: str, extra: dict[str, Any], *, metadata: str,
    author: str | None, copyright_fields: dict[str, str],
) -> CuratedRecord | InvalidItem:
    o = settings.options
    try:
        record = InstructionRecord(
            instruction=instruction, input=input_text, output=output,
            task_type=TaskType.model_validate(o["task_types"][task]), domain=o["domains"][kind],
            metadata=metadata, answer_from=settings.answer_from, human_verified=False,
            copyright=fill(o["copyright"][kind], **copyright_fields) or settings.copyright,
        )
    except ValidationError as exc:
        return invalid(location, "schema", schema_error(exc), SOURCE, raw.decode("utf-8", "replace"))
    return CuratedRecord(
        id=make_record_id(SOURCE, source_id), source=SOURCE, record=record,
        provenance=Provenance(
            source_id=source_id, url=o["url_by_kind"][kind], fetched_at=fetched_at, raw_sha256=sha256_text(raw),
            license=o["license_by_kind"][kind], author=author, location=location, extra=extra,
        ),
    )


def iter_classical(paths: list[Path], settings: SourceSettings | None = None) -> Iterator[CuratedRecord | InvalidItem]:
    """Dispatch by file type: .json → chinese-poetry layouts, .txt/.csv → idiom table."""
    settings = settings or load_settings("chinese_traditional")
    for path in paths:
        suffix = path.suffix.lower()
        if suffix == ".json":
            yield from iter_poems(path, settings)
        elif suffix in (".txt", ".csv"):
            yield from iter_idioms(path, settings)
        else:
            yield invalid(str(path), "unsupported_file", f"{suffix!r}: use .json (chinese-poetry) or .txt/.csv idioms",
                          SOURCE)
