"""SegmentFault (思否) technical Q&A → one record per answer; channel listings → question URLs.

Question pages are read through schema.org QAPage microdata (`itemtype=…/Question`, answers as
`acceptedAnswer`/`suggestedAnswer` with `upvoteCount`) with the site's class names as fallback
(`#questionTitle`, `.question.fmt`, `.widget-answers__item`, `.count`, `.accepted`). Title →
instruction, question body → input, answer → output; votes and the accepted flag stay in
provenance (COIG-CQIA kept answers with >= 5 votes: curation decides, not this parser).
Listing pages (`.news-item`/`.stream__item`) yield no records; `discover` returns their links.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from schemas import CuratedRecord, InvalidItem
from sources.html_markdown import collapse, node_to_markdown
from sources.http.ingest import build_record, html_or_invalid, invalid
from sources.http.page import RawPage
from sources.settings import SourceSettings

SOURCE = "segmentfault"
SITE = "https://segmentfault.com"
_JS_WRAPPED = re.compile(r"^\s*export\s+const\s+\w+\s*=\s*`(.*)`;?\s*$", re.S)
_Q_LINK = re.compile(r"^(?:https?://segmentfault\.com)?/q/(\d+)")
_A_LINK = re.compile(r"^(?:https?://segmentfault\.com)?/a/(\d+)")


def page_html(page: RawPage) -> str:
    """The page's HTML; browser snapshots saved as a JS template literal are unwrapped."""
    text = page.text
    match = _JS_WRAPPED.match(text[:200] + text[-20:]) if text.lstrip().startswith("export") else None
    if match is not None:
        inner = re.search(r"`(.*)`", text, re.S)
        return inner.group(1) if inner else text
    return text


def _int(text: str | None) -> int | None:
    if not text:
        return None
    match = re.search(r"-?\d+", text.replace(",", ""))
    return int(match.group()) if match else None


def _is_answer(node: LexborNode) -> bool:
    itemtype = node.attributes.get("itemtype") or ""
    classes = (node.attributes.get("class") or "").split()
    return itemtype.endswith("schema.org/Answer") or "widget-answers__item" in classes


def _text_node(scope: LexborNode) -> LexborNode | None:
    for node in scope.css("[itemprop=text], .fmt"):
        # the scope's own body, not one nested inside an answer
        parent, inside_answer = node.parent, False
        while parent is not None and parent is not scope and parent.mem_id != scope.mem_id:
            if _is_answer(parent):
                inside_answer = True
                break
            parent = parent.parent
        if not inside_answer:
            return node
    return None


def _question(tree: LexborHTMLParser) -> dict:
    scope = tree.css_first('[itemtype$="schema.org/Question"]') or tree.css_first(".widget-question__item")
    title_node = tree.css_first("#questionTitle") or (scope.css_first("[itemprop=name]") if scope else None)
    title = collapse(title_node.text()).strip() if title_node else ""
    if not title:
        og = tree.css_first('meta[property="og:title"]')
        title = (og.attributes.get("content") or "").strip() if og else ""
    body_node = _text_node(scope) if scope is not None else tree.css_first(".question.fmt")
    qid = None
    if title_node is not None:
        qid = title_node.attributes.get("data-id")
    canonical = tree.css_first('link[rel="canonical"]')
    url = canonical.attributes.get("href") if canonical else None
    if not qid and url and (m := _Q_LINK.match(url)):
        qid = m.group(1)
    votes = scope.css_first("[itemprop=upvoteCount]") if scope else None
    return {
        "id": qid,
        "title": title,
        "body": node_to_markdown(body_node) if body_node is not None else "",
        "tags": [collapse(a.text()).strip() for a in tree.css("a.tag, [itemprop=keywords] a") if a.text().strip()],
        "votes": _int(votes.attributes.get("content") or votes.text()) if votes else None,
        "url": url or (f"{SITE}/q/{qid}" if qid else None),
    }


def _answers(tree: LexborHTMLParser) -> list[dict]:
    out = []
    for node in tree.css('[itemtype$="schema.org/Answer"], .widget-answers__item'):
        if any(a["node"].mem_id == node.mem_id for a in out):
            continue
        classes = (node.attributes.get("class") or "").split()
        votes = node.css_first("[itemprop=upvoteCount]") or node.css_first(".count")
        body = node.css_first("[itemprop=text]") or node.css_first(".answer.fmt") or node.css_first(".fmt")
        author = node.css_first("[itemprop=author] [itemprop=name]") or node.css_first(".answer__info--author-name")
        created = node.css_first("[itemprop=dateCreated]")
        out.append({
            "node": node,
            "id": (node.attributes.get("data-id") or node.attributes.get("id") or "").removeprefix("a-"),
            "accepted": node.attributes.get("itemprop") == "acceptedAnswer" or "accepted" in classes,
            "votes": _int((votes.attributes.get("content") or votes.text()) if votes else None),
            "body": node_to_markdown(body) if body is not None else "",
            "author": collapse(author.attributes.get("content") or author.text()).strip() if author else None,
            "created": (created.attributes.get("datetime") or created.attributes.get("content")) if created else None,
        })
    return out


def is_listing(tree: LexborHTMLParser) -> bool:
    return tree.css_first(".news-item, .stream__item, .news-list") is not None


def parse(page: RawPage, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    """One record per answer of a question page; listings yield nothing (see `discover`)."""
    html = html_or_invalid(page, SOURCE, "an HTML page", page_html(page))
    if isinstance(html, InvalidItem):
        yield html
        return
    tree = LexborHTMLParser(html)
    question = _question(tree)
    answers = _answers(tree)
    if not answers:
        if is_listing(tree):
            return
        yield invalid(page, SOURCE, "no_answers" if question["title"] else "not_a_question_page",
                      "no answer blocks found" if question["title"] else "no question title or answers",
                      html[:2000])
        return
    if not question["title"]:
        yield invalid(page, SOURCE, "missing_question", "answers found but no question title")
        return
    qkey = question["id"] or page.sha256[:16]
    for index, answer in enumerate(answers):
        if not answer["body"]:
            yield invalid(page, SOURCE, "empty_answer", f"answer #{index} ({answer['id']}) has no text")
            continue
        aid = answer["id"] or str(index)
        yield build_record(
            page, settings, source_id=f"{qkey}:{aid}", instruction=question["title"], input=question["body"],
            output=answer["body"], url=(f"{question['url']}/a-{aid}" if question["url"] and answer["id"] else question["url"]),
            author=answer["author"], title=question["title"], location=f"{page.location}#answer-{aid}",
            extra={k: v for k, v in {
                "question_id": question["id"], "answer_id": answer["id"] or None, "votes": answer["votes"],
                "accepted": answer["accepted"], "tags": question["tags"], "question_votes": question["votes"],
                "created": answer["created"], "answer_count": len(answers),
            }.items() if v not in (None, [])},
        )


def discover_links(page: RawPage, kinds: tuple[str, ...] = ("q",)) -> list[str]:
    """Absolute question (`q`) and/or article (`a`) URLs linked from a page, in page order."""
    tree = LexborHTMLParser(page_html(page))
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
    """Question URLs from channel listings (crawled next); question pages discover nothing."""
    tree = LexborHTMLParser(page_html(page))
    return discover_links(page) if is_listing(tree) else []
