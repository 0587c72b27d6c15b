"""Glue every web source shares: pages from files and/or a crawl → parser → outcomes.

A web source module provides `SOURCE`, `parse(page, settings)` (yields CuratedRecord or
InvalidItem and must not raise) and `discover(page)` (URLs to crawl next: paging, listings).
Anything a parser still raises is caught here and becomes an InvalidItem named `parser_error`,
so one bad page never stops a run; the fuzz tests call `parse` directly to keep that net empty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import ValidationError

from schemas import (
    CuratedRecord,
    InstructionRecord,
    InvalidItem,
    Provenance,
    TaskType,
    make_record_id,
    truncate_raw,
)
from schemas.redact import redact_obj, redact_url
from sources.html_markdown import clean_text
from sources.http.cache import CachedResponse
from sources.http.crawl import Crawler
from sources.http.page import RawPage, page_from_file, page_from_response, truncation
from sources.settings import SourceSettings

Outcome = CuratedRecord | InvalidItem


def invalid(page: RawPage, source: str, reason: str, detail: str, raw: Any = None) -> InvalidItem:
    return InvalidItem(location=page.location, reason=reason, detail=detail, source=source,
                       raw=truncate_raw(raw) if raw is not None else None)


def html_or_invalid(page: RawPage, source: str, expected: str, text: str | None = None) -> str | InvalidItem:
    """The page's stripped HTML, or the InvalidItem for an empty body, JSON where HTML was expected,
    or a truncated page (one that would silently yield fewer records)."""
    html = (page.text if text is None else text).strip()
    if not html:
        return invalid(page, source, "empty_body", "empty response body")
    if html[0] in "{[":
        return invalid(page, source, "unexpected_json", f"expected {expected}, got JSON", html[:500])
    if (cut := truncation(html)) is not None:
        return invalid(page, source, "truncated_html", cut, html[-500:])
    return html


def format_copyright(settings: SourceSettings, **fields: Any) -> str:
    """The settings' copyright text with {author}/{url}/{title} filled (missing ones → '未知')."""
    values: defaultdict[str, str] = defaultdict(lambda: "未知")
    values.update({k: str(v) for k, v in fields.items() if v not in (None, "")})
    return clean_text(settings.copyright.format_map(values))


def build_record(
    page: RawPage,
    settings: SourceSettings,
    *,
    source_id: str,
    instruction: str,
    output: str,
    input: str = "",
    url: str | None = None,
    author: str | None = None,
    title: str | None = None,
    extra: dict[str, Any] | None = None,
    task_type: dict[str, list[str]] | None = None,
    location: str | None = None,
    domain: list[str] | None = None,
) -> Outcome:
    """A CuratedRecord with full provenance, or an InvalidItem naming the failed field.
    `domain` overrides the settings' default when the item itself says (e.g. Zhihu topics)."""
    source = settings.name
    try:
        record = InstructionRecord(
            instruction=clean_text(instruction).strip(),
            input=clean_text(input).strip(),
            output=clean_text(output).strip(),
            task_type=TaskType(**task_type) if task_type else settings.task_type,
            domain=domain or settings.domain,
            answer_from=settings.answer_from,
            human_verified=False,
            copyright=format_copyright(settings, author=author, url=url, title=title),
        )
        provenance = Provenance(
            source_id=source_id, url=url, fetched_at=page.fetched_at, raw_sha256=page.sha256,
            license=settings.license, author=author, location=location or page.location,
            extra=redact_obj(extra, use_env=False) if extra else {},  # e.g. an API URL with its token
        )
    except ValidationError as exc:  # also provenance: a non-string author in the payload
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return invalid(page, source, "schema", f"{source_id}: {detail}")
    return CuratedRecord(id=make_record_id(source, source_id), source=source, record=record, provenance=provenance)


def safe_parse(module: ModuleType, page: RawPage, settings: SourceSettings) -> Iterator[Outcome]:
    try:
        yield from module.parse(page, settings)
    except Exception as exc:  # the net: a parser bug must not stop the run
        yield invalid(page, settings.name, "parser_error", f"{type(exc).__name__}: {exc}")


def _response_outcome(response: CachedResponse, source: str) -> InvalidItem | None:
    if response.ok:
        return None
    reason = "robots_disallowed" if response.error == "robots_disallowed" else (
        f"http_{response.status}" if response.error is None else "fetch_failed")
    return InvalidItem(location=redact_url(response.url), reason=reason,
                       detail=response.error or f"HTTP {response.status}", source=source)


def iter_web_source(
    module: ModuleType,
    settings: SourceSettings,
    *,
    files: Iterable[Path] = (),
    urls: Iterable[str] = (),
    crawler: Crawler | None = None,
) -> Iterator[Outcome]:
    """Outcomes for local files first (in order), then for the crawl of `urls` (frontier order)."""
    for path in files:
        try:
            page = page_from_file(Path(path))
        except OSError as exc:  # a directory, a symlink loop, a vanished or unreadable file
            yield InvalidItem(location=str(path), reason="unreadable", detail=f"cannot read the file: "
                              f"{exc.strerror or exc}", source=settings.name)
            continue
        yield from safe_parse(module, page, settings)
    urls = list(urls)
    if not urls:
        return
    if crawler is None:
        raise ValueError("URLs given but no crawler configured")

    def expand(response: CachedResponse) -> list[str]:
        try:
            return list(module.discover(page_from_response(response)))
        except Exception:
            return []

    try:
        for response in crawler.crawl(urls, expand=expand):
            bad = _response_outcome(response, settings.name)
            if bad is not None:
                yield bad
                continue
            yield from safe_parse(module, page_from_response(response), settings)
    finally:
        crawler.close()
