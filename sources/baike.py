"""Baidu Baike item pages (saved HTML, every layout in `baike_layouts.py`) → encyclopedic Q&A
records for the `wiki` config (COIG-CQIA's wiki config mixes encyclopedias).

One record for the summary, one for the info box (as `字段：值` lines), one per level-1/2
section with its subsections inlined as `### 标题` blocks. Citation markers (`[20]`, `[30-32]`),
pictures and the "编辑/播报" buttons are removed. Sections whose content is only tables/albums have
no prose: they become `empty_section` rejects rather than vanishing. A crawler's output table
(url, title, summary per row) gives one summary record per row. A page that is not a Baike item
(a Baidu Zhidao question, the home page, a disambiguation list, a verification page) is one
located reject naming what it is. The record URL is the page's canonical link, else the item URL
built from the lemma id the page states; a page without either gets no URL, never a guessed one.
Bytes are decoded as UTF-8, falling back to GB18030 (older Baike pages and mirrors serve GBK).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from schemas import CuratedRecord, InstructionRecord, InvalidItem, Provenance, make_record_id
from sources.baike_layouts import Lemma, NotLemma, TableRow, read_page
from sources.filecommon import decode, file_time, invalid, pick, read_file, schema_error, sha256_text
from sources.http.page import truncation
from sources.settings import SourceSettings, load_settings

SOURCE = "wiki"


def parse_page(data: bytes) -> dict[str, Any]:
    """Title, lemma id, summary, info box and sections of one saved Baike page (dict form)."""
    html, encoding = decode(data)
    page = read_page(html)
    if not isinstance(page, Lemma):
        return {"title": "", "summary": "", "sections": [], "infobox": [], "encoding": encoding, "page": page}
    return {"title": page.title, "lemma_id": page.lemma_id, "summary": page.summary, "infobox": page.infobox,
            "sections": page.sections, "encoding": encoding, "layout": page.layout, "url": page.url}


def _record(location: str, native: str, key: str, instruction: str, output: str, url: str | None, title: str,
            settings: SourceSettings, raw_sha: str, fetched_at: str, extra: dict[str, Any]
            ) -> CuratedRecord | InvalidItem:
    options = settings.options
    copyright_text = options["copyright_template"].format(title=title, url=url or "").rstrip("：: ")
    try:
        record = InstructionRecord(
            instruction=instruction, input="", output=output, task_type=settings.task_type, domain=settings.domain,
            answer_from=settings.answer_from, human_verified=False, copyright=copyright_text,
        )
    except ValidationError as exc:
        return invalid(location, "schema", schema_error(exc), SOURCE, output[:2000])
    return CuratedRecord(
        id=make_record_id(SOURCE, f"baike:{native}#{key}"), source=SOURCE, record=record,
        provenance=Provenance(source_id=f"baike:{native}#{key}", url=url, fetched_at=fetched_at, raw_sha256=raw_sha,
                              license=settings.license, location=location,
                              extra={"site": "baike.baidu.com", "title": title, **extra}),
    )


def _lemma_outcomes(path: Path, data: bytes, lemma: Lemma, encoding: str, settings: SourceSettings
                    ) -> Iterator[CuratedRecord | InvalidItem]:
    options = settings.options
    title = lemma.title
    native = lemma.lemma_id or sha256_text(data)[:16]
    url = lemma.url
    url_from = "canonical" if url else None
    if url is None and lemma.lemma_id:
        url, url_from = options["page_url"].format(title=title, lemma_id=lemma.lemma_id), "lemma_id"
    common = {"lemma_id": lemma.lemma_id, "layout": lemma.layout, "encoding": encoding, "url_from": url_from,
              "description": lemma.description or None}
    common = {k: v for k, v in common.items() if v is not None}
    units: list[tuple[str, str, str, dict[str, Any]]] = [
        ("summary", pick(options["summary_instructions"], f"{native}#summary"), lemma.summary, {}),
    ]
    if lemma.infobox:
        units.append(("infobox", pick(options["infobox_instructions"], f"{native}#infobox"),
                      "\n".join(f"{k}：{v}" for k, v in lemma.infobox), {"fields": len(lemma.infobox)}))
    for index, section in enumerate(lemma.sections):
        template = pick(options["section_instructions"], f"{native}#s{index}")
        units.append((f"s{index}", template.replace("{section}", section["title"]), section["text"],
                      {"section": section["title"], "subsections": section["subsections"]}))
    fetched, raw_sha = file_time(path), sha256_text(data)
    for key, template, output, extra in units:
        location = f"{path}#{key}"
        if not output.strip():
            what = extra.get("section", key)
            yield invalid(location, "empty_section", f"{title}: {what} has no prose", SOURCE)
            continue
        yield _record(location, native, key, template.replace("{title}", title), output, url, title, settings,
                      raw_sha, fetched, {**common, **extra})


def _table_outcomes(path: Path, data: bytes, rows: list[TableRow], settings: SourceSettings
                    ) -> Iterator[CuratedRecord | InvalidItem]:
    fetched, raw_sha = file_time(path), sha256_text(data)
    for row in rows:
        location = f"{path}#row{row.index}"
        if not row.title:
            yield invalid(location, "missing_field", f"crawler table row {row.index} has no title ({row.url})", SOURCE)
            continue
        if not row.summary:
            yield invalid(location, "empty_section", f"{row.title}: the crawler saved no summary ({row.url})", SOURCE)
            continue
        native = row.lemma_id or sha256_text(row.url)[:16]
        template = pick(settings.options["summary_instructions"], f"{native}#summary")
        yield _record(location, native, "summary", template.replace("{title}", row.title), row.summary, row.url,
                      row.title, settings, raw_sha, fetched,
                      {"lemma_id": row.lemma_id, "layout": "crawler_table", "url_from": "crawler_table"}
                      if row.lemma_id else {"layout": "crawler_table", "url_from": "crawler_table"})


def iter_baike(paths: list[Path], settings: SourceSettings | None = None) -> Iterator[CuratedRecord | InvalidItem]:
    """Records (or rejects naming the file and part) from saved Baike pages and crawler tables."""
    settings = settings or load_settings("baike")
    for path in paths:
        data = read_file(path, SOURCE)
        if isinstance(data, InvalidItem):
            yield data
            continue
        html, encoding = decode(data)
        if (cut := truncation(html)) is not None:
            yield invalid(str(path), "truncated_html", cut, SOURCE)
            continue
        try:
            page = read_page(html)
        except Exception as exc:  # lexbor is tolerant; anything else is a bug we report, not raise
            yield invalid(str(path), "html_parse", f"{type(exc).__name__}: {exc}", SOURCE)
            continue
        if isinstance(page, NotLemma):
            yield invalid(str(path), page.reason, page.detail, SOURCE, html[:500])
        elif isinstance(page, list):
            yield from _table_outcomes(path, data, page, settings)
        else:
            yield from _lemma_outcomes(path, data, page, encoding, settings)
