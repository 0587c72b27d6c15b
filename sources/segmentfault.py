"""SegmentFault (思否) technical Q&A → one record per answer; every other page is a located reject.

Layouts met in the wild, and what each becomes:

- Server-rendered question page (2014–2020): `#questionTitle[data-id]`, `.question.fmt` body,
  `a.tag` tags, one `article.widget-answers__item` per answer (`id="a-…"`, `.widget-vote .count`,
  `.answer.fmt`, class `accepted`; class `ignored` for answers the community folded, listed after a
  "N 个答案被忽略" row that is not an answer). One record per answer; folded answers are flagged.
- The same page with schema.org microdata (`itemtype=…/Question`, `acceptedAnswer`/`suggestedAnswer`
  with `upvoteCount`) or a schema.org `QAPage` JSON-LD block: read through the standard vocabulary.
- Listings (channel/news page 2020 `.news-item`, question list 2018 `.stream-list__item`, the
  `/gateway/…` JSON API `{"rows": […]}`) → one `listing_page` reject; `discover` returns their
  question links so a crawl goes on to the questions.
- Article pages (`/a/…`, 专栏文章) → `article_not_qa`; the anti-bot page that answers crawlers with
  an `acw_sc__v2` script challenge → `anti_crawler_challenge`; a Next.js page (2021+, `__NEXT_DATA__`)
  with neither microdata nor JSON-LD → `unsupported_layout` (no real such question page was
  available to learn its markup from); anything else → `not_segmentfault` / `not_a_question_page`.

Title → instruction, question body → input, answer → output; tags → domain (as COIG-CQIA's
segmentfault config has them); votes, accepted/folded flags stay in provenance (COIG-CQIA kept
answers with >= 5 votes: curation decides, not this parser). Saved pages wrapped in a JS template
literal (crawler test mocks) are unwrapped first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import orjson
from selectolax.lexbor import LexborHTMLParser, LexborNode

from schemas import CuratedRecord, InvalidItem
from sources.html_markdown import collapse, html_to_markdown, node_to_markdown, strip_tracking
from sources.http.ingest import build_record, invalid
from sources.http.page import RawPage, unwrap_js_template
from sources.settings import SourceSettings

SOURCE = "segmentfault"
SITE = "https://segmentfault.com"
Outcome = CuratedRecord | InvalidItem
_Q_LINK = re.compile(r"^(?:https?://segmentfault\.com)?/q/(\d+)")
_A_LINK = re.compile(r"^(?:https?://segmentfault\.com)?/a/(\d+)")
_ANSWER_ID = re.compile(r"^a-(\d+)$")
_MARKERS = ("segmentfault.com", "SegmentFault", "sf.gg", "思否")


def page_html(page: RawPage) -> str:
    """The page's HTML; browser snapshots saved as a JS template literal are unwrapped."""
    return unwrap_js_template(page.text)[0]


def _int(text: Any) -> int | None:
    if text is None:
        return None
    match = re.search(r"-?\d+", str(text).replace(",", ""))
    return int(match.group()) if match else None


def _text(node: LexborNode | None) -> str:
    return collapse(node.text()).strip() if node is not None else ""


def _markdown(node: LexborNode) -> str:
    return node_to_markdown(node, link_filter=strip_tracking)


def _canonical(tree: LexborHTMLParser) -> str:
    node = tree.css_first('link[rel="canonical"]') or tree.css_first('meta[property="og:url"]')
    return ((node.attributes.get("href") or node.attributes.get("content")) if node is not None else None) or ""


# ---- question pages -----------------------------------------------------------------------------


def _is_answer(node: LexborNode) -> bool:
    itemtype = node.attributes.get("itemtype") or ""
    classes = (node.attributes.get("class") or "").split()
    return itemtype.endswith("schema.org/Answer") or "widget-answers__item" in classes


