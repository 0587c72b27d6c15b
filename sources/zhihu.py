"""Zhihu (知乎) answers → question/answer records; every other item on a page is a located reject.

Inputs seen in the wild, and what each item becomes:

- API v4 JSON: an answer detail object; a list (`data` + `paging`, followed through `paging.next`)
  whose items are answers, feed items (`target` = answer, article, question, pin…), search results
  (`object` = answer, article, people, topic…; titles carry `<em>` highlights) or notifications.
  Answers become records; articles (专栏文章 are not question/answer pairs), bare questions, people,
  topics, pins and the like become rejects naming their type. Other Zhihu JSON (a comment, a pin,
  column metadata, a zhuanlan v1 post, daily stories, an API error) is one reject naming what it is.
- React-era pages (2017–): `js-initialData` entities (camelCase) plus `div.ContentItem` blocks:
  `AnswerItem` (question page, single-answer page with "more answers", feeds) → records;
  `ArticleItem` (column pages, feeds) and other item kinds → rejects; a zhuanlan article page →
  one article reject.
- 2013–2016 server-rendered pages: question page (`.zm-item-answer`, `#zh-question-title`), answer
  page (main answer + "更多回答" entries whose full text sits in `textarea.content`), collection
  page (`div.zm-item` each with its question; a question's later answers omit the title), and the
  `QuestionAnswerListV2` fragment (answers without their question → rejects).
- An answer body alone (the API `content` field saved as a page) or any other HTML → one reject.
- Saved pages wrapped in a JS template literal (crawler test mocks) are unwrapped first.

Question title → instruction, question detail → input, answer HTML → Markdown (TeX formulas,
footnotes; `link.zhihu.com` redirects unwrapped, shop cards dropped) → output. Domain is the
question's topics where the input has them, else the settings' default. Votes, comments, times,
author, collapse/paid/truncation flags go into provenance so curation can filter and credit.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from selectolax.lexbor import LexborHTMLParser, LexborNode

from schemas import CuratedRecord, InvalidItem
from sources.html_markdown import collapse, node_to_markdown, strip_tracking
from sources.http.ingest import build_record, invalid
from sources.http.page import RawPage, unwrap_js_template
from sources.settings import SourceSettings

SOURCE = "zhihu"
Outcome = CuratedRecord | InvalidItem
_CAMEL = re.compile(r"_([a-z])")
_TAGS = re.compile(r"<[^>]+>")
_QUESTION_LINK = re.compile(r"/questions?/(\d+)")
_ANSWER_LINK = re.compile(r"/question/(\d+)/answer/(\d+)")
# Shop cards (好物推荐) and the answer's own date line are page furniture, not answer text.
_FURNITURE = ('a[data-draft-type="mcn-link-card"]', ".RichText-MCNLinkCardContainer", ".MCNLinkCard",
              ".answer-date-link-wrap", "noscript", ".ContentItem-actions", "button")


# ---- small helpers --------------------------------------------------------------------------


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """Field by snake_case name, also accepting the camelCase spelling of the web entities."""
    if not isinstance(obj, dict):
        return default
    if key in obj:
        return obj[key]
    camel = _CAMEL.sub(lambda m: m.group(1).upper(), key)
    return obj.get(camel, default)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
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


def _plain(value: Any) -> str:
    """Text of a title that may carry search highlights (`如何评价<em>kotlin</em>？`)."""
    return collapse(html_lib.unescape(_TAGS.sub("", value))).strip() if isinstance(value, str) else ""


def unwrap_link(href: str) -> str | None:
    """`link.zhihu.com/?target=…` → the target itself; tracking parameters removed."""
    parts = urlsplit(href)
    if parts.hostname == "link.zhihu.com":
        target = (parse_qs(parts.query).get("target") or [""])[0]
        if target.startswith(("http://", "https://")):
            href = target
    return strip_tracking(href)


def content_markdown(content_html: str) -> str:
    """Markdown of answer HTML without shop cards and date lines; never raises."""
    if not content_html or not content_html.strip():
        return ""
    tree = LexborHTMLParser(content_html)
    root = tree.body or tree.root
    if root is None:
        return ""
    for selector in _FURNITURE:
        for node in root.css(selector):
            node.decompose()
    blocks = node_to_markdown(root, link_filter=unwrap_link).split("\n\n")
    while blocks and blocks[-1].strip() == "---":  # the rule that separated a removed shop card
        blocks.pop()
    while blocks and blocks[0].strip() == "---":
        blocks.pop(0)
    return "\n\n".join(blocks)


def answer_url(question_id: Any, answer_id: Any) -> str:
    if question_id:
        return f"https://www.zhihu.com/question/{question_id}/answer/{answer_id}"
    return f"https://www.zhihu.com/answer/{answer_id}"


def _topics(question: dict[str, Any]) -> list[str]:
    names = []
    topics = _get(question, "topics")
    for topic in topics if isinstance(topics, list) else []:
        name = topic.get("name") if isinstance(topic, dict) else topic if isinstance(topic, str) else None
        if isinstance(name, str) and name.strip() and name.strip() not in names:
            names.append(name.strip())
    return names


def _question_title(question: dict[str, Any], item: dict[str, Any] | None = None) -> str:
    """Title of the question: `title`, else a search result's highlighted `name`, else the item's title."""
    return _plain(_get(question, "title")) or _plain(_get(question, "name")) or _plain(_get(item or {}, "title"))


# ---- one answer → record ---------------------------------------------------------------------


def _truncation(answer: dict[str, Any]) -> list[str]:
    """Why the answer text may be partial, as the source says it (empty when complete)."""
    reasons = []
    if _get(answer, "content_need_truncated") is True:
        reasons.append("content_need_truncated")
    paid = _dict(_get(answer, "paid_info"))
    if paid.get("type") and not paid.get("has_purchased"):
        reasons.append("paid_preview")
    return reasons


def record_from_answer(page: RawPage, settings: SourceSettings, answer: dict[str, Any], index: int,
                       question: dict[str, Any] | None = None) -> Outcome:
    """A record for one API/entity-shaped answer dict; `question` overrides the answer's own."""
    answer_id = str(_get(answer, "id") or "").strip()
    if not answer_id:
        return invalid(page, SOURCE, "missing_field", f"answer #{index} has no id")
    location = f"{page.location}#answer-{answer_id}"
    q = question or _dict(_get(answer, "question"))
    title = _question_title(q, answer if question is None and not q else None)
    if not title:
        return _reject(page, location, "missing_question",
                       f"answer {answer_id}: no question title (an answer list fragment without its question?)")
    content = _get(answer, "content")
    if not isinstance(content, str) or not content.strip():
        if isinstance(_get(answer, "excerpt"), str) and _get(answer, "excerpt").strip():
            return _reject(page, location, "excerpt_only", f"answer {answer_id}: only an excerpt, no content")
        return _reject(page, location, "empty_answer", f"answer {answer_id}: no content")
    output = content_markdown(content)
    if not output:
        return _reject(page, location, "empty_answer", f"answer {answer_id}: content has no text")
    detail = _get(q, "detail") or ""
    question_id = _get(q, "id")
    author = _dict(_get(answer, "author"))
    stats = _dict(_get(_dict(_get(answer, "reaction")), "statistics"))
    truncated = _truncation(answer)
    topics = _topics(q)
    extra = {
        "answer_id": answer_id,
        "question_id": str(question_id) if question_id is not None else None,
        "voteup_count": _int(_get(answer, "voteup_count")),
        "comment_count": _int(_get(answer, "comment_count")),
        "thanks_count": _int(_get(answer, "thanks_count")),
        "favorites": _int(_get(stats, "favorites")) if stats else _int(_get(answer, "favorites_count")),
        "created_time": _iso(_get(answer, "created_time")),
        "updated_time": _iso(_get(answer, "updated_time")),
        "author_slug": _get(author, "url_token"),  # Zhihu calls it url_token; a *_token key would be scrubbed as a secret
        "ip_info": _get(answer, "ip_info"),
        "topics": topics,
        "api_url": _get(answer, "url"),
        "collapsed": True if _get(answer, "is_collapsed") is True or _get(answer, "_collapsed") is True else None,
        "truncated": bool(truncated),
        "truncation": truncated,
        "layout": _get(answer, "_layout"),
    }
    return build_record(
        page, settings, source_id=answer_id, instruction=title,
        input=content_markdown(detail) if isinstance(detail, str) else "",
        output=output, url=answer_url(question_id, answer_id), author=_get(author, "name"), title=title,
        extra={k: v for k, v in extra.items() if v not in (None, [], "")}, location=location,
        domain=topics or None,
    )


