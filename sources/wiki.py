"""Chinese Wikipedia XML dumps (.xml.bz2 or .xml) → encyclopedic Q&A records.

Streaming with flat memory: `bz2.open` decompresses incrementally (multistream dumps included),
lxml `iterparse` hands over one `<page>` at a time, and each page element and its already-seen
siblings are cleared, so memory does not grow with the dump. One record per page lead ("什么是X？")
and one per top-level content section ("请介绍X的历史。"), all converted to simplified Chinese.

Not articles (redirects, other namespaces) and sections without text become `InvalidItem`s with a
reason, so the run summary accounts for every page; a truncated or corrupt dump ends with one
`truncated_dump` / `xml_syntax` reject naming the last good page, never an exception.

WikiExtractor `--json` output (`.jsonl`/`.json`, one `{id, url, title, text}` per line) is also
read: headings are gone and templates were deleted (leaving `（）`, `（，有时缩写为）`), so each
article gives one lead record from its opening paragraphs, with those empty or headless
brackets removed and counted in `provenance.extra.removed_brackets`.
"""

from __future__ import annotations

import bz2
import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lxml import etree
from pydantic import ValidationError

from schemas import CuratedRecord, InstructionRecord, InvalidItem, Provenance, make_record_id
from sources.filecommon import file_time, invalid, normalize_newlines, pick, schema_error, sha256_text
from sources.fileread import iter_jsonl
from sources.opencc_convert import t2s
from sources.settings import SourceSettings, load_settings
from sources.wikitext import CleanPage, apply_rules, clean_page

SOURCE = "wiki"


@dataclass
class RawPage:
    """One `<page>` as read from the dump (latest revision only)."""

    title: str
    ns: int
    page_id: str
    revision_id: str
    timestamp: str
    contributor: str | None
    text: str
    redirect: str | None


def _open(path: Path) -> IO[bytes]:
    name = path.name.lower()
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def _child_text(elem: Any, name: str) -> str | None:
    child = elem.find(f"{{*}}{name}")
    return child.text if child is not None else None


def _raw_page(elem: Any) -> RawPage:
    revision = elem.find("{*}revision")
    if revision is None:
        raise ValueError("page has no <revision>")
    contributor = revision.find("{*}contributor")
    who = None
    if contributor is not None:
        who = _child_text(contributor, "username") or _child_text(contributor, "ip")
    redirect = elem.find("{*}redirect")
    return RawPage(
        title=(_child_text(elem, "title") or "").strip(),
        ns=int(_child_text(elem, "ns") or 0),
        page_id=(_child_text(elem, "id") or "").strip(),
        revision_id=(_child_text(revision, "id") or "").strip(),
        timestamp=(_child_text(revision, "timestamp") or "").strip(),
        contributor=who,
        text=_child_text(revision, "text") or "",
        redirect=redirect.get("title") if redirect is not None else None,
    )


def iter_pages(path: Path) -> Iterator[RawPage | dict[str, str] | InvalidItem]:
    """Pages of a dump in order; the `<siteinfo>` arrives first as a dict; damage → InvalidItem."""
    last = "start of dump"
    count = 0
    try:
        with _open(path) as handle:
            events = etree.iterparse(
                handle, events=("end",), tag=("{*}page", "{*}siteinfo"), huge_tree=True, recover=False
            )
            for _, elem in events:
                if etree.QName(elem).localname == "siteinfo":
                    yield {
                        "dbname": _child_text(elem, "dbname") or "",
                        "base": _child_text(elem, "base") or "",
                    }
                else:
                    count += 1
                    try:
                        page = _raw_page(elem)
                    except (ValueError, TypeError) as exc:
                        yield invalid(f"{path}#page{count}", "malformed_page", str(exc), SOURCE)
                    else:
                        last = f"page {page.title!r} (id {page.page_id})"
                        yield page
                # Flat memory: drop this element and everything parsed before it.
                elem.clear(keep_tail=False)
                while elem.getprevious() is not None:
                    del elem.getparent()[0]
    except (EOFError, OSError) as exc:
        yield invalid(f"{path}: after {last}", "truncated_dump", f"compressed stream ended early: {exc}", SOURCE)
    except etree.XMLSyntaxError as exc:
        reason = "truncated_dump" if "end of data" in str(exc).lower() or "premature" in str(exc).lower() else "xml_syntax"
        yield invalid(f"{path}: after {last}", reason, f"XML error at line {exc.lineno}: {exc.msg}", SOURCE)


