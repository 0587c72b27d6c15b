"""Ruozhiba (弱智吧, Baidu Tieba) titles and annual-best posts → questions awaiting an answer.

COIG-CQIA used only the thread titles as instructions and had a strong LLM write the answers,
then people checked them. A source never calls services, and an `InstructionRecord` needs a
non-empty output, so this parser yields `Question` drafts (everything but the output); the
curation stage `curation.stages.answers` turns each into a record with `answer_from=llm`,
`human_verified=false`. `cqia ingest ruozhiba` runs both as one stage (`ingest-ruozhiba`).

Inputs (the znsoooo/ruozhiba crawler's JSON): title lists `[{title, abs, href, lz, n_reply}]`
and annual-best floors `[{author, content, l_num, ctime}]` whose content starts with the
entry's rank ("151、…", "65.…"), which is stripped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from schemas import InvalidItem, Provenance, TaskType
from sources.filecommon import file_time, invalid, normalize_newlines, sha256_text
from sources.fileread import iter_json
from sources.settings import SourceSettings, load_settings

SOURCE = "ruozhiba"
_RANK = re.compile(r"^\s*\d{1,4}\s*[、.．]\s*")


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


def _text(value: Any) -> str:
    return normalize_newlines(value).strip() if isinstance(value, str) else ""


def _question(settings: SourceSettings, source_id: str, instruction: str, location: str, raw: bytes,
              fetched_at: str, url: str | None, author: str | None, extra: dict[str, Any]) -> Question:
    return Question(
        source=SOURCE, source_id=source_id, instruction=instruction, task_type=settings.task_type,
        domain=settings.domain,
        copyright=settings.options["copyright_template"].format(author=author or "佚名", url=url or "百度贴吧"),
        provenance=Provenance(source_id=source_id, url=url, fetched_at=fetched_at, raw_sha256=sha256_text(raw),
                              license=settings.license, author=author, location=location, extra=extra),
    )


def iter_ruozhiba(paths: list[Path], settings: SourceSettings | None = None) -> Iterator[Question | InvalidItem]:
    """Questions (or rejects naming file#index and reason) from title and annual-post files."""
    settings = settings or load_settings("ruozhiba")
    base = settings.options["tieba_base"]
    for path in paths:
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
            raw = orjson.dumps(item)
            if "title" in item:
                title = _text(item.get("title"))
                if not title:
                    yield invalid(location, "empty_title", "thread has no title", SOURCE, item)
                    continue
                href = _text(item.get("href")).split("?", 1)[0]
                url = f"{base}{href}" if href.startswith("/") else (href or None)
                source_id = href.strip("/") or f"title/{hashlib.sha256(title.encode()).hexdigest()[:12]}"
                extra = {"kind": "title", "abstract": _text(item.get("abs")) or None,
                         "n_reply": int(item["n_reply"]) if str(item.get("n_reply", "")).isdigit() else None}
                yield _question(settings, source_id, title, location, raw, fetched_at, url,
                                _text(item.get("lz")) or None, extra)
            elif "content" in item:
                content = _RANK.sub("", _text(item.get("content")), count=1).strip()
                if not content:
                    yield invalid(location, "empty_post", "annual post has no text", SOURCE, item)
                    continue
                rank = _RANK.match(_text(item.get("content")))
                source_id = f"annual/{item.get('l_num', index)}/{sha256_text(content)[:8]}"
                extra = {"kind": "annual_post", "floor": item.get("l_num"), "ctime": item.get("ctime"),
                         "author_role": "poster of the annual-best floor (compiler, not necessarily the joke's author)",
                         "rank": re.sub(r"\D", "", rank.group()) if rank else None}
                yield _question(settings, source_id, content, location, raw, fetched_at, None,
                                _text(item.get("author")) or None, extra)
            else:
                yield invalid(location, "unknown_item", "neither a title item nor an annual post", SOURCE, item)