def _reject(page: RawPage, location: str, reason: str, detail: str, raw: Any = None) -> InvalidItem:
    item = invalid(page, SOURCE, reason, detail, raw)
    return item.model_copy(update={"location": location})


def _article_reject(page: RawPage, article_id: Any, title: str, where: str) -> InvalidItem:
    return _reject(page, f"{page.location}#article-{article_id}", "article_not_qa",
                   f"Zhihu column article {article_id} ({title or 'untitled'}) in {where}: an article has no "
                   "question to answer, so it is not a Q&A pair")


# ---- API JSON --------------------------------------------------------------------------------

_NOT_ANSWER = {
    "article": "article_not_qa", "question": "question_without_answer", "people": "not_an_answer",
    "topic": "not_an_answer", "pin": "not_an_answer", "zvideo": "not_an_answer", "comment": "not_an_answer",
    "column": "not_an_answer", "roundtable": "not_an_answer", "live": "not_an_answer",
}


def _json_item(page: RawPage, settings: SourceSettings, item: Any, index: int) -> Outcome:
    """One entry of a `data` list: an answer, or a feed/search/notification wrapper around one."""
    where = f"{page.location}#data[{index}]"
    if not isinstance(item, dict):
        return _reject(page, where, "unsupported_item", f"item {index} is {type(item).__name__}, not an object")
    inner = item
    for key in ("target", "object"):
        if isinstance(item.get(key), dict):
            inner = item[key]
            break
    kind = inner.get("type")
    if kind == "answer" and "id" in inner:
        return record_from_answer(page, settings, inner, index)
    if kind == "article":
        return _article_reject(page, inner.get("id"), _plain(inner.get("title")), f"a {item.get('type') or 'list'} item")
    label = kind or item.get("type") or "untyped"
    reason = _NOT_ANSWER.get(str(kind), "unsupported_item")
    detail = f"item {index} is a {label!s} ({item.get('verb') or item.get('type') or 'list item'}), not an answer"
    if kind == "question":
        detail = f"item {index} is a question without an answer: {_question_title(inner)}"
    return _reject(page, where, reason, detail)


