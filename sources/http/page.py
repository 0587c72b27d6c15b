"""A raw page (file or fetched response) and robust decoding of its bytes.

Chinese sites still serve GBK/GB2312 pages, sometimes mislabelled; decoding tries the BOM, the
HTTP charset, the `<meta charset>`, strict UTF-8, then GB18030 (a superset of GBK/GB2312) when
the bytes show no UTF-8 evidence, and only then falls back to UTF-8 with replacement characters,
so decoding itself never fails.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from schemas.redact import redact_url
from sources.fileread.encoding import detect_bytes_encoding
from sources.http.cache import CachedResponse

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_GB_FAMILY = {"gbk", "gb2312", "gb_2312-80", "gb18030", "x-gbk", "cp936"}
# A DOM snapshot saved as a JS module for test mocks: `export const html = `<html>…</html>`;`
_JS_TEMPLATE_HEAD = re.compile(r"^\s*(?:export\s+(?:default\s+)?)?(?:const|let|var)\s+[\w$]+\s*=\s*`")
_JS_TEMPLATE_TAIL = re.compile(r"`\s*;?\s*$")
_JS_ESCAPES = re.compile(r"\\([`$\\])")


def _norm_charset(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    if name in _GB_FAMILY:
        return "gb18030"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(body: bytes, content_type: str = "") -> tuple[str, str]:
    """(text, encoding used) for a page body; never raises."""
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", "replace"), "utf-8-sig"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body.decode("utf-16", "replace"), "utf-16"
    candidates: list[str] = []
    match = re.search(r"charset=([\w\-]+)", content_type or "", re.I)
    for declared in (match.group(1) if match else None,
                     (m.group(1).decode("ascii", "ignore") if (m := _META_CHARSET.search(body[:4096])) else None)):
        norm = _norm_charset(declared)
        if norm and norm not in candidates:
            candidates.append(norm)
    for encoding in candidates:
        try:
            return body.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            continue
    # Undeclared or wrongly declared: strict UTF-8, else GB18030 only when the bytes show no UTF-8
    # evidence (a UTF-8 page with one bad byte must not become GB18030 mojibake).
    detected = detect_bytes_encoding(body)
    if detected.bad_utf8:
        return body.decode("utf-8", "replace"), "utf-8-replace"
    return body.decode(detected.name, "replace"), detected.name


_OPENERS = (("html", re.compile(r"<html[\s>]", re.I), re.compile(r"</html\s*>", re.I)),
            ("body", re.compile(r"<body[\s>]", re.I), re.compile(r"</body\s*>", re.I)))


def truncation(text: str) -> str | None:
    """Why a decoded HTML document looks cut short (an opened <html>/<body> never closed), or None.

    A page cut mid-transfer or mid-save still parses, into fewer records; this says so instead.
    """
    for name, opener, closer in _OPENERS:
        if opener.search(text, 0, 65536) and not closer.search(text):
            return f"<{name}> is opened but never closed: the page looks truncated ({len(text)} characters)"
    return None


@dataclass(frozen=True)
class RawPage:
    """What a parser sees: bytes plus where and when they came from."""

    location: str  # the URL, or the file path
    body: bytes
    fetched_at: str
    url: str | None = None
    content_type: str = ""

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @cached_property
    def decoded(self) -> tuple[str, str]:
        return decode_bytes(self.body, self.content_type)

    @property
    def text(self) -> str:
        return self.decoded[0]


def unwrap_js_template(text: str) -> tuple[str, bool]:
    """(inner HTML, True) for a page saved as a JS template literal (`export const html = `…`;`,
    as crawler projects store browser snapshots for their tests); (text, False) for anything else.
    Only the escapes a literal needs for HTML (\\`, \\$, \\\\) are undone."""
    head = _JS_TEMPLATE_HEAD.match(text)
    tail = _JS_TEMPLATE_TAIL.search(text) if head else None
    if head is None or tail is None or tail.start() < head.end():
        return text, False
    return _JS_ESCAPES.sub(r"\1", text[head.end():tail.start()]), True


def page_from_file(path: Path) -> RawPage:
    fetched = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return RawPage(location=str(path), body=path.read_bytes(), fetched_at=fetched)


def page_from_response(response: CachedResponse) -> RawPage:
    """The page a parser sees: its URLs carry no credentials, so neither can its records."""
    return RawPage(
        location=redact_url(response.url),
        body=response.body,
        fetched_at=response.fetched_at,
        url=response.final_url or redact_url(response.url),
        content_type=response.headers.get("content-type", ""),
    )