def _own_text(scope: LexborNode) -> LexborNode | None:
    """The scope's own body (`[itemprop=text]` / `.fmt`), not one nested inside an answer."""
    for node in scope.css("[itemprop=text], .fmt"):
        parent, inside_answer = node.parent, False
        while parent is not None and parent.mem_id != scope.mem_id:
            if _is_answer(parent):
                inside_answer = True
                break
            parent = parent.parent
        if not inside_answer:
            return node
    return None


def _question(tree: LexborHTMLParser) -> dict[str, Any]:
    scope = tree.css_first('[itemtype$="schema.org/Question"]') or tree.css_first(".widget-question__item")
    title_node = tree.css_first("#questionTitle") or (scope.css_first("[itemprop=name]") if scope else None)
    title = (title_node.attributes.get("content") if title_node is not None and title_node.tag == "meta" else None) \
        or _text(title_node)
    body_node = _own_text(scope) if scope is not None else tree.css_first(".question.fmt")
    qid = title_node.attributes.get("data-id") if title_node is not None else None
    url = _canonical(tree) or None
    if not qid and url and (m := _Q_LINK.match(url)):
        qid = m.group(1)
    votes = scope.css_first("[itemprop=upvoteCount]") or scope.css_first(".widget-vote .count") if scope else None
    hidden = any("已被隐藏" in _text(n) for n in tree.css(".widget-question__item .alert"))
    return {
        "id": qid,
        "title": title,
        "body": _markdown(body_node) if body_node is not None else "",
        "tags": list(dict.fromkeys(_text(a) for a in tree.css("a.tag, [itemprop=keywords] a") if _text(a))),
        "votes": _int(votes.attributes.get("content") or votes.text()) if votes else None,
        "url": url if url and _Q_LINK.match(url) else (f"{SITE}/q/{qid}" if qid else url),
        "hidden": hidden or None,
    }


def _answers(tree: LexborHTMLParser) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for node in tree.css('[itemtype$="schema.org/Answer"], .widget-answers__item'):
        if node.mem_id in seen:
            continue
        seen.add(node.mem_id)
        classes = (node.attributes.get("class") or "").split()
        m = _ANSWER_ID.match(node.attributes.get("id") or "")
        answer_id = node.attributes.get("data-id") or (m.group(1) if m else None)
        body = node.css_first("[itemprop=text]") or node.css_first(".answer.fmt") or node.css_first(".fmt")
        if answer_id is None and body is None:
            continue  # a UI row inside the answer list ("1 个答案被忽略"), not an answer
        votes = node.css_first("[itemprop=upvoteCount]") or node.css_first(".widget-vote .count") \
            or node.css_first(".count")
        author = node.css_first("[itemprop=author] [itemprop=name]") or node.css_first(".answer__info--author-name") \
            or node.css_first('.post-offset > strong > a[href^="/u/"]')
        created = node.css_first("[itemprop=dateCreated]")
        out.append({
            "id": answer_id,
            "accepted": node.attributes.get("itemprop") == "acceptedAnswer" or "accepted" in classes,
            "ignored": "ignored" in classes or None,
            "votes": _int((votes.attributes.get("content") or votes.text()) if votes else None),
            "body": _markdown(body) if body is not None else "",
            "author": (collapse(author.attributes.get("content") or author.text()).strip() or None) if author else None,
            "created": (created.attributes.get("datetime") or created.attributes.get("content")) if created else None,
        })
    return out