def _copyright(settings: SourceSettings, title: str, url: str) -> str:
    template = settings.options.get("copyright_template")
    return template.format(title=title, url=url) if template else settings.copyright


def page_records(
    page: RawPage, path: Path, settings: SourceSettings, *, fetched_at: str, site: dict[str, str]
) -> Iterator[CuratedRecord | InvalidItem]:
    """Lead and section Q&A records of one article page."""
    options = settings.options
    backend = options.get("opencc_backend", "reimplemented")
    location = f"{path}#page={page.page_id}"
    try:
        cleaned: CleanPage = clean_page(normalize_newlines(page.text), inline_templates=options.get("inline_templates"))
    except Exception as exc:  # mwparserfromhell is robust, but a parser bug must not stop a dump
        yield invalid(location, "wikitext_parse", f"{type(exc).__name__}: {exc}", SOURCE, page.text[:2000])
        return

    def convert(text: str) -> str:
        return t2s(apply_rules(text, cleaned.rules), backend)

    title = convert(page.title)
    url = options.get("page_url", "https://zh.wikipedia.org/wiki/{title}").format(title=page.title.replace(" ", "_"))
    skip = set(options.get("skip_sections", []))
    base_extra = {
        "page_id": page.page_id,
        "revision_id": page.revision_id,
        "revision_timestamp": page.timestamp,
        "title_original": page.title,
        "site": site,
        "categories": [convert(c) for c in cleaned.categories],
        "note_ta_groups": cleaned.note_ta_groups,
    }
    units: list[tuple[str, str, str, dict[str, Any]]] = [
        ("lead", pick(options["lead_instructions"], f"{page.page_id}#lead"), cleaned.lead, {"section": None})
    ]
    skipped = []
    for index, section in enumerate(cleaned.sections):
        name = convert(section.title)
        if name in skip:
            skipped.append(name)
            continue
        key = f"s{index}:{section.title}"
        template = pick(options["section_instructions"], f"{page.page_id}#{key}")
        units.append((key, template.replace("{section}", name), section.text,
                      {"section": name, "subsections": [convert(s) for s in section.subsections]}))
    for key, template, text, extra in units:
        source_id = f"{page.page_id}#{key}"
        unit_location = f"{location}#{key}"
        output = convert(text)
        if not output.strip():
            yield invalid(unit_location, "empty_section", f"{title}: {extra.get('section') or 'lead'} has no text",
                          SOURCE)
            continue
        try:
            record = InstructionRecord(
                instruction=template.replace("{title}", title),
                input="",
                output=output,
                task_type=settings.task_type,
                domain=settings.domain,
                answer_from=settings.answer_from,
                human_verified=False,
                copyright=_copyright(settings, title, url),
            )
        except ValidationError as exc:
            yield invalid(unit_location, "schema", schema_error(exc), SOURCE, output[:2000])
            continue
        yield CuratedRecord(
            id=make_record_id(SOURCE, source_id),
            source=SOURCE,
            record=record,
            provenance=Provenance(
                source_id=source_id,
                url=url,
                fetched_at=fetched_at,
                raw_sha256=sha256_text(page.text),
                license=settings.license,
                author=page.contributor,
                location=unit_location,
                extra={**base_extra, **extra, "author_role": "last editor of the revision",
                       **({"skipped_sections": skipped} if key == "lead" and skipped else {})},
            ),
        )


# Brackets WikiExtractor left when it deleted a template: empty, or starting with punctuation
# because the template was their head ("计算机科学（，有时缩写为）是…").
_LEFTOVER_BRACKETS = re.compile(r"[（(][\s，,、；;：:]*[）)]|[（(][，,、；;：:][^（）()\n]*[）)]")


def _extract_lead(text: str, title: str, max_chars: int) -> tuple[str, int]:
    """(opening paragraphs up to about `max_chars`, brackets removed) of a WikiExtractor text."""
    paragraphs = [p.strip() for p in normalize_newlines(text).split("\n") if p.strip()]
    if paragraphs and paragraphs[0] == title.strip():
        paragraphs = paragraphs[1:]
    lead: list[str] = []
    for paragraph in paragraphs:
        lead.append(paragraph)
        if sum(len(p) for p in lead) >= max_chars:
            break
    joined = "\n\n".join(lead)
    return _LEFTOVER_BRACKETS.sub("", joined), len(_LEFTOVER_BRACKETS.findall(joined))