def _json_kind(obj: dict[str, Any]) -> str:
    """What a non-list Zhihu JSON object is, for the reject message."""
    if "error" in obj:
        return f"an API error: {obj['error']}"
    if obj.get("type"):
        return f"a Zhihu {obj['type']} object"
    if "slug" in obj and ("postsCount" in obj or "followersCount" in obj):
        return "zhuanlan column metadata (API v1)"
    if "stories" in obj:
        return "Zhihu Daily stories"
    return "JSON without a Zhihu answer (no `type`, no `data` list)"


def _parse_json(page: RawPage, settings: SourceSettings, text: str) -> Iterator[Outcome]:
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        yield invalid(page, SOURCE, "json_decode", f"malformed or truncated JSON: {exc}", text)
        return
    if isinstance(obj, list):
        items: list[Any] | None = obj
    elif isinstance(obj, dict) and isinstance(obj.get("data"), list):
        items = obj["data"]
    else:
        items = None
    if items is not None:
        if not items:
            yield invalid(page, SOURCE, "no_answers", "empty `data` list (end of paging or nothing found)")
        for index, item in enumerate(items):
            yield _json_item(page, settings, item, index)
        return
    if not isinstance(obj, dict):
        yield invalid(page, SOURCE, "unknown_json", f"JSON {type(obj).__name__}, not a Zhihu object", text)
    elif obj.get("type") == "answer" and "id" in obj:
        yield record_from_answer(page, settings, obj, 0)
    elif obj.get("type") == "article" or {"title", "content", "column"} <= obj.keys():
        yield _article_reject(page, obj.get("id") or obj.get("slug"), _plain(obj.get("title")), "an article object")
    elif "error" in obj:
        yield invalid(page, SOURCE, "api_error", f"API error: {obj['error']}", text)
    else:
        yield invalid(page, SOURCE, "not_an_answer" if obj.get("type") else "unknown_json",
                      f"{_json_kind(obj)}, not an answer", text)


