"""Douban (豆瓣) movie, TV and book pages → generation tasks from Chinese prompt templates.

Pages read: subject pages (movie.douban.com/subject/…, book.douban.com/subject/…) and short-
comment listings (…/subject/…/comments). What the subject is comes from the page itself
(JSON-LD `@type`, `og:type`, the info block): a TV series is called 电视剧, a film 电影, a book
图书, and each gets its own domain and task labels (`settings/douban.yaml`). Every short comment
on the page becomes a record or a located reject: a comment the page cut (`…` with a `(展开)`
link and no full text) is rejected as `truncated_text`, never kept as a complete answer; vote
counts (zero included) go to `provenance.extra["votes"]` for curation to filter on. Review
excerpts are always cut by the page, so they are only used as input. Other Douban pages (book
"works" edition lists, music, games, dramas, people, notes, reviews) are rejected with a reason
naming the page type; a works page's editions are offered to the crawler by `discover`.
Client-side template blocks (`{{…}}`) are never read as content.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
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
_CUT = re.compile(r"(\.\.\.|…+)\s*$")
_HAN_END = re.compile(r"[\u4e00-\u9fff]$")  # a Chinese synopsis ends with punctuation, not mid-word
KIND_ZH = {"movie": "电影", "tv": "电视剧", "book": "图书"}
MEASURE = {"movie": "部", "tv": "部", "book": "本"}
OTHER_PAGES = {  # og:type or URL path → what the page is, for the reject reason
    "music.album": "music album", "/music/": "music album", "/game/": "game", "/drama/": "stage drama",
    "/personage/": "person", "/celebrity/": "person", "/note/": "note (日记)", "/review/": "full review",
    "/group/": "group topic", "/doulist/": "list (豆列)", "/works/": "book works (all editions)",
}


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


def _meta(tree: LexborHTMLParser, selector: str) -> str:
    node = tree.css_first(selector)
    return (node.attributes.get("content") or "").strip() if node is not None else ""


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


def _paragraphs(node: LexborNode | None) -> str:
    """Text of an intro block with its paragraph and line breaks kept (ideographic indents dropped)."""
    if node is None:
        return ""
    clone = LexborHTMLParser(node.html or "")
    for junk in clone.css("a.a_show_full, a.j, script, style"):
        junk.decompose()
    for br in clone.css("br"):
        br.replace_with("\n")
    root = clone.body
    if root is None:
        return ""
    paragraphs = root.css("p")
    chunks = [p.text(separator="") for p in paragraphs] if paragraphs else [root.text(separator="")]
    lines = []
    for chunk in chunks:
        for line in chunk.split("\n"):
            line = collapse(line).strip(" \u3000")
            if line:
                lines.append(line)
    return "\n".join(lines)


# ---- what page is this ----------------------------------------------------------------------

def page_url(tree: LexborHTMLParser, page: RawPage) -> str:
    """The page's own URL as the page states it (og:url, mobile-agent, canonical) or as fetched."""
    for candidate in (_meta(tree, 'meta[property="og:url"]'),):
        if candidate.startswith("http"):
            return candidate
    mobile = re.search(r"url=(https?://m\.douban\.com/(movie|book)/subject/(\d+)/?\S*)",
                       _meta(tree, 'meta[name="mobile-agent"]'))
    if mobile:
        rest = mobile.group(1).split(f"/subject/{mobile.group(3)}", 1)[1]
        return f"https://{mobile.group(2)}.douban.com/subject/{mobile.group(3)}{rest or '/'}"
    canonical = tree.css_first('link[rel="canonical"]')
    if canonical is not None and (canonical.attributes.get("href") or "").startswith("http"):
        return canonical.attributes["href"]
    return page.url or (page.location if page.location.startswith("http") else "")


def _other_page(tree: LexborHTMLParser, url: str, title: str) -> str | None:
    """What non-subject Douban page this is (music, game, drama, person, …), from its own URLs."""
    og_type = _meta(tree, 'meta[property="og:type"]')
    urls = " ".join([url, _meta(tree, 'meta[name="mobile-agent"]')])
    for marker, name in OTHER_PAGES.items():
        if marker == og_type or (marker.startswith("/") and marker in urls):
            return name
    if "全部版本" in title:
        return OTHER_PAGES["/works/"]
    if tree.css_first('span[property="v:itemreviewed"]') is None and tree.css_first('a[href*="/location/drama/"]'):
        return OTHER_PAGES["/drama/"]
    return None


