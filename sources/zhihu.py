"""Zhihu (知乎) answers → question/answer records.

Accepted inputs, wherever answer objects appear:
- API v4 JSON: an answer detail object, a question's answer list (`data` + `paging`, followed
  by the crawler through `paging.next`), feed items whose `target` is an answer;
- the server-rendered question page (`js-initialData` entities in camelCase, plus the
  `ContentItem AnswerItem` DOM blocks with schema.org microdata for answers not in the entities).

Question title → instruction, question detail → input, answer content (HTML → Markdown with TeX
formulas and footnotes) → output. Votes, comments, thanks, times, author and URLs go into
provenance so curation can filter and credit. Nothing is filtered here.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from selectolax.lexbor import LexborHTMLParser, LexborNode

from schemas import CuratedRecord, InvalidItem
from sources.html_markdown import html_to_markdown, node_to_markdown
from sources.http.ingest import build_record, invalid
from sources.http.page import RawPage
from sources.settings import SourceSettings

SOURCE = "zhihu"
_CAMEL = re.compile(r"_([a-z])")


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """Field by snake_case name, also accepting the camelCase spelling of the web entities."""
    if not isinstance(obj, dict):
        return default
    if key in obj:
        return obj[key]
    camel = _CAMEL.sub(lambda m: m.group(1).upper(), key)
    return obj.get(camel, default)


def _int(value: Any) -> int | None:
    try:
        return int(str(value).replace(",", "").strip())
    except (TypeError, ValueError):
        return None


def _snake(obj: dict[str, Any]) -> dict[str, Any]:
    """Top-level camelCase keys (web entities) → snake_case (API), so the two merge cleanly."""
    return {re.sub(r"(?<!^)([A-Z])", lambda m: "_" + m.group(1).lower(), k): v for k, v in obj.items()}


def _iso(ts: Any) -> str | None:
    number = _int(ts)
    if number is None or number <= 0:
        if isinstance(ts, str) and ts:
            try:
                when = datetime.fromisoformat(ts.replace("Z", "+00:00"))
                return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            except ValueError:
                return ts
        return None
    if number > 10**11:  # milliseconds
        number //= 1000
    try:
        return datetime.fromtimestamp(number, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_answer(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("type") == "answer" and "id" in obj


def iter_api_answers(obj: Any) -> Iterator[dict[str, Any]]:
    """Answer objects in an API v4 payload: detail, list `data`, or feed items' `target`."""
    if _is_answer(obj):
        yield obj
        return
    items = obj.get("data") if isinstance(obj, dict) else obj if isinstance(obj, list) else None
    if not isinstance(items, list):
        return
    for item in items:
        if _is_answer(item):
            yield item
        elif isinstance(item, dict) and _is_answer(item.get("target")):
            yield item["target"]


def answer_url(question_id: Any, answer_id: Any) -> str:
    if question_id:
        return f"https://www.zhihu.com/question/{question_id}/answer/{answer_id}"
    return f"https://www.zhihu.com/answer/{answer_id}"


def _record_from_answer(
    page: RawPage, settings: SourceSettings, answer: dict[str, Any], index: int,
    question: dict[str, Any] | None = None,
) -> CuratedRecord | InvalidItem:
    answer_id = str(_get(answer, "id") or "").strip()
    location = f"{page.location}#answer-{answer_id or index}"
    if not answer_id:
        return invalid(page, SOURCE, "missing_field", f"answer #{index} has no id")
    q = question or (_get(answer, "question") if isinstance(_get(answer, "question"), dict) else {})
    title = _get(q, "title")
    title = title.strip() if isinstance(title, str) else ""
    if not title:
        return invalid(page, SOURCE, "missing_question", f"answer {answer_id}: no question title")
    content = _get(answer, "content")
    if not isinstance(content, str) or not content.strip():
        return invalid(page, SOURCE, "empty_answer", f"answer {answer_id}: no content (excerpt-only API response?)")
    output = html_to_markdown(content)
    if not output:
        return invalid(page, SOURCE, "empty_answer", f"answer {answer_id}: content has no text")
    detail = _get(q, "detail") or ""
    question_id = _get(q, "id")
    author = _get(answer, "author") if isinstance(_get(answer, "author"), dict) else {}
    author_name = _get(author, "name")
    stats = _get(answer, "reaction", {}) or {}
    stats = _get(stats, "statistics", {}) if isinstance(stats, dict) else {}
    url = answer_url(question_id, answer_id)
    extra = {
        "answer_id": answer_id,
        "question_id": str(question_id) if question_id is not None else None,
        "voteup_count": _int(_get(answer, "voteup_count")),
        "comment_count": _int(_get(answer, "comment_count")),
        "thanks_count": _int(_get(answer, "thanks_count")),
        "favorites": _int(_get(stats, "favorites")),
        "created_time": _iso(_get(answer, "created_time")),
        "updated_time": _iso(_get(answer, "updated_time")),
        "author_url_token": _get(author, "url_token"),
        "ip_info": _get(answer, "ip_info"),
        "topics": [t.get("name") for t in _as_list(_get(q, "topics")) if isinstance(t, dict) and t.get("name")],
        "api_url": _get(answer, "url"),
        "content_truncated": bool(_get(answer, "content_need_truncated")),
    }
    return build_record(
        page, settings, source_id=answer_id, instruction=title,
        input=html_to_markdown(detail) if isinstance(detail, str) else "",
        output=output, url=url, author=author_name, title=title,
        extra={k: v for k, v in extra.items() if v not in (None, [], "")}, location=location,
    )