def iter_extract(path: Path, settings: SourceSettings) -> Iterator[CuratedRecord | InvalidItem]:
    """WikiExtractor JSON lines `{id, url, title, text}` → one lead record per article."""
    options = settings.options
    backend = options.get("opencc_backend", "reimplemented")
    fetched_at = file_time(path)
    for entry in iter_jsonl(path, SOURCE):  # streamed; a bad line or byte is a reject of that line
        if isinstance(entry, InvalidItem):
            yield entry
            continue
        location, doc = entry.location, entry.value
        number = entry.index + 1
        line = entry.raw.decode("utf-8", "replace")
        if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str) for k in ("title", "text")):
            keys = sorted(doc)[:8] if isinstance(doc, dict) else type(doc).__name__
            yield invalid(location, "unknown_layout", f"{keys}: not a WikiExtractor --json article {{id, url, title, "
                          "text}} nor a pages-articles XML dump", SOURCE, line[:2000])
            continue
        title = t2s(doc["title"].strip(), backend)
        lead, removed = _extract_lead(doc["text"], doc["title"], options.get("extract_lead_chars", 300))
        output = t2s(lead, backend)
        page_id = str(doc.get("id") or number)
        if not output.strip():
            yield invalid(location, "empty_section", f"{title}: article has no text after its title", SOURCE)
            continue
        url = options.get("page_url", "https://zh.wikipedia.org/wiki/{title}").format(
            title=doc["title"].strip().replace(" ", "_"))
        source_id = f"extract/{page_id}#lead"
        try:
            record = InstructionRecord(
                instruction=pick(options["lead_instructions"], f"{page_id}#lead").replace("{title}", title),
                input="", output=output, task_type=settings.task_type, domain=settings.domain,
                answer_from=settings.answer_from, human_verified=False, copyright=_copyright(settings, title, url),
            )
        except ValidationError as exc:
            yield invalid(location, "schema", schema_error(exc), SOURCE, output[:2000])
            continue
        yield CuratedRecord(
            id=make_record_id(SOURCE, source_id), source=SOURCE, record=record,
            provenance=Provenance(
                source_id=source_id, url=url, fetched_at=fetched_at, raw_sha256=sha256_text(line),
                license=settings.license, location=location,
                extra={"page_id": page_id, "title_original": doc["title"], "format": "wikiextractor-json",
                       "extract_url": doc.get("url"), "section": None, "removed_brackets": removed},
            ),
        )


def _is_extract(path: Path) -> bool:
    """WikiExtractor JSON lines (by extension, or a file whose first byte opens a JSON object)."""
    name = path.name.lower()
    if name.endswith((".jsonl", ".json")):
        return True
    if name.endswith((".bz2", ".gz", ".xml")):
        return False
    with path.open("rb") as handle:
        return handle.read(64).lstrip().startswith(b"{")


def iter_wiki(paths: list[Path], settings: SourceSettings | None = None) -> Iterator[CuratedRecord | InvalidItem]:
    """Records (or rejects) from one or more dump files, in dump order."""
    settings = settings or load_settings("wiki")
    namespaces = set(settings.options.get("namespaces", [0]))
    for path in paths:
        if not path.is_file():
            yield invalid(str(path), "unreadable", "not a readable file (missing, a directory or a symlink loop)",
                          SOURCE)
            continue
        if _is_extract(path):
            yield from iter_extract(path, settings)
            continue
        fetched_at = file_time(path)
        site: dict[str, str] = {}
        for item in iter_pages(path):
            if isinstance(item, dict):
                site = item
            elif isinstance(item, InvalidItem):
                yield item
            elif item.redirect is not None:
                yield invalid(f"{path}#page={item.page_id}", "redirect", f"{item.title} → {item.redirect}", SOURCE)
            elif item.ns not in namespaces:
                yield invalid(f"{path}#page={item.page_id}", "not_article", f"{item.title} (namespace {item.ns})",
                              SOURCE)
            else:
                yield from page_records(item, path, settings, fetched_at=fetched_at, site=site)