def _kind(tree: LexborHTMLParser, ld: dict[str, Any], url: str, info: dict[str, str]) -> str:
    og_type = _meta(tree, 'meta[property="og:type"]')
    rec = tree.css_first("span.rec a[data-type]")
    if ld.get("@type") == "TVSeries" or "集数" in info or "首播" in info or (
            rec is not None and rec.attributes.get("data-type") == "电视剧"):
        return "tv"
    if ld.get("@type") == "Book" or og_type == "book" or "book.douban.com" in url or "ISBN" in info:
        return "book"
    if ld.get("@type") == "Movie" or og_type.startswith("video") or "movie.douban.com" in url:
        return "movie"
    return ""


# ---- subject facts ---------------------------------------------------------------------------

@dataclass
class Subject:
    kind: str
    id: str | None
    url: str | None
    title: str
    year: str = ""
    summary: str = ""
    summary_cut: bool = False
    info: dict[str, str] = field(default_factory=dict)
    genres: list[str] = field(default_factory=list)
    directors: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    rating: str | None = None
    votes: int | None = None


def _info(tree: LexborHTMLParser) -> dict[str, str]:
    info = {}
    for span in tree.css("#info span.pl"):
        key = _text(span).rstrip(":：").strip()
        values = []
        node = span.next
        while node is not None and node.tag != "br" and not (
                node.tag == "span" and "pl" in (node.attributes.get("class") or "").split()):
            values.append(node.text() if node.tag != "-text" else (node.text_content or ""))
            node = node.next
        value = collapse(" ".join(values)).strip(" :：/")
        if key and value and _real(value):
            info[key] = value
    return info


def _summary(tree: LexborHTMLParser) -> tuple[str, bool]:
    """(synopsis/intro, whether the only text the page has is cut): the hidden full text wins."""
    full = tree.css_first("#link-report-intra span.all") or tree.css_first("#link-report span.all .intro") \
        or tree.css_first("#link-report .all .intro")
    if full is not None and _real(_paragraphs(full)):
        return _paragraphs(full), False
    node = tree.css_first('span[property="v:summary"]') or tree.css_first("#link-report .intro") \
        or tree.css_first("#link-report-intra .intro")
    text = _paragraphs(node)
    if not _real(text):
        return "", False
    shown_cut = node is not None and node.parent is not None and node.parent.css_first("a.a_show_full") is not None
    # the page's own text can stop mid-sentence (book 1089243: "…将性爱表现得既放浪形骸又纯")
    unfinished = bool(_HAN_END.search(text))
    return text, bool(shown_cut and _CUT.search(text)) or unfinished


def read_subject(tree: LexborHTMLParser, page: RawPage, url: str) -> Subject:
    ld = _ld_json(tree)
    info = _info(tree)
    match = _SUBJECT.search(url)
    title = _text(tree.css_first('span[property="v:itemreviewed"]')) or str(ld.get("name") or "").strip()
    kind = _kind(tree, ld, url, info)
    summary, cut = _summary(tree)
    directors = [_text(d) for d in tree.css('a[rel="v:directedBy"]')] or [
        d.get("name") for d in _as_list(ld.get("director")) if isinstance(d, dict) and isinstance(d.get("name"), str)]
    authors = [a.get("name") for a in _as_list(ld.get("author")) if isinstance(a, dict) and isinstance(a.get("name"), str)
               ] if kind == "book" else []
    return Subject(
        kind=kind, id=match.group(2) if match else None, url=url or None, title=collapse(title).strip(),
        year=_text(tree.css_first("h1 .year")).strip("()（）"), summary=summary, summary_cut=cut, info=info,
        genres=[_text(g) for g in tree.css('span[property="v:genre"]')] or [
            g for g in _as_list(ld.get("genre")) if isinstance(g, str)],
        directors=directors, authors=authors or ([info["作者"]] if kind == "book" and "作者" in info else []),
        rating=_text(tree.css_first('strong[property="v:average"]')) or None,
        votes=_int(_text(tree.css_first('span[property="v:votes"]'))),
    )


@dataclass
class Comment:
    id: str
    text: str
    cut: bool
    votes: int | None
    author: str | None
    stars: int | None
    time: str | None


def read_comments(tree: LexborHTMLParser) -> list[Comment]:
    out: list[Comment] = []
    seen: set[str] = set()
    for item in tree.css(".comment-item"):
        cid = item.attributes.get("data-cid") or ""
        if not cid or not _real(cid) or not cid.isdigit() or cid in seen:
            continue  # placeholders/templates carry no id; a comment shown under two tabs is one item
        seen.add(cid)
        full = item.css_first(".comment-content .full") or item.css_first(".full")
        short = item.css_first(".comment-content .short") or item.css_first(".short")
        text = _paragraphs(full) if full is not None else _paragraphs(short)
        # the page cut the comment when it shows an "(展开)" link; a trailing "……" alone is the writer's own
        shown_cut = full is None and item.css_first(".expand") is not None
        votes = item.css_first(".vote-count") or item.css_first(".votes")
        rating = item.css_first(".comment-info .rating")
        stars = re.search(r"allstar(\d)0", (rating.attributes.get("class") or "") if rating else "")
        time = item.css_first(".comment-time")
        out.append(Comment(
            id=cid, text=text if _real(text) else "", cut=shown_cut, votes=_int(_text(votes)) if votes else None,
            author=_text(item.css_first(".comment-info a")) or None, stars=int(stars.group(1)) if stars else None,
            time=((time.attributes.get("title") or _text(time)).strip() or None) if time is not None else None,
        ))
    return out


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