# ---- React-era pages (js-initialData + ContentItem) -------------------------------------------


def _initial_state(tree: LexborHTMLParser) -> dict[str, Any] | None:
    script = tree.css_first("script#js-initialData")
    if script is None:
        return None
    try:
        data = orjson.loads(script.text() or "")
    except orjson.JSONDecodeError:
        return {}
    return _dict(_get(data, "initial_state"))


def _zop(node: LexborNode, attr: str = "data-zop") -> dict[str, Any]:
    try:
        return _dict(orjson.loads(html_lib.unescape(node.attributes.get(attr) or "{}")))
    except orjson.JSONDecodeError:
        return {}


def _dom_answer(item: LexborNode) -> dict[str, Any] | None:
    """An API-shaped answer dict from a `ContentItem AnswerItem` block (microdata + data-zop)."""
    zop = _zop(item)
    metas = {m.attributes.get("itemprop"): m.attributes.get("content") for m in item.css("meta[itemprop]")}
    answer_id = zop.get("itemId") or item.attributes.get("name")
    if not answer_id:
        return None
    body = item.css_first(".RichContent-inner .RichText") or item.css_first("[itemprop=text]")
    author_meta = item.css_first("[itemprop=author] meta[itemprop=name]")
    rich = item.css_first(".RichContent")
    collapsed = rich is not None and "is-collapsed" in (rich.attributes.get("class") or "").split()
    text = collapse(body.text()).strip() if body is not None else ""
    excerpt_shown = collapsed and text.endswith("…") and item.css_first(".ContentItem-more") is not None
    answer: dict[str, Any] = {
        "type": "answer",
        "id": str(answer_id),
        "voteup_count": metas.get("upvoteCount"),
        "comment_count": metas.get("commentCount"),
        "created_time": metas.get("dateCreated"),
        "updated_time": metas.get("dateModified"),
        "author": {"name": (author_meta.attributes.get("content") if author_meta else None) or zop.get("authorName")},
        "url": metas.get("url"),
        "_zop_title": zop.get("title"),
        "_layout": "react-dom",
    }
    if excerpt_shown:  # the page only shows the first lines; the rest loads on click
        answer["excerpt"] = text
    elif body is not None:  # children only: the RichText wrapper is a <span> holding <p> blocks
        answer["content"] = body.inner_html or ""
    return answer


def _page_question(tree: LexborHTMLParser, entities: dict[str, Any]) -> dict[str, Any]:
    """The page's question: its entity when there is one, else what the DOM shows."""
    holder = tree.css_first("[data-zop-question]")
    zq = _zop(holder, "data-zop-question") if holder is not None else {}
    questions = _dict(entities.get("questions"))
    wanted = str(zq.get("id") or "")
    for key, q in questions.items():
        if isinstance(q, dict) and _get(q, "title") and (not wanted or str(_get(q, "id") or key) == wanted):
            return q
    q: dict[str, Any] = {"id": zq.get("id"), "topics": zq.get("topics") or []}
    h1 = tree.css_first("h1.QuestionHeader-title")
    meta_name = tree.css_first(".QuestionPage meta[itemprop=name]")
    q["title"] = (collapse(h1.text()).strip() if h1 else "") or (meta_name.attributes.get("content") if meta_name else "")
    detail = tree.css_first(".QuestionRichText [itemprop=text]") or tree.css_first(".QuestionRichText")
    if detail is not None:
        text = node_to_markdown(detail)
        if text and not text.endswith("…"):  # the collapsed excerpt is truncated: don't use it
            q["detail"] = f"<p>{html_lib.escape(text)}</p>"
    return q


