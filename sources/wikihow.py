"""wikiHow how-to articles → "如何…" instruction, numbered steps (+ sub-steps) and tips as answer.

Reads the MediaWiki markup the Chinese and English sites share: `h1` title, `div.section.steps`
per method/part (its `.mw-headline` names it), `ol.steps_list_2 > li` steps whose `.step` div
holds a bold summary (`b.whb`), text and a `ul` of sub-steps, then `#tips`/`#warnings` lists.
Images, reference popups, vote widgets and scripts are dropped. Labels ("方法{n}：{title}",
"小提示", "警告") and the instruction prefix come from `settings/wikihow.yaml`. An English page
yields an English record (its title already says "How to …"); nothing is translated here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

from schemas import CuratedRecord, InvalidItem
from sources.html_markdown import collapse, node_to_markdown
from sources.http.ingest import build_record, html_or_invalid, invalid
from sources.http.page import RawPage
from sources.settings import SourceSettings

SOURCE = "wikihow"
DROP = ("reference", "mwimg", "wh_vote_container", "ts_popup", "step_num", "clearall", "stepanchor",
        "altblock", "image", "content-spacer")
_HOWTO = re.compile(r"^\s*(?:如何|怎样|怎么|How to\b)", re.I)


def _title(tree: LexborHTMLParser) -> str:
    h1 = tree.css_first("h1#section_0") or tree.css_first("h1.title_lg") or tree.css_first("h1")
    text = collapse(h1.text()).strip() if h1 else ""
    if not text:
        title = tree.css_first("title")
        text = re.sub(r"\s*[-–]\s*wikiHow.*$", "", collapse(title.text()).strip()) if title else ""
        text = re.sub(r"^\d+\s+(Ways|Simple Ways|Easy Ways|种方法)\s+(to\s+)?", "How to ", text)
    return text


def _step(li: LexborNode) -> tuple[str, list[str]]:
    """(step text, sub-steps) for one `li` of a steps list."""
    body = li.css_first("div.step") or li
    subs = []
    for ul in body.css("ul"):
        subs += [node_to_markdown(sub, drop_classes=DROP) for sub in ul.css("li")]
        ul.decompose()
    text = node_to_markdown(body, drop_classes=DROP)
    return re.sub(r"\s*\n\s*", " ", text).strip(), [s for s in subs if s]


def _methods(tree: LexborHTMLParser) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    methods = []
    for section in tree.css("div.section.steps"):
        headline = section.css_first(".mw-headline")
        name = collapse(headline.text()).strip() if headline else ""
        steps = []
        for ol in section.css("ol"):
            if "steps_list" not in (ol.attributes.get("class") or "") and methods:
                continue
            for li in ol.iter():
                if li.tag == "li":
                    text, subs = _step(li)
                    if text:
                        steps.append((text, subs))
        if steps:
            methods.append((name, steps))
    return methods


def _bullets(tree: LexborHTMLParser, selector: str) -> list[str]:
    box = tree.css_first(selector)
    if box is None:
        return []
    items = [node_to_markdown(li, drop_classes=DROP) for li in box.css("li")]
    return [re.sub(r"\s*\n\s*", " ", i).strip() for i in items if i.strip()]


def render(methods, tips: list[str], warnings: list[str], labels: dict[str, str]) -> str:
    parts = []
    many = len(methods) > 1
    for n, (name, steps) in enumerate(methods, start=1):
        lines = []
        if many or name:
            lines.append("### " + labels.get("method", "方法{n}：{title}").format(n=n, title=name or "").rstrip("："))
        for i, (text, subs) in enumerate(steps, start=1):
            lines.append(f"{i}. {text}")
            lines += [f"   - {s}" for s in subs]
        parts.append("\n".join(lines))
    if tips:
        parts.append("### " + labels.get("tips", "小提示") + "\n" + "\n".join(f"- {t}" for t in tips))
    if warnings:
        parts.append("### " + labels.get("warnings", "警告") + "\n" + "\n".join(f"- {w}" for w in warnings))
    return "\n\n".join(parts)


def parse(page: RawPage, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    html = html_or_invalid(page, SOURCE, "an article HTML page")
    if isinstance(html, InvalidItem):
        yield html
        return
    tree = LexborHTMLParser(html)
    title = _title(tree)
    methods = _methods(tree)
    if not title or not methods:
        yield invalid(page, SOURCE, "no_steps" if title else "not_an_article",
                      f"{title or 'untitled page'}: no numbered steps found", html[:2000])
        return
    tips, warnings = _bullets(tree, "#tips"), _bullets(tree, "#warnings")
    opts = settings.options
    instruction = title if _HOWTO.match(title) else opts.get("instruction_prefix", "如何") + title
    canonical = tree.css_first('link[rel="canonical"]')
    url = (canonical.attributes.get("href") if canonical else None) or page.url
    yield build_record(
        page, settings, source_id=url or page.sha256[:16], instruction=instruction,
        output=render(methods, tips, warnings, opts.get("labels", {})), url=url, author=opts.get("author"),
        title=title, extra={"methods": [m for m, _ in methods], "steps": sum(len(s) for _, s in methods),
                            "tips": len(tips), "warnings": len(warnings), "language": tree.root.attributes.get("lang") if tree.root else None},
    )


def discover(page: RawPage) -> list[str]:
    return []