def _facts(subject: Subject) -> str:
    bits = []
    if subject.year:
        bits.append(subject.year)
    if subject.directors:
        bits.append("导演：" + "、".join(subject.directors[:2]))
    if subject.authors:
        bits.append("作者：" + "、".join(subject.authors[:2]))
    if subject.genres:
        bits.append("类型：" + "/".join(subject.genres[:3]))
    return "（" + "，".join(bits) + "）" if bits else ""


# ---- comments listing page ---------------------------------------------------------------------

def read_comments_page(tree: LexborHTMLParser, url: str) -> Subject | None:
    """Subject facts a short-comment listing shows: title, kind (首播 = TV, 上映 = film), id."""
    if not tree.css(".comment-item") or tree.css_first('span[property="v:itemreviewed"]') is not None:
        return None
    title_node = tree.css_first("title")
    page_title = collapse(title_node.text() if title_node else "").strip()
    if not page_title.endswith("短评"):
        return None
    back = tree.css_first(".aside .pl2 a, .aside p.pl2 a")
    subject_url = (back.attributes.get("href") or "") if back is not None else ""
    match = _SUBJECT.search(subject_url) or _SUBJECT.search(url)
    attrs = _text(tree.css_first(".movie-summary"))
    kind = "tv" if "首播" in attrs else "movie" if "上映" in attrs else "book" if "book.douban.com" in (
        subject_url or url) else ""
    info = {}
    for p in tree.css(".movie-summary .attrs p"):
        key = _text(p.css_first(".pl")).rstrip(":：")
        if key:
            info[key] = _text(p).split(":", 1)[-1].strip()
    return Subject(
        kind=kind, id=match.group(2) if match else None, url=subject_url or None,
        title=re.sub(r"\s*短评$", "", page_title).strip(), info=info,
        genres=[g.strip() for g in info.get("类型", "").split("/") if g.strip()],
        directors=[d.strip() for d in info.get("导演", "").split("/") if d.strip()],
    )


# ---- records ---------------------------------------------------------------------------------

class _Fields(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def _settings_for(settings: SourceSettings, kind: str) -> SourceSettings:
    domains = settings.options.get("domains", {})
    return settings.model_copy(update={"domain": list(domains.get(kind) or settings.domain)})


def _units(tree: LexborHTMLParser, page: RawPage, subject: Subject, settings: SourceSettings,
           comments_only: bool) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any], str | None] | InvalidItem]:
    """(template, key, fields, extra, author) per usable unit, or a located reject per unusable one."""
    where = page.location
    if not comments_only:
        if subject.summary and subject.summary_cut:
            yield InvalidItem(location=f"{where}#summary", reason="truncated_text", source=SOURCE,
                              detail=f"《{subject.title}》: the synopsis on the page is cut (ends '{subject.summary[-12:]}')")
        elif subject.summary:
            yield ("summary", "summary", {}, {}, None)
            if subject.rating:
                yield ("recommend", "recommend", {}, {}, None)
        else:
            yield InvalidItem(location=f"{where}#summary", reason="no_summary", source=SOURCE,
                              detail=f"《{subject.title}》: the page has no synopsis/intro")
    min_votes = int(settings.options.get("min_comment_votes", 0))
    comments = read_comments(tree)
    for c in comments:
        loc = f"{where}#comment:{c.id}"
        if not c.text:
            yield InvalidItem(location=loc, reason="empty_comment", source=SOURCE, detail=f"comment {c.id} has no text")
        elif c.cut:
            yield InvalidItem(location=loc, reason="truncated_text", source=SOURCE, raw=c.text,
                              detail=f"comment {c.id}: the page cut it ('…' / '(展开)') and holds no full text")
        elif (c.votes or 0) < min_votes:
            yield InvalidItem(location=loc, reason="below_min_votes", source=SOURCE,
                              detail=f"comment {c.id}: {c.votes or 0} votes < min_comment_votes={min_votes}")
        else:
            yield ("short_comment", f"comment:{c.id}", {"comment": c.text},
                   {"comment_id": c.id, "votes": c.votes, "stars": c.stars,
                    "time": c.time}, c.author)
    for r in ([] if comments_only else _reviews(tree)):
        yield ("review_title", f"review:{r['id']}", {"excerpt": r["excerpt"], "review_title": r["title"]},
               {"review_id": r["id"], "votes": r["useful"], "excerpt_truncated": True}, r["author"])