def _jsonld_qapage(tree: LexborHTMLParser) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """(question, answers) from a schema.org `QAPage` JSON-LD block, if the page has one."""
    for script in tree.css('script[type="application/ld+json"]'):
        try:
            data = orjson.loads(script.text() or "")
        except orjson.JSONDecodeError:
            continue
        for obj in data if isinstance(data, list) else [data]:
            entity = obj.get("mainEntity") if isinstance(obj, dict) and obj.get("@type") == "QAPage" else None
            if not isinstance(entity, dict) or not isinstance(entity.get("name"), str):
                continue
            answers = []
            for key in ("acceptedAnswer", "suggestedAnswer"):
                found = entity.get(key) or []
                for ans in found if isinstance(found, list) else [found]:
                    if isinstance(ans, dict) and isinstance(ans.get("text"), str):
                        m = re.search(r"/a-(\d+)", str(ans.get("url") or ""))
                        author = ans.get("author")
                        answers.append({
                            "id": m.group(1) if m else None, "accepted": key == "acceptedAnswer", "ignored": None,
                            "votes": _int(ans.get("upvoteCount")), "body": html_to_markdown(ans["text"]),
                            "author": author.get("name") if isinstance(author, dict) else None,
                            "created": ans.get("dateCreated"),
                        })
            url = _canonical(tree) or entity.get("url")
            qid = m.group(1) if url and (m := _Q_LINK.match(str(url))) else None
            question = {"id": qid, "title": collapse(entity["name"]).strip(),
                        "body": html_to_markdown(entity["text"]) if isinstance(entity.get("text"), str) else "",
                        "tags": [], "votes": _int(entity.get("upvoteCount")), "url": url, "hidden": None}
            return question, answers
    return None


def _records(page: RawPage, settings: SourceSettings, question: dict[str, Any], answers: list[dict[str, Any]],
             layout: str) -> Iterator[Outcome]:
    qkey = question["id"] or page.sha256[:16]
    for index, answer in enumerate(answers):
        aid = answer["id"] or str(index)
        location = f"{page.location}#answer-{aid}"
        if not answer["body"]:
            yield invalid(page, SOURCE, "empty_answer", f"answer #{index} ({answer['id']}) has no text").model_copy(
                update={"location": location})
            continue
        url = f"{question['url']}/a-{aid}" if question["url"] and answer["id"] else question["url"]
        extra = {
            "question_id": question["id"], "answer_id": answer["id"], "votes": answer["votes"],
            "accepted": answer["accepted"], "ignored": answer["ignored"], "tags": question["tags"],
            "question_votes": question["votes"], "question_hidden": question["hidden"], "created": answer["created"],
            "answer_count": len(answers), "layout": layout,
        }
        yield build_record(
            page, settings, source_id=f"{qkey}:{aid}", instruction=question["title"], input=question["body"],
            output=answer["body"], url=url, author=answer["author"], title=question["title"], location=location,
            extra={k: v for k, v in extra.items() if v not in (None, [])}, domain=question["tags"] or None,
        )


# ---- page kinds ---------------------------------------------------------------------------------


def is_listing(tree: LexborHTMLParser) -> bool:
    return tree.css_first(".news-item, .stream__item, .news-list, .stream-list__item") is not None


def _is_segmentfault(tree: LexborHTMLParser, html: str, page: RawPage) -> bool:
    head = html[:6000]
    return any(marker in head for marker in _MARKERS) or "segmentfault" in (page.url or page.location).lower() \
        or bool(_Q_LINK.match(_canonical(tree)) or _A_LINK.match(_canonical(tree)))


def _is_article(tree: LexborHTMLParser) -> bool:
    return bool(_A_LINK.match(_canonical(tree))) or tree.css_first("body.blog-article, .article__content") is not None


def _parse_json(page: RawPage, text: str) -> Iterator[Outcome]:
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        yield invalid(page, SOURCE, "json_decode", f"malformed or truncated JSON: {exc}", text[:500])
        return
    rows = obj.get("rows") if isinstance(obj, dict) else None
    if isinstance(rows, list):
        links = _json_links(obj)
        yield invalid(page, SOURCE, "listing_page",
                      f"gateway API list of {len(rows)} rows ({len(links)} question/article links, crawled next);"
                      " a list holds no answers")
        return
    yield invalid(page, SOURCE, "unexpected_json", "expected a question page (HTML) or a gateway list (rows)", text[:500])


