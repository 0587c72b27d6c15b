"""Douban (豆瓣) movie/book subject pages → generation tasks from Chinese prompt templates.

The page gives human-written material: the synopsis/intro, rating, short comments with
"useful" votes, and review excerpts with their titles. Templates (in `settings/douban.yaml`)
turn them into tasks: introduce the work (synopsis), a one-line comment (short comments above
a vote threshold), title a review from its excerpt (excerpts are truncated on the page, so
they are only ever used as input), and a recommendation built from the page's facts.
Client-side template blocks (`<script type="text/x-handlebar-tmpl">`, `{{…}}` leftovers) are
never read as content.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
from selectolax.lexbor import LexborHTMLParser, LexborNode

from schemas import CuratedRecord, InvalidItem
from sources.html_markdown import collapse
from sources.http.ingest import build_record, html_or_invalid, invalid
from sources.http.page import RawPage
from sources.settings import SourceSettings

SOURCE = "douban"
_SUBJECT = re.compile(r"(movie|book)\.douban\.com/subject/(\d+)")
_TEMPLATE_MARK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
KIND_ZH = {"movie": "电影", "book": "书"}


def _text(node: LexborNode | None) -> str:
    if node is None:
        return ""
    return collapse(node.text(separator=" ")).strip()


def _int(text: str | None) -> int | None:
    match = re.search(r"\d+", (text or "").replace(",", ""))
    return int(match.group()) if match else None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _real(text: str) -> bool:
    """False for client-side template leftovers such as `{{votes}}`."""
    return bool(text) and not _TEMPLATE_MARK.search(text)


def _ld_json(tree: LexborHTMLParser) -> dict[str, Any]:
    for script in tree.css('script[type="application/ld+json"]'):
        try:
            data = orjson.loads((script.text() or "").strip())
        except orjson.JSONDecodeError:
            # Douban's ld+json sometimes carries raw newlines inside strings
            try:
                data = orjson.loads(re.sub(r"[\r\n\t]+", " ", script.text() or ""))
            except orjson.JSONDecodeError:
                continue
        if isinstance(data, dict):
            return data
    return {}


def _subject(tree: LexborHTMLParser, page: RawPage) -> dict[str, Any]:
    ld = _ld_json(tree)
    url = ""
    for candidate in (ld.get("url"), ld.get("sameAs"), page.url, page.location):
        if isinstance(candidate, str) and _SUBJECT.search(candidate):
            url = candidate
            break
    og = tree.css_first('meta[property="og:url"]')
    if not url and og is not None:
        url = og.attributes.get("content") or ""
    match = _SUBJECT.search(url) or _SUBJECT.search(page.location.replace("_", "/").replace("///", "://"))
    kind = match.group(1) if match else ("movie" if ld.get("@type") == "Movie" else "book" if ld.get("@type") == "Book" else "")
    subject_id = match.group(2) if match else None
    title = _text(tree.css_first('span[property="v:itemreviewed"]'))
    if not title:
        title = str(ld.get("name") or "").strip()
    year = _text(tree.css_first("h1 .year")).strip("()（）")
    summary_nodes = tree.css('#link-report-intra span.all, #link-report-intra span[property="v:summary"], '
                             '#link-report .intro, #link-report-intra .intro, span[property="v:summary"]')
    summaries = [s for s in (_text(n) for n in summary_nodes) if _real(s)]
    summary = max(summaries, key=len) if summaries else ""
    summary = re.sub(r"\s*\(展开全部\)\s*$", "", summary).strip()
    info = {}
    for span in tree.css("#info span.pl"):
        key = _text(span).rstrip(":：").strip()
        values = []
        node = span.next
        while node is not None and node.tag not in ("br",) and not (node.tag == "span" and "pl" in (node.attributes.get("class") or "")):
            values.append(node.text() if node.tag != "-text" else (node.text_content or ""))
            node = node.next
        value = collapse(" ".join(values)).strip(" :：/")
        if key and value and _real(value):
            info[key] = value
    genres = [_text(g) for g in tree.css('span[property="v:genre"]')] or [
        g for g in _as_list(ld.get("genre")) if isinstance(g, str)]
    directors = [_text(d) for d in tree.css('a[rel="v:directedBy"]')]
    authors = [a.get("name") for a in _as_list(ld.get("author")) if isinstance(a, dict) and a.get("name")] if kind == "book" else []
    return {
        "kind": kind, "id": subject_id, "url": url if url.startswith("http") else (
            f"https://{kind}.douban.com/subject/{subject_id}/" if subject_id else None),
        "title": title, "year": year, "summary": summary, "info": info, "genres": genres,
        "directors": directors or [d.get("name") for d in _as_list(ld.get("director")) if isinstance(d, dict)],
        "authors": authors or ([info["作者"]] if "作者" in info else []),
        "rating": _text(tree.css_first('strong[property="v:average"]')) or None,
        "votes": _int(_text(tree.css_first('span[property="v:votes"]'))),
    }


def _comments(tree: LexborHTMLParser) -> list[dict[str, Any]]:
    out = []
    for item in tree.css(".comment-item"):
        text = _text(item.css_first(".comment-content .short") or item.css_first(".short"))
        if not _real(text):
            continue
        votes = item.css_first(".vote-count") or item.css_first(".votes")
        author = item.css_first(".comment-info a")
        rating = item.css_first(".comment-info .rating")
        stars = re.search(r"allstar(\d)0", (rating.attributes.get("class") or "") if rating else "")
        out.append({
            "id": item.attributes.get("data-cid"), "text": text, "votes": _int(_text(votes)),
            "author": _text(author) or None, "stars": int(stars.group(1)) if stars else None,
            "time": _text(item.css_first(".comment-time")) or None,
        })
    return [c for c in out if c["id"] and _real(c["id"])]


def _reviews(tree: LexborHTMLParser) -> list[dict[str, Any]]:
    out = []
    for item in tree.css(".review-item"):
        title = _text(item.css_first(".main-bd h2 a") or item.css_first("h2"))
        excerpt_node = item.css_first(".short-content")
        excerpt = _text(excerpt_node)
        spoiler = _text(excerpt_node.css_first(".spoiler-tip")) if excerpt_node is not None else ""
        if spoiler:
            excerpt = excerpt.replace(spoiler, "", 1).strip()
        excerpt = re.sub(r"\s*\(\s*展开\s*\)\s*$", "", excerpt).replace("\xa0", " ").strip()
        if not (_real(title) and _real(excerpt)):
            continue
        useful = item.css_first(".action-btn.up span")
        out.append({
            "id": item.attributes.get("id") or item.attributes.get("data-cid"), "title": title, "excerpt": excerpt,
            "useful": _int(_text(useful)), "author": _text(item.css_first(".main-hd .name")) or None,
        })
    return out


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def _facts(subject: dict[str, Any]) -> str:
    bits = []
    if subject["year"]:
        bits.append(subject["year"])
    if subject["directors"]:
        bits.append("导演：" + "、".join(subject["directors"][:2]))
    if subject["authors"]:
        bits.append("作者：" + "、".join(subject["authors"][:2]))
    if subject["genres"]:
        bits.append("类型：" + "/".join(subject["genres"][:3]))
    return "（" + "，".join(bits) + "）" if bits else ""


def parse(page: RawPage, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    """Template tasks for one subject page; a page without title/content → InvalidItem."""
    html = html_or_invalid(page, SOURCE, "a subject HTML page")
    if isinstance(html, InvalidItem):
        yield html
        return
    tree = LexborHTMLParser(html)
    subject = _subject(tree, page)
    if not subject["title"] or subject["kind"] not in KIND_ZH:
        yield invalid(page, SOURCE, "not_a_subject_page", "no Douban movie/book title found (blocked or error page?)",
                      html[:2000])
        return
    opts = settings.options
    min_votes = int(opts.get("min_comment_votes", 0))
    max_comments = int(opts.get("max_comments_per_subject", 10))
    base = {
        "title": subject["title"], "kind_zh": KIND_ZH[subject["kind"]], "summary": subject["summary"],
        "rating": subject["rating"] or "", "votes": subject["votes"] or "", "facts": _facts(subject),
        "genre": "/".join(subject["genres"][:2]),
    }
    common = {"subject_id": subject["id"], "kind": subject["kind"], "rating": subject["rating"],
              "rating_votes": subject["votes"], "genres": subject["genres"]}
    units: list[tuple[str, str, dict[str, Any], dict[str, Any], str | None]] = []  # (template, key, fields, extra, author)
    if subject["summary"]:
        units.append(("summary", "summary", {}, {}, None))
        if subject["rating"]:
            units.append(("recommend", "recommend", {}, {}, None))
    comments = sorted(_comments(tree), key=lambda c: -(c["votes"] or 0))
    for c in [c for c in comments if (c["votes"] or 0) >= min_votes][:max_comments]:
        units.append(("short_comment", f"comment:{c['id']}", {"comment": c["text"]},
                      {"comment_id": c["id"], "comment_votes": c["votes"], "stars": c["stars"], "time": c["time"]},
                      c["author"]))
    for r in _reviews(tree):
        units.append(("review_title", f"review:{r['id']}", {"excerpt": r["excerpt"], "review_title": r["title"]},
                      {"review_id": r["id"], "review_useful": r["useful"], "excerpt_truncated": True}, r["author"]))
    if not units:
        yield invalid(page, SOURCE, "no_content", f"《{subject['title']}》: no synopsis, comments or reviews on the page")
        return
    templates = opts.get("templates", {})
    for name, key, fields, extra, author in units:
        tpl = templates.get(name)
        if not tpl:
            continue
        values = _Fields({**base, **fields})
        try:
            instruction = tpl["instruction"].format_map(values)
            input_text = tpl.get("input", "").format_map(values)
            output = tpl["output"].format_map(values)
        except KeyError as exc:
            yield invalid(page, SOURCE, "template_field", f"template {name!r} needs field {exc}")
            continue
        yield build_record(
            page, settings, source_id=f"{subject['kind']}:{subject['id'] or page.sha256[:12]}:{key}",
            instruction=instruction, input=input_text, output=output, url=subject["url"], author=author,
            title=subject["title"], location=f"{page.location}#{key}",
            task_type={"major": tpl.get("major", settings.task_type.major), "minor": [tpl.get("minor", name)]},
            extra={"template": name, **common, **{k: v for k, v in extra.items() if v is not None}},
        )


def discover(page: RawPage) -> list[str]:
    return []
