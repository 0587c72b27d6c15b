"""Baidu Zhidao (百度知道) question pages → Q&A records (config `zhidao`).

The question title is the instruction, the question's own detail text (问题补充) the input, each
answer an output: the answer in the best slot (`#wgt-best`: 最佳答案 / 推荐答案 / 网友采纳, or
simply the top answer on 2024 pages) and every other answer (`#wgt-answers`). Layouts read: the
2016–2019 page (`<pre accuse="aContent">`, GBK-declared) and the 2024 page (`<div accuse="aContent">`
with a rich-text container and a "展开全部" fold whose text is not content). Answer HTML becomes
Markdown; follow-up threads (追问/追答) are not part of the answer. Votes (赞/踩), whether the
asker accepted the answer, the answer time and the breadcrumb category go to provenance.extra;
the top breadcrumb category is the record's domain when the page has one. Sources never
filter: curation decides on votes. A page that is not a Zhidao question is a located reject.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from schemas import CuratedRecord, InvalidItem
from sources.html_markdown import collapse, node_to_markdown
from sources.http.ingest import build_record, html_or_invalid, invalid
from sources.http.page import RawPage
from sources.settings import SourceSettings

SOURCE = "zhidao"
_QID = re.compile(r"zhidao\.baidu\.com/question/(\d+)")
_NO_CATEGORY = {"", "无分类", "未分类", "百度知道"}
_FOLD = (".wgt-best-mask, .wgt-answers-mask, .wgt-best-showbtn, .wgt-answers-showbtn, script, style, "
         ".replyask-box, .quality-content-view-more")


def _text(node: LexborNode | None) -> str:
    return collapse(node.text(separator=" ")).strip() if node is not None else ""


def _question(tree: LexborHTMLParser) -> tuple[str, str]:
    head = tree.css_first('[accuse="qTitle"]')
    title_node = head.css_first(".ask-title") if head is not None else None
    title = _text(title_node or head)
    detail_node = tree.css_first('[accuse="qContent"]')
    detail = node_to_markdown(detail_node) if detail_node is not None else ""
    return title, detail


def _qid(tree: LexborHTMLParser, html: str, page: RawPage) -> tuple[str | None, str | None]:
    canonical = tree.css_first('link[rel="canonical"]')
    for candidate in ((canonical.attributes.get("href") or "") if canonical is not None else "", page.url or "",
                      page.location):
        match = _QID.search(candidate)
        if match:
            return match.group(1), f"https://zhidao.baidu.com/question/{match.group(1)}.html"
    match = re.search(r"\bqid:\s*'(\d+)'", html)
    return (match.group(1), f"https://zhidao.baidu.com/question/{match.group(1)}.html") if match else (None, None)


def _category(tree: LexborHTMLParser) -> list[str]:
    crumbs = [_text(a) for a in tree.css(".wgt-nav a")]
    return [c for c in crumbs if c not in _NO_CATEGORY]


def _answer_body(node: LexborNode) -> str:
    html = node.html or ""
    pre = re.fullmatch(r"\s*<pre\b([^>]*)>(.*)</pre>\s*", html, re.S)
    if pre:  # 2016-2019 pages hold plain answer text in <pre> (line breaks as <br> or newlines), not code
        html = f"<div{pre.group(1)}>" + pre.group(2).replace("\n", "<br>") + "</div>"
    clone = LexborHTMLParser(html)
    for junk in clone.css(_FOLD):
        junk.decompose()
    root = clone.body
    if root is None:
        return ""
    inner = root.css_first('[accuse="aContent"]') or root
    return node_to_markdown(inner)


def _count(node: LexborNode | None) -> int | None:
    if node is None:
        return None
    value = (node.attributes.get("data-evaluate") or "").strip()
    return int(value) if value.isdigit() else None


def _answers(tree: LexborHTMLParser) -> list[dict[str, Any]]:
    out = []
    for content in tree.css('[accuse="aContent"]'):
        box = content.parent
        answer_id = None
        while box is not None:
            box_id = box.attributes.get("id") or ""
            match = re.fullmatch(r"answer-(\d+)", box_id)
            if match:
                answer_id = match.group(1)
                break
            box = box.parent
        if answer_id is None:
            match = re.search(r"(\d{6,})", content.attributes.get("id") or "")
            answer_id = match.group(1) if match else None
        best = tree.css_first(f"#best-answer-{answer_id}") is not None if answer_id else False
        container = tree.css_first(f"#best-answer-{answer_id}") if best else box
        label = _text(container.css_first(".answer-title")) if container is not None else ""
        time_node = container.css_first(".wgt-replyer-all-time, .answer-time, .pos-time") if container else None
        name_node = container.css_first(".wgt-replyer-all-uname, .user-name, .realname") if container else None
        out.append({
            "id": answer_id, "best": best, "label": label or None, "text": _answer_body(content),
            "votes": _count(tree.css_first(f"#evaluate-{answer_id}")) if answer_id else None,
            "downvotes": _count(tree.css_first(f"#evaluate-bad-{answer_id}")) if answer_id else None,
            "time": re.sub(r"^(推荐于|回答于|采纳于)", "", _text(time_node)).strip() or None,
            "author": _text(name_node) or None,
        })
    return out


def parse(page: RawPage, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    """One record per answer on a question page; any other page → a located reject."""
    html = html_or_invalid(page, SOURCE, "a Baidu Zhidao question page")
    if isinstance(html, InvalidItem):
        yield html
        return
    tree = LexborHTMLParser(html)
    title_tag = collapse(tree.css_first("title").text() if tree.css_first("title") else "").strip()
    if tree.css_first('[accuse="qTitle"]') is None:
        what = "a Baidu Baike item" if title_tag.endswith("_百度百科") else title_tag or "untitled page"
        yield invalid(page, SOURCE, "not_a_question_page",
                      f"no Zhidao question markup ({what}): blocked, deleted or not a zhidao.baidu.com/question page?",
                      html[:500])
        return
    title, detail = _question(tree)
    qid, url = _qid(tree, html, page)
    if not title:
        yield invalid(page, SOURCE, "missing_question", "question title element is empty", html[:500])
        return
    adopted = re.search(r"isAdopted:\s*'(\d)'", html)
    category = _category(tree)
    extra_common = {k: v for k, v in {"qid": qid, "category": category or None,
                                      "adopted_page": adopted.group(1) == "1" if adopted else None}.items()
                    if v is not None}
    kind_settings = settings.model_copy(update={"domain": category[:1]}) if category else settings
    answers = _answers(tree)
    if not answers:
        yield invalid(page, SOURCE, "no_answers", f"question {qid or title!r} has no answers on the page")
        return
    for rank, answer in enumerate(answers):
        key = f"answer-{answer['id'] or rank}"
        location = f"{page.location}#{key}"
        if not answer["text"].strip():
            yield InvalidItem(location=location, reason="empty_answer", source=SOURCE,
                              detail=f"answer {answer['id']} has no text (images only?)")
            continue
        extra = {k: v for k, v in {
            "answer_id": answer["id"], "best_slot": answer["best"], "label": answer["label"], "rank": rank,
            "votes": answer["votes"], "downvotes": answer["downvotes"], "time": answer["time"], **extra_common,
        }.items() if v is not None}
        minor = settings.options.get("best_minor" if answer["best"] else "other_minor")
        yield build_record(
            page, kind_settings, source_id=f"{qid or page.sha256[:12]}:{answer['id'] or rank}",
            instruction=title, input=detail, output=answer["text"], url=url, author=answer["author"], title=title,
            location=location, extra=extra,
            task_type={"major": settings.task_type.major, "minor": [minor]} if minor else None,
        )


def discover(page: RawPage) -> list[str]:
    """No link following: related-question links would turn one question into an unbounded crawl."""
    return []
