"""wikiHow how-to articles → a "how to …" instruction; intro, steps, things needed, tips, warnings.

Layouts read (every wikiHow language site shares the MediaWiki skeleton): the 2019–2022 desktop
page (`html[lang]`, `h1#section_0`, intro in `#intro .mf-section-0`, one `div.section.steps` per
method or part with an `.altblock` label "Method 1 of 3:", `ol.steps_list_2 > li > div.step`, then
`#thingsyoullneed`, `#tips`, `#warnings`) and the 2024 page (the same plus `.method_label`, inline
TOC, Amazon affiliate links inside steps, a "sample" section and ads). Browser snapshots of it may
lack the doctype and `<html>`; lexbor then parses in quirks mode where `#tips` also matches the
`id="Tips"` headline, so section ids are matched exactly here. zh.wikihow.com uses the same markup.

Sub-steps are the step's own lists rendered once, nested lists indented below their item (the old
code walked every descendant `ul` and printed nested items twice). Section labels are the page's own
headings ("Method 1 of 3: …", "Tips", "小提示"), so an English page reads English and a Chinese page
Chinese; `settings.options.labels[<lang>]` is only the fallback. The page language (html lang,
og:locale, else the site's host) is recorded in provenance for curation to decide; nothing is
translated. Affiliate shop links keep their text only. A page that is not wikiHow, or a wikiHow page
without numbered steps (category, search, login), is a located reject saying which.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import orjson
from selectolax.lexbor import LexborHTMLParser, LexborNode

from schemas import CuratedRecord, InvalidItem
from sources.html_markdown import collapse, drop_affiliate_links, node_to_markdown
from sources.http.ingest import build_record, html_or_invalid, invalid
from sources.http.page import RawPage
from sources.settings import SourceSettings

SOURCE = "wikihow"
# Page furniture inside the article body: images, reference pop-ups, votes, ads, anchors, PDF links.
DROP = ("reference", "mwimg", "wh_vote_container", "ts_popup", "step_num", "clearall", "stepanchor",
        "altblock", "image", "content-spacer", "al_method", "wh_ad_inner", "scrolltomarker", "pdf_link",
        "image_details", "method_label", "addTipElement", "qa_divider", "sticky-sentinel")
_HOWTO = re.compile(r"^\s*(?:如何|怎样|怎么|How to\b)", re.I)
_TITLE_SUFFIX = re.compile(r"\s*[-–|]\s*wikiHow.*$", re.I)
_ADJACENT_BOLD = re.compile(r"\*\*(\s*)\*\*")
_INNER_SPACES = re.compile(r"(?<=\S) {2,}(?=\S)")
_HOST_LANG = {"www": "en", "m": "en", "zh": "zh", "es": "es", "de": "de", "fr": "fr", "it": "it", "pt": "pt",
              "nl": "nl", "ru": "ru", "id": "id", "ja": "ja", "ko": "ko", "ar": "ar", "th": "th", "hi": "hi",
              "cs": "cs", "vi": "vi", "tr": "tr"}
_TLD_LANG = {"wikihow.vn": "vi", "wikihow.com.tr": "tr", "wikihow.jp": "ja", "wikihow.it": "it", "wikihow.fr": "fr",
             "wikihow.cz": "cs"}


def _by_id(tree: LexborHTMLParser, ident: str) -> LexborNode | None:
    """The element whose id is exactly `ident` (not the quirks-mode case-insensitive `#ident`)."""
    return tree.css_first(f'[id="{ident}"]')


def _meta(tree: LexborHTMLParser, selector: str, attr: str = "content") -> str:
    node = tree.css_first(selector)
    return ((node.attributes.get(attr) if node else None) or "").strip()


def page_url(tree: LexborHTMLParser, page: RawPage) -> str | None:
    return _meta(tree, 'link[rel="canonical"]', "href") or _meta(tree, 'meta[property="og:url"]') or page.url


def is_wikihow(tree: LexborHTMLParser, url: str | None) -> bool:
    """Markers a wikiHow page carries in any layout: its host, site name or title suffix."""
    host = urlsplit(url or "").hostname or ""
    if "wikihow." in host:
        return True
    if _meta(tree, 'meta[property="og:site_name"]').lower() == "wikihow":
        return True
    title = tree.css_first("title")
    return bool(title and _TITLE_SUFFIX.search(collapse(title.text())))


def page_language(tree: LexborHTMLParser, url: str | None) -> str | None:
    """BCP-47-ish language of the page: `<html lang>`, og:locale, JSON-LD inLanguage, else the host."""
    root = tree.root
    lang = (root.attributes.get("lang") if root is not None and root.tag == "html" else None) or ""
    lang = lang or _meta(tree, 'meta[property="og:locale"]') or _meta(tree, 'meta[http-equiv="content-language"]')
    if not lang:
        for script in tree.css('script[type="application/ld+json"]'):
            try:
                data = orjson.loads(script.text() or "")
            except orjson.JSONDecodeError:
                continue
            if isinstance(data, dict) and isinstance(data.get("inLanguage"), str):
                lang = data["inLanguage"]
                break
    if not lang:
        host = urlsplit(url or "").hostname or ""
        if host.endswith(".wikihow.com"):
            lang = _HOST_LANG.get(host.split(".")[0], "")
        else:
            lang = next((code for suffix, code in _TLD_LANG.items() if host.endswith(suffix)), "")
    lang = lang.replace("_", "-").strip()
    return lang.split("-")[0].lower() if lang else None


def _title(tree: LexborHTMLParser) -> str:
    h1 = tree.css_first("h1#section_0") or tree.css_first("h1.title_lg") or tree.css_first("h1")
    text = collapse(h1.text()).strip() if h1 else ""
    text = text or _meta(tree, 'meta[property="og:title"]')
    if not text:
        title = tree.css_first("title")
        text = _TITLE_SUFFIX.sub("", collapse(title.text()).strip()) if title else ""
    return text


def _markdown(node: LexborNode) -> str:
    text = node_to_markdown(node, drop_classes=DROP, link_filter=drop_affiliate_links)
    text = _INNER_SPACES.sub(" ", text)  # where a dropped reference marker sat between two spaces
    return _ADJACENT_BOLD.sub(lambda m: m.group(1), text)


def _flat(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text).strip()


def _children(node: LexborNode, tag: str) -> list[LexborNode]:
    return [child for child in node.iter() if child.tag == tag]


def _step(li: LexborNode) -> tuple[str, list[str]]:
    """(step text, Markdown list lines of its sub-steps) for one `li` of a steps list."""
    body = li.css_first("div.step") or li
    lists = _children(body, "ul") + _children(body, "ol")
    subs: list[str] = []
    for sub in lists:
        subs += [line for line in _markdown(sub).split("\n") if line.strip()]
        sub.decompose()
    return _flat(_markdown(body)), subs


def _section_label(section: LexborNode) -> str:
    """The page's own heading of a steps section: "Method 1 of 3: Title" / "方法1：Title" / "Steps"."""
    headline = section.css_first(".mw-headline")
    name = collapse(headline.text()).strip() if headline else ""
    label_node = section.css_first(".method_label") or section.css_first(".altblock")
    label = collapse(label_node.text()).strip() if label_node else ""
    if label and name:
        return f"{label} {name}" if label.endswith((":", "：")) else f"{label}: {name}"
    return name or label