def _react_page(page: RawPage, settings: SourceSettings, tree: LexborHTMLParser,
                state: dict[str, Any]) -> Iterator[Outcome]:
    entities = _dict(state.get("entities"))
    question = _page_question(tree, entities)
    answers: dict[str, dict[str, Any]] = {}
    for key, answer in _dict(entities.get("answers")).items():
        if isinstance(answer, dict):
            answers[str(_get(answer, "id") or key)] = {**_snake(answer), "_layout": "react-entities"}
    articles: dict[str, str] = {str(_get(a, "id") or k): _plain(_get(a, "title"))
                                for k, a in _dict(entities.get("articles")).items() if isinstance(a, dict)}
    others: list[tuple[str, str]] = []
    for item in tree.css("div.ContentItem"):
        classes = (item.attributes.get("class") or "").split()
        zop = _zop(item)
        if "AnswerItem" in classes:
            dom = _dom_answer(item)
            if dom is not None:
                answers[dom["id"]] = {**dom, **answers.get(dom["id"], {})}  # entities are richer
        elif "ArticleItem" in classes or zop.get("type") == "article":
            articles.setdefault(str(zop.get("itemId") or len(articles)), _plain(zop.get("title")))
        else:
            others.append((str(zop.get("itemId") or len(others)), next((c for c in classes if c != "ContentItem"), "?")))
    post = tree.css_first("article.Post-Main") or tree.css_first(".Post-RichText")
    if post is not None and not articles:
        title = tree.css_first("h1.Post-Title")
        articles[urlsplit(_canonical(tree) or "").path.rsplit("/", 1)[-1] or "page"] = (
            collapse(title.text()).strip() if title else "")
    if not answers and not articles and not others:
        kind = "question page without answers" if question.get("title") else "Zhihu page without answers"
        yield invalid(page, SOURCE, "no_answers", f"{kind} (unanswered, loaded later by script, or a login wall)")
        return
    qid = str(_get(question, "id") or "")
    for index, answer in enumerate(answers.values()):
        own = _dict(_get(answer, "question"))
        use = question if question.get("title") and (not own or str(_get(own, "id") or "") in ("", qid)) else None
        if use is None and not _question_title(own) and answer.get("_zop_title"):
            own = {**own, "title": answer["_zop_title"]}
            answer = {**answer, "question": own}
        yield record_from_answer(page, settings, answer, index, question=use)
    for article_id, title in articles.items():
        yield _article_reject(page, article_id, title, "a page")
    for item_id, kind in others:
        yield _reject(page, f"{page.location}#item-{item_id}", "unsupported_item",
                      f"content item {item_id} is a {kind}, not an answer")