def _records(page: RawPage, settings: SourceSettings, tree: LexborHTMLParser, subject: Subject,
             comments_only: bool) -> Iterator[CuratedRecord | InvalidItem]:
    kind_settings = _settings_for(settings, subject.kind)
    kind_zh = KIND_ZH[subject.kind]
    base = {
        "title": subject.title, "kind_zh": kind_zh, "measure": MEASURE[subject.kind], "summary": subject.summary,
        "rating": subject.rating or "", "votes": subject.votes or "", "facts": _facts(subject),
        "genre": "/".join(subject.genres[:2]),
    }
    common = {"subject_id": subject.id, "kind": subject.kind, "rating": subject.rating,
              "rating_votes": subject.votes, "genres": subject.genres,
              "page": "comments" if comments_only else "subject"}
    templates = settings.options.get("templates", {})
    made = 0
    for unit in _units(tree, page, subject, settings, comments_only):
        if isinstance(unit, InvalidItem):
            yield unit
            continue
        name, key, fields, extra, author = unit
        tpl = templates.get(name)
        if not tpl:
            yield InvalidItem(location=f"{page.location}#{key}", reason="no_template", source=SOURCE,
                              detail=f"settings/douban.yaml has no template {name!r}")
            continue
        values = _Fields({**base, **fields})
        try:
            instruction = tpl["instruction"].format_map(values)
            input_text = tpl.get("input", "").format_map(values)
            output = tpl["output"].format_map(values)
            minor = str(tpl.get("minor", name)).format_map(values)
        except KeyError as exc:
            yield invalid(page, SOURCE, "template_field", f"template {name!r} needs field {exc}")
            continue
        made += 1
        yield build_record(
            page, kind_settings, source_id=f"{subject.kind}:{subject.id or page.sha256[:12]}:{key}",
            instruction=instruction, input=input_text, output=output, url=subject.url, author=author,
            title=subject.title, location=f"{page.location}#{key}",
            task_type={"major": tpl.get("major", settings.task_type.major), "minor": [minor]},
            extra={"template": name, **{k: v for k, v in {**common, **extra}.items() if v not in (None, [])}},
        )
    if not made and comments_only and not read_comments(tree):
        yield invalid(page, SOURCE, "no_content", f"《{subject.title}》: the comment page lists no comments")


def parse(page: RawPage, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    """Template tasks for one subject or short-comment page; any other page → a located reject."""
    html = html_or_invalid(page, SOURCE, "a Douban subject HTML page")
    if isinstance(html, InvalidItem):
        yield html
        return
    tree = LexborHTMLParser(html)
    url = page_url(tree, page)
    title_node = tree.css_first("title")
    page_title = collapse(title_node.text() if title_node else "").strip()
    other = _other_page(tree, url, page_title)
    if other:
        yield invalid(page, SOURCE, "not_a_subject_page",
                      f"Douban {other} page ({page_title or url}): only movie/TV/book subject and short-comment "
                      "pages are read", html[:500])
        return
    listing = read_comments_page(tree, url)
    if listing is not None:
        if listing.kind not in KIND_ZH:
            yield invalid(page, SOURCE, "unknown_subject_type",
                          f"short-comment page of 《{listing.title}》: the page does not say film, TV or book")
            return
        yield from _records(page, settings, tree, listing, comments_only=True)
        return
    subject = read_subject(tree, page, url)
    if not subject.title:
        yield invalid(page, SOURCE, "not_a_subject_page",
                      f"no Douban subject title ({page_title or 'untitled page'}: blocked, login or error page?)",
                      html[:2000])
        return
    if subject.kind not in KIND_ZH:
        yield invalid(page, SOURCE, "unknown_subject_type",
                      f"《{subject.title}》: the page does not say film, TV or book (og:type/JSON-LD missing)")
        return
    yield from _records(page, settings, tree, subject, comments_only=False)


def discover(page: RawPage) -> list[str]:
    """A book works page lists its editions: their subject pages are what can be ingested."""
    html = page.text
    if "/works/" not in (page.url or page.location) and "全部版本" not in html[:5000]:
        return []
    tree = LexborHTMLParser(html)
    seen: list[str] = []
    for link in tree.css('a[href*="book.douban.com/subject/"]'):
        match = re.match(r"https?://book\.douban\.com/subject/\d+/", link.attributes.get("href") or "")
        if match and match.group() not in seen:
            seen.append(match.group())
    return seen