def _parse_json(page: RawPage, settings: SourceSettings, text: str) -> Iterator[CuratedRecord | InvalidItem]:
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        yield invalid(page, SOURCE, "json_decode", f"malformed or truncated JSON: {exc}", text)
        return
    answers = list(iter_api_answers(obj))
    if not answers:
        error = obj.get("error") if isinstance(obj, dict) else None
        detail = f"API error: {error}" if error else "JSON holds no answer object (detail, list data or feed target)"
        yield invalid(page, SOURCE, "no_answers", detail, text)
        return
    for index, answer in enumerate(answers):
        yield _record_from_answer(page, settings, answer, index)


# ---- server-rendered question page --------------------------------------------------------------


def _initial_entities(tree: LexborHTMLParser) -> dict[str, Any]:
    script = tree.css_first("script#js-initialData")
    if script is None:
        return {}
    try:
        data = orjson.loads(script.text() or "")
    except orjson.JSONDecodeError:
        return {}
    entities = _get(_get(data, "initial_state", {}), "entities", {})
    return entities if isinstance(entities, dict) else {}


def _dom_answer(item: LexborNode) -> dict[str, Any] | None:
    """An API-shaped answer dict from a `ContentItem AnswerItem` block (microdata + data-zop)."""
    try:
        zop = orjson.loads(html_lib.unescape(item.attributes.get("data-zop") or "{}"))
    except orjson.JSONDecodeError:
        zop = {}
    metas = {m.attributes.get("itemprop"): m.attributes.get("content") for m in item.iter() if m.tag == "meta"}
    answer_id = (zop.get("itemId") if isinstance(zop, dict) else None) or item.attributes.get("name")
    body = item.css_first(".RichContent-inner .RichText") or item.css_first("[itemprop=text]")
    if not answer_id or body is None:
        return None
    author_meta = item.css_first("[itemprop=author] meta[itemprop=name]")
    return {
        "type": "answer",
        "id": str(answer_id),
        "content": body.html or "",
        "voteup_count": metas.get("upvoteCount"),
        "comment_count": metas.get("commentCount"),
        "created_time": metas.get("dateCreated"),
        "updated_time": metas.get("dateModified"),
        "author": {"name": (author_meta.attributes.get("content") if author_meta else None)
                   or (zop.get("authorName") if isinstance(zop, dict) else None)},
        "url": metas.get("url"),
    }


def _page_question(tree: LexborHTMLParser, entities: dict[str, Any]) -> dict[str, Any]:
    questions = entities.get("questions") or {}
    if isinstance(questions, dict) and questions:
        q = next(iter(questions.values()))
        if isinstance(q, dict) and _get(q, "title"):
            return q
    q: dict[str, Any] = {}
    h1 = tree.css_first("h1.QuestionHeader-title")
    meta_name = tree.css_first(".QuestionPage meta[itemprop=name]")
    q["title"] = (h1.text().strip() if h1 else "") or (meta_name.attributes.get("content") if meta_name else "")
    holder = tree.css_first("[data-zop-question]")
    if holder is not None:
        try:
            zq = orjson.loads(html_lib.unescape(holder.attributes.get("data-zop-question") or "{}"))
            q["id"] = zq.get("id")
            q["topics"] = zq.get("topics") or []
        except orjson.JSONDecodeError:
            pass
    detail = tree.css_first(".QuestionRichText [itemprop=text]") or tree.css_first(".QuestionRichText")
    if detail is not None:
        text = node_to_markdown(detail)
        if text and not text.endswith("…"):  # the collapsed excerpt is truncated: don't use it
            q["detail"] = f"<p>{html_lib.escape(text)}</p>"
    return q


def _parse_html(page: RawPage, settings: SourceSettings, text: str) -> Iterator[CuratedRecord | InvalidItem]:
    tree = LexborHTMLParser(text)
    entities = _initial_entities(tree)
    question = _page_question(tree, entities)
    answers: dict[str, dict[str, Any]] = {}
    for key, answer in (entities.get("answers") or {}).items() if isinstance(entities.get("answers"), dict) else ():
        if isinstance(answer, dict):
            answers[str(_get(answer, "id") or key)] = _snake(answer)
    for item in tree.css("div.ContentItem.AnswerItem"):
        dom = _dom_answer(item)
        if dom is None:
            continue
        merged = {**dom, **answers.get(dom["id"], {})}  # entities are richer (timestamps, counts)
        answers[dom["id"]] = merged
    if not answers:
        yield invalid(page, SOURCE, "no_answers",
                      "HTML without Zhihu answers (no js-initialData answers, no AnswerItem blocks; login wall?)",
                      text[:2000])
        return
    for index, answer in enumerate(answers.values()):
        yield _record_from_answer(page, settings, answer, index, question=question)


def parse(page: RawPage, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    """Records for every answer in a Zhihu API payload or question page; bad input → InvalidItem."""
    text = page.text.strip()
    if not text:
        yield invalid(page, SOURCE, "empty_body", "empty response body")
        return
    if text[0] in "{[":
        yield from _parse_json(page, settings, text)
    elif text[0] == "<":
        yield from _parse_html(page, settings, text)
    else:
        yield invalid(page, SOURCE, "unknown_format", "neither JSON nor HTML", text[:500])


def discover(page: RawPage) -> list[str]:
    """Next page of a question's answer list (`paging.next` until `is_end`)."""
    text = page.text.strip()
    if not text.startswith("{"):
        return []
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return []
    paging = obj.get("paging") if isinstance(obj, dict) else None
    if isinstance(paging, dict) and not paging.get("is_end") and isinstance(paging.get("next"), str):
        return [paging["next"]] if paging["next"].startswith(("http://", "https://")) else []
    return []