def _json_links(obj: Any) -> list[str]:
    rows = obj.get("rows") if isinstance(obj, dict) else None
    links = []
    for row in rows if isinstance(rows, list) else []:
        url = row.get("url") if isinstance(row, dict) else None
        if isinstance(url, str) and (_Q_LINK.match(url) or _A_LINK.match(url)):
            links.append(urljoin(SITE, url))
    return links


def parse(page: RawPage, settings: SourceSettings) -> Iterator[Outcome]:
    """One record per answer of a question page; every other page is one located reject."""
    html = page_html(page).strip()
    if not html:
        yield invalid(page, SOURCE, "empty_body", "empty response body")
        return
    if html[0] in "{[":
        yield from _parse_json(page, html)
        return
    tree = LexborHTMLParser(html)
    if "acw_sc__v2" in html or re.search(r"var arg1\s*=\s*'[0-9A-F]{20,}'", html):
        yield invalid(page, SOURCE, "anti_crawler_challenge",
                      "anti-bot script challenge (acw_sc__v2 / arg1) instead of the page: fetch again with the cookie",
                      html[:1000])
        return
    if not _is_segmentfault(tree, html, page):
        yield invalid(page, SOURCE, "not_segmentfault", "no SegmentFault marker (host, title, assets)", html[:2000])
        return
    question, answers = _question(tree), _answers(tree)
    layout = "microdata" if tree.css_first('[itemtype$="schema.org/Answer"]') is not None else "server-rendered"
    if not answers and (found := _jsonld_qapage(tree)) is not None:
        (question, answers), layout = found, "json-ld"
    if answers:
        if not question["title"]:
            yield invalid(page, SOURCE, "missing_question", f"{len(answers)} answers but no question title")
            return
        yield from _records(page, settings, question, answers, layout)
        return
    if is_listing(tree):
        links = discover_links(page, kinds=("q", "a"))
        yield invalid(page, SOURCE, "listing_page",
                      f"listing page with {len(links)} question/article links (crawled next); a listing holds no answers")
    elif _is_article(tree):
        yield invalid(page, SOURCE, "article_not_qa",
                      f"article page ({_canonical(tree) or 'no canonical URL'}): an article is not a Q&A pair")
    elif tree.css_first("script#__NEXT_DATA__") is not None:
        yield invalid(page, SOURCE, "unsupported_layout",
                      "SegmentFault Next.js page (__NEXT_DATA__) without schema.org QAPage microdata or JSON-LD:"
                      " this layout is not parsed (no real question page of it was available)", html[:2000])
    elif question["title"]:
        yield invalid(page, SOURCE, "no_answers", f"question {question['id'] or '?'} has no answers yet")
    else:
        yield invalid(page, SOURCE, "not_a_question_page", "SegmentFault page without a question or answers",
                      html[:2000])


def discover_links(page: RawPage, kinds: tuple[str, ...] = ("q",)) -> list[str]:
    """Absolute question (`q`) and/or article (`a`) URLs linked from a page, in page order."""
    text = page_html(page).strip()
    if text.startswith("{"):
        try:
            links = _json_links(orjson.loads(text))
        except orjson.JSONDecodeError:
            return []
        return [u for u in links if any(f"/{k}/" in u for k in kinds)]
    tree = LexborHTMLParser(text)
    base = page.url or SITE
    seen: list[str] = []
    for a in tree.css("a[href]"):
        href = a.attributes.get("href") or ""
        for kind, pattern in (("q", _Q_LINK), ("a", _A_LINK)):
            if kind in kinds and (m := pattern.match(href)):
                path = f"/{kind}/{m.group(1)}"
                url = urljoin(base, path) if page.url else f"{SITE}{path}"
                if url not in seen:
                    seen.append(url)
    return seen


def discover(page: RawPage) -> list[str]:
    """Question URLs from listings (crawled next); question pages discover nothing."""
    text = page_html(page).strip()
    if text.startswith("{"):
        return discover_links(page)
    return discover_links(page) if is_listing(LexborHTMLParser(text)) else []