def _canonical(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first('link[rel="canonical"]')
    return node.attributes.get("href") if node is not None else None


# ---- 2013–2016 server-rendered pages (zm-item-answer) -----------------------------------------


def _legacy_question(tree: LexborHTMLParser) -> dict[str, Any]:
    title_node = tree.css_first("#zh-question-title h2") or tree.css_first("#zh-question-title")
    q: dict[str, Any] = {"title": collapse(title_node.text()).strip() if title_node else ""}
    detail = tree.css_first("#zh-question-detail")
    if detail is not None:
        full = detail.css_first("textarea.content")
        shown = detail.css_first(".zm-editable-content")
        q["detail"] = full.text() if full is not None else (shown.html if shown is not None else "")
    q["topics"] = [collapse(a.text()).strip() for a in tree.css(".zm-tag-editor-labels a.zm-item-tag")]
    for candidate in (_canonical(tree), *(a.attributes.get("href") for a in tree.css("a.answer-date-link"))):
        if candidate and (m := _QUESTION_LINK.search(candidate)):
            q["id"] = m.group(1)
            break
    return q


def _legacy_answer(node: LexborNode) -> dict[str, Any]:
    """An API-shaped answer dict from a `zm-item-answer` / `entry-body` block (2013–2016)."""
    link = node.css_first("a.answer-date-link")
    full = node.css_first("textarea.content")
    token = node.attributes.get("data-atoken")
    m = _ANSWER_LINK.search((link.attributes.get("href") if link else None) or "")
    if m is None and full is not None:  # collection pages keep the date link inside the textarea, as text
        answer_part = re.escape(token) if token else r"\d+"
        m = re.search(r"/question/(\d+)/answer/(" + answer_part + r")\b", full.text())
    token = token or (m.group(2) if m else None) or node.attributes.get("data-aid")
    votes = node.css_first("[data-votecount]")
    wrap = node.css_first(".zm-item-answer-author-wrap")
    author = None
    if wrap is not None:
        named = [collapse(a.text()).strip() for a in wrap.css('a[href*="/people/"]') if a.text().strip()]
        author = named[0] if named else collapse(wrap.text()).strip().split("，")[0] or None
    people = wrap.css_first('a[href*="/people/"]') if wrap is not None else None
    comments = node.css_first("a.toggle-comment")
    shown = node.css_first(".zm-editable-content")
    answer: dict[str, Any] = {
        "type": "answer",
        "id": token,
        "aid": node.attributes.get("data-aid"),
        "voteup_count": votes.attributes.get("data-votecount") if votes else None,
        "comment_count": _int(re.sub(r"\D", "", comments.text())) if comments is not None else None,
        "created_time": node.attributes.get("data-created"),
        "author": {"name": author,
                   "url_token": (people.attributes.get("href") or "").rsplit("/people/", 1)[-1] if people else None},
        "_collapsed": node.attributes.get("data-collapsed") in ("1", "True", "true"),
        "_question_id": m.group(1) if m else None,
        "_layout": "legacy-2015",
    }
    if full is not None:
        answer["content"] = full.text()
    elif shown is not None:
        answer["content"] = shown.html or ""
    else:
        summary = node.css_first(".zh-summary")
        answer["excerpt"] = collapse(summary.text()).strip() if summary is not None else ""
    return answer


def _legacy_page(page: RawPage, settings: SourceSettings, tree: LexborHTMLParser) -> Iterator[Outcome]:
    question = _legacy_question(tree)
    titles: dict[str, str] = {}  # collection pages: question id → title shown above its first answer
    for a in tree.css(".zm-item-title a[href]"):
        if m := _QUESTION_LINK.search(a.attributes.get("href") or ""):
            titles.setdefault(m.group(1), collapse(a.text()).strip())
    nodes = [n for n in tree.css("[data-aid]") if {"zm-item-answer", "entry-body"} & set(
        (n.attributes.get("class") or "").split())]
    for index, node in enumerate(nodes):
        answer = _legacy_answer(node)
        qid = answer.pop("_question_id")
        if question.get("title") and (not question.get("id") or not qid or qid == question.get("id")):
            use = question
        elif qid and qid in titles:
            use = {"id": qid, "title": titles[qid]}
        else:
            use = {"id": qid}
        yield record_from_answer(page, settings, answer, index, question=use)


# ---- dispatch ---------------------------------------------------------------------------------


def _parse_html(page: RawPage, settings: SourceSettings, text: str) -> Iterator[Outcome]:
    tree = LexborHTMLParser(text)
    state = _initial_state(tree)
    if state is not None or tree.css_first("div.ContentItem") is not None:
        yield from _react_page(page, settings, tree, state or {})
    elif tree.css_first(".zm-item-answer[data-aid], .entry-body[data-aid]") is not None:
        yield from _legacy_page(page, settings, tree)
    elif tree.css_first("p[data-pid], img[eeimg], .RichContent-inner, sup[data-draft-type]") is not None:
        yield invalid(page, SOURCE, "content_fragment",
                      "a Zhihu answer/article body alone (the API `content` field saved as a page): no question "
                      "and no answer id to pair it with", text[:2000])
    else:
        yield invalid(page, SOURCE, "unknown_layout",
                      "HTML without a known Zhihu layout (no js-initialData or ContentItem, no zm-item-answer): "
                      "another site, a login wall or an unknown page", text[:2000])


def parse(page: RawPage, settings: SourceSettings) -> Iterator[Outcome]:
    """Records for every answer in a Zhihu API payload or page; every other item → InvalidItem."""
    text, _ = unwrap_js_template(page.text.strip())
    text = text.strip()
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
    """Next page of an API list (`paging.next` until `is_end`)."""
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