def _methods(tree: LexborHTMLParser) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    methods = []
    for section in tree.css("div.section.steps"):
        steps = []
        for ol in section.css("ol.steps_list_2"):
            for li in _children(ol, "li"):
                text, subs = _step(li)
                if text or subs:
                    steps.append((text, subs))
        if steps:
            methods.append((_section_label(section), steps))
    return methods


def _bullets(tree: LexborHTMLParser, ident: str) -> tuple[str, list[str]]:
    """(the page's heading, items) of a bulleted section such as `tips`, `warnings`, `thingsyoullneed`."""
    box = _by_id(tree, ident)
    if box is None:
        return "", []
    section = box.parent
    while section is not None and "section" not in (section.attributes.get("class") or "").split():
        section = section.parent
    headline = section.css_first(".mw-headline") if section is not None else None
    items = []
    for lst in _children(box, "ul") + _children(box, "ol"):
        items += [_flat(_markdown(li)) for li in _children(lst, "li")]
    return (collapse(headline.text()).strip() if headline else ""), [i for i in items if i]


def _intro(tree: LexborHTMLParser) -> str:
    intro = _by_id(tree, "intro")
    if intro is None:
        return ""
    body = intro.css_first(".mf-section-0")
    if body is not None:
        return _markdown(body)
    return "\n\n".join(t for p in _children(intro, "p") if (t := _markdown(p)))


