"""Baidu Baike article pages (saved HTML, the `lemma-summary` / `basicInfo` / `para-title` layout)
→ encyclopedic Q&A records for the `wiki` config (COIG-CQIA's wiki config mixes encyclopedias).

One record for the summary, one for the info box (as `字段：值` lines), one per level-2 section
with its level-3 subsections inlined as `### 标题` blocks. Citation markers (`[20]`, `[30-32]`)
and the "编辑" button text are removed. Sections whose content is only tables/albums have no
prose: they become `empty_section` rejects rather than vanishing. Bytes are decoded as UTF-8,
falling back to GB18030 (older Baike pages and mirrors serve GBK).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from selectolax.lexbor import LexborHTMLParser, LexborNode

from schemas import CuratedRecord, InstructionRecord, InvalidItem, Provenance, make_record_id
from sources.filecommon import (
    decode,
    file_time,
    invalid,
    normalize_newlines,
    pick,
    read_file,
    schema_error,
    sha256_text,
)
from sources.http.page import truncation
from sources.settings import SourceSettings, load_settings

SOURCE = "wiki"
_CITATION = re.compile(r"\[\d+(?:[-–,，]\d+)*\]")
_WHITESPACE = re.compile(r"[ \t\n\u00a0\u3000]+")
# A space beside full-width punctuation, or between two ideographs, is layout, not content
# ("Where I Belong 属于" keeps its space).
_PUNCT = "\\u3000-\\u303f\\uff00-\\uffef"
_HAN = "\\u2e80-\\u2fff\\u3400-\\u9fff"
_CJK_SPACE = re.compile(rf"(?<=[{_PUNCT}]) | (?=[{_PUNCT}])|(?<=[{_HAN}]) (?=[{_HAN}])")


def _text(node: LexborNode | None) -> str:
    """Visible text of a node without citation superscripts; whitespace collapsed per line."""
    if node is None:
        return ""
    clone = LexborHTMLParser(node.html or "")
    for junk in clone.css("sup, a.sup-anchor, .edit-icon, .lemma-album, script, style"):
        junk.decompose()
    for br in clone.css("br"):
        br.replace_with("\u2028")  # placeholder: a real line break survives whitespace collapsing
    text = normalize_newlines(clone.body.text(separator="") if clone.body else "")
    text = _CITATION.sub("", text)
    text = _WHITESPACE.sub(" ", text)  # HTML semantics: source newlines are just spaces
    text = _CJK_SPACE.sub("", text).replace("\u2028", "\n")
    lines = [line.strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def _heading(node: LexborNode) -> str:
    title = node.css_first(".title-text") or node
    clone = LexborHTMLParser(title.html or "")
    for junk in clone.css(".title-prefix, .edit-icon, a"):
        junk.decompose()
    text = _text(clone.body).replace("\n", "")
    return text[:-2] if text.endswith("编辑") else text


def _infobox(tree: LexborHTMLParser) -> list[tuple[str, str]]:
    pairs = []
    for name in tree.css("dt.basicInfo-item.name"):
        value = name.next
        while value is not None and value.tag != "dd":
            value = value.next
        key = re.sub(r"\s+", "", _text(name))
        if key and value is not None:
            pairs.append((key, "；".join(_text(value).split("\n"))))
    return pairs


def _sections(tree: LexborHTMLParser) -> list[dict[str, Any]]:
    """Level-2 sections in document order, level-3 subsections inlined."""
    main = tree.css_first(".main-content") or tree.body
    sections: list[dict[str, Any]] = []
    if main is None:
        return sections
    for node in main.css("div.para-title, div.para"):
        classes = (node.attributes.get("class") or "").split()
        if "para-title" in classes:
            title = _heading(node)
            if "level-2" in classes or not sections:
                sections.append({"title": title, "blocks": [], "subsections": []})
            else:
                sections[-1]["blocks"].append(f"### {title}")
                sections[-1]["subsections"].append(title)
            continue
        if not sections or _inside(node, ("table", "lemma-summary", "album-wrap")):
            continue
        text = _text(node)
        if text:
            sections[-1]["blocks"].append(text)
    for section in sections:  # drop subsection headings that have no prose under them
        blocks = section["blocks"]
        section["text"] = "\n\n".join(
            b for i, b in enumerate(blocks)
            if not (b.startswith("### ") and (i + 1 == len(blocks) or blocks[i + 1].startswith("### ")))
        )
    return sections


def _inside(node: LexborNode, markers: tuple[str, ...]) -> bool:
    parent = node.parent
    while parent is not None:
        classes = parent.attributes.get("class") or ""
        if parent.tag in markers or any(m in classes.split() for m in markers):
            return True
        parent = parent.parent
    return False


def parse_page(data: bytes) -> dict[str, Any]:
    """Title, lemma id, summary, info box and sections of one saved Baike page."""
    html, encoding = decode(data)
    tree = LexborHTMLParser(html)
    h1 = tree.css_first("dd.lemmaWgt-lemmaTitle-title h1") or tree.css_first("h1")
    title = _text(h1).replace("\n", "") if h1 else ""
    if not title:
        page_title = tree.css_first("title")
        title = _text(page_title).split("_百度百科")[0] if page_title and "百度百科" in _text(page_title) else ""
    summary_node = tree.css_first(".lemma-summary")
    summary = "\n\n".join(_text(p) for p in summary_node.css(".para")) if summary_node else ""
    if not summary:
        meta = tree.css_first('meta[name="description"]')
        summary = normalize_newlines((meta.attributes.get("content") or "") if meta else "").strip()
    lemma = re.search(r'lemmaId="?(\d+)', html)
    return {
        "title": title,
        "lemma_id": lemma.group(1) if lemma else None,
        "summary": summary,
        "infobox": _infobox(tree),
        "sections": _sections(tree),
        "encoding": encoding,
        "summary_from_meta": summary_node is None,
    }


def iter_baike(paths: list[Path], settings: SourceSettings | None = None) -> Iterator[CuratedRecord | InvalidItem]:
    """Records (or rejects naming the file and part) from saved Baike article pages."""
    settings = settings or load_settings("baike")
    options = settings.options
    for path in paths:
        data = read_file(path, SOURCE)
        if isinstance(data, InvalidItem):
            yield data
            continue
        if (cut := truncation(decode(data)[0])) is not None:
            yield invalid(str(path), "truncated_html", cut, SOURCE)
            continue
        try:
            page = parse_page(data)
        except Exception as exc:  # lexbor is tolerant; anything else is a bug we report, not raise
            yield invalid(str(path), "html_parse", f"{type(exc).__name__}: {exc}", SOURCE)
            continue
        if not page["title"] or not (page["summary"] or page["sections"]):
            yield invalid(str(path), "not_baike_article", "no lemma title or content found", SOURCE,
                          data[:500].decode("utf-8", "replace"))
            continue
        title = page["title"]
        native = page["lemma_id"] or sha256_text(data)[:16]
        url = options["page_url"].format(title=title, lemma_id=page["lemma_id"] or "").rstrip("/")
        units: list[tuple[str, str, str, dict[str, Any]]] = [
            ("summary", pick(options["summary_instructions"], f"{native}#summary"), page["summary"],
             {"summary_from_meta": page["summary_from_meta"]}),
        ]
        if page["infobox"]:
            units.append(("infobox", pick(options["infobox_instructions"], f"{native}#infobox"),
                          "\n".join(f"{k}：{v}" for k, v in page["infobox"]), {"fields": len(page["infobox"])}))
        for index, section in enumerate(page["sections"]):
            key = f"s{index}"
            template = pick(options["section_instructions"], f"{native}#{key}")
            units.append((key, template.replace("{section}", section["title"]), section["text"],
                          {"section": section["title"], "subsections": section["subsections"]}))
        for key, template, output, extra in units:
            location = f"{path}#{key}"
            if not output.strip():
                yield invalid(location, "empty_section", f"{title}: {extra.get('section', key)} has no prose",
                              SOURCE)
                continue
            try:
                record = InstructionRecord(
                    instruction=template.replace("{title}", title), input="", output=output,
                    task_type=settings.task_type, domain=settings.domain, answer_from=settings.answer_from,
                    human_verified=False, copyright=options["copyright_template"].format(title=title, url=url),
                )
            except ValidationError as exc:
                yield invalid(location, "schema", schema_error(exc), SOURCE, output[:2000])
                continue
            yield CuratedRecord(
                id=make_record_id(SOURCE, f"baike:{native}#{key}"),
                source=SOURCE,
                record=record,
                provenance=Provenance(
                    source_id=f"baike:{native}#{key}", url=url, fetched_at=file_time(path),
                    raw_sha256=sha256_text(data), license=settings.license, location=location,
                    extra={"site": "baike.baidu.com", "lemma_id": page["lemma_id"], "title": title,
                           "encoding": page["encoding"], **extra},
                ),
            )