def _labels(settings: SourceSettings, language: str | None) -> dict[str, str]:
    labels: dict[str, Any] = settings.options.get("labels", {})
    chosen = labels.get(language or "", {})
    return chosen if isinstance(chosen, dict) else {}


def render(intro: str, methods, extras: list[tuple[str, list[str]]]) -> str:
    """Markdown answer: intro, one `###` block per method (numbered steps, nested sub-steps),
    then each extra bulleted section (things needed, tips, warnings) under its own heading."""
    parts = [intro] if intro else []
    for name, steps in methods:
        lines = [f"### {name}"] if name else []
        for i, (text, subs) in enumerate(steps, start=1):
            lines.append(f"{i}. {text}".rstrip())
            lines += [f"   {line}" for line in subs]
        parts.append("\n".join(lines))
    for heading, items in extras:
        if items:
            parts.append("\n".join(([f"### {heading}"] if heading else []) + [f"- {item}" for item in items]))
    return "\n\n".join(parts)


def parse(page: RawPage, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    html = html_or_invalid(page, SOURCE, "an article HTML page")
    if isinstance(html, InvalidItem):
        yield html
        return
    tree = LexborHTMLParser(html)
    url = page_url(tree, page)
    if not is_wikihow(tree, url):
        yield invalid(page, SOURCE, "not_wikihow",
                      "no wikiHow marker (host, og:site_name, '- wikiHow' title): not a wikiHow page", html[:2000])
        return
    title = _title(tree)
    methods = _methods(tree)
    if not title or not methods:
        yield invalid(page, SOURCE, "no_steps" if title else "not_an_article",
                      f"{title or 'untitled wikiHow page'}: no numbered steps (ol.steps_list_2) found;"
                      " a category, search or login page, or an unknown layout", html[:2000])
        return
    language = page_language(tree, url)
    labels = _labels(settings, language)
    extras = []
    for ident, key in (("ingredients", "ingredients"), ("thingsyoullneed", "things"), ("tips", "tips"),
                       ("warnings", "warnings")):
        heading, items = _bullets(tree, ident)
        extras.append((heading or labels.get(key, ""), items))
    intro = _intro(tree)
    opts = settings.options
    prefix = (opts.get("instruction_prefix") or {}).get(language or "", "")
    instruction = title if _HOWTO.match(title) or not prefix else prefix + title
    crumbs = [collapse(a.text()).strip() for a in tree.css("#breadcrumb li a")]
    extra = {
        "language": language,
        "intro": bool(intro),
        "methods": [name for name, _ in methods],
        "steps": sum(len(steps) for _, steps in methods),
        "sub_steps": sum(len(subs) for _, steps in methods for _, subs in steps),
        "tips": len(extras[2][1]),
        "warnings": len(extras[3][1]),
        "things_needed": len(extras[1][1]),
        "ingredients": len(extras[0][1]),
        "categories": [c for c in crumbs if c and not c.lower().startswith(("categories", "分类"))],
        "coauthors": list(dict.fromkeys(collapse(a.text()).strip() for a in tree.css("#coauthor_byline a.coauthor_link"))),
    }
    yield build_record(
        page, settings, source_id=url or page.sha256[:16], instruction=instruction,
        output=render(intro, methods, extras), url=url, author=opts.get("author"), title=title,
        extra={k: v for k, v in extra.items() if v not in (None, [])},
    )


def discover(page: RawPage) -> list[str]:
    return []
