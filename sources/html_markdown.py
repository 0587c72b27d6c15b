"""HTML → Markdown for answer/article bodies, keeping what an instruction answer needs.

Kept: paragraphs, headings, (nested) lists, code blocks with language, inline code, links,
emphasis, tables, footnote references (Zhihu `<sup data-draft-type="reference">` → `[^n]` plus
a footnote list), and formulas as TeX from the equation image's `alt` (inline `$…$`, display
`$$…$$` when the formula stands alone in its paragraph). Dropped: scripts, styles, client-side
templates, buttons, plain images. A page parser may pass `link_filter` to rewrite or drop link
targets (affiliate tracking, redirect wrappers); a dropped link keeps its text. Written over selectolax (lexbor) nodes rather than markdownify
because the Zhihu-specific rules (equation images, reference sups) need node-level control.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "button", "iframe", "head", "title", "meta",
     "link", "input", "select", "textarea", "form", "video", "audio", "object", "canvas"}
)
BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "figure", "figcaption", "blockquote", "h1", "h2", "h3", "h4",
     "h5", "h6", "ul", "ol", "li", "pre", "hr", "table", "header", "footer", "main", "aside", "dl",
     "dt", "dd", "center", "details", "summary", "body", "html"}
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_WS = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")
# Query parameters that only track the reader (analytics campaigns, click ids, shop referrals).
TRACKING_PARAMS = frozenset({"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id",
                             "gclid", "fbclid", "spm", "_ea"})
# Shop links that carry an affiliate id: the link itself is the advertisement, so only its text stays.
_AFFILIATE_HOSTS = re.compile(r"(^|\.)(amazon\.[a-z.]+|amzn\.to|amzn\.com|jd\.com|taobao\.com|tmall\.com|"
                              r"s\.click\.taobao\.com|union-click\.jd\.com)$", re.I)
_AFFILIATE_PARAMS = frozenset({"tag", "ascsubtag", "linkcode", "unionid", "pid", "ali_trackid", "e"})


def clean_text(text: str) -> str:
    """Normalise newlines and remove control characters records would reject."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def collapse(text: str) -> str:
    return _WS.sub(" ", text)


def strip_tracking(href: str) -> str:
    """`href` without the reader-tracking query parameters in TRACKING_PARAMS (utm_*, spm, …)."""
    parts = urlsplit(href)
    if not parts.query:
        return href
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in TRACKING_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def is_affiliate_link(href: str) -> bool:
    """True for a shop link carrying an affiliate id (e.g. Amazon `?tag=wikihow…-20`)."""
    parts = urlsplit(href)
    if not _AFFILIATE_HOSTS.search(parts.hostname or ""):
        return False
    return any(k.lower() in _AFFILIATE_PARAMS for k, _ in parse_qsl(parts.query, keep_blank_values=True))


def drop_affiliate_links(href: str) -> str | None:
    """A `link_filter`: affiliate shop links lose their target (text stays), others lose tracking."""
    return None if is_affiliate_link(href) else strip_tracking(href)


LinkFilter = Callable[[str], "str | None"]


@dataclass
class _State:
    footnotes: dict[str, str] = field(default_factory=dict)
    drop_classes: frozenset[str] = frozenset()
    link_filter: LinkFilter | None = None


def _is_equation(node: LexborNode) -> bool:
    attrs = node.attributes
    src = attrs.get("src") or ""
    return "eeimg" in attrs or "/equation?tex=" in src or "latex.codecogs" in src


def _tex(node: LexborNode) -> str:
    alt = (node.attributes.get("alt") or "").strip()
    if not alt:
        from urllib.parse import parse_qs, urlparse

        alt = (parse_qs(urlparse(node.attributes.get("src") or "").query).get("tex") or [""])[0].strip()
    return alt


class _Converter:
    def __init__(self, state: _State) -> None:
        self.s = state

    def _skip(self, node: LexborNode) -> bool:
        if node.tag in SKIP_TAGS:
            return True
        if self.s.drop_classes:
            classes = set((node.attributes.get("class") or "").split())
            if classes & self.s.drop_classes:
                return True
        return node.attributes.get("hidden") is not None and node.tag not in ("html", "body")

    # ---- inline -----------------------------------------------------------------------------
    def inline(self, node: LexborNode) -> str:
        parts: list[str] = []
        for child in node.iter(include_text=True):
            parts.append(self.inline_node(child))
        return "".join(parts)

    def inline_node(self, node: LexborNode) -> str:
        tag = node.tag
        if tag == "-text":
            return collapse(node.text_content or "")
        if tag in ("-comment", "!--") or self._skip(node):
            return ""
        if tag == "br":
            return "\n"
        if tag == "img":
            if _is_equation(node):
                tex = _tex(node)
                return f"${tex}$" if tex else ""
            return ""
        if tag == "sup":
            ref = self._footnote(node)
            if ref is not None:
                return ref
            return self.inline(node)
        if tag == "code":
            text = (node.text() or "").strip()
            return f"`{text}`" if text else ""
        if tag in ("b", "strong"):
            return _wrap(self.inline(node), "**")
        if tag in ("i", "em"):
            return _wrap(self.inline(node), "*")
        if tag in ("s", "del", "strike"):
            return _wrap(self.inline(node), "~~")
        if tag == "a":
            text = self.inline(node).strip()
            href = (node.attributes.get("href") or "").strip()
            if not text:
                return ""
            if href.startswith("//"):
                href = "https:" + href
            if not href.startswith(("http://", "https://")):
                return text
            if self.s.link_filter is not None:
                href = self.s.link_filter(href) or ""
            if not href or href == text:
                return text
            return f"[{text}]({href})"
        if tag in BLOCK_TAGS:  # a block inside inline context: render flat
            return " " + " ".join(self.blocks(node)) + " "
        return self.inline(node)

    def _footnote(self, node: LexborNode) -> str | None:
        attrs = node.attributes
        if attrs.get("data-draft-type") != "reference" and "data-numero" not in attrs:
            return None
        number = (attrs.get("data-numero") or str(len(self.s.footnotes) + 1)).strip()
        text = (attrs.get("data-text") or "").strip()
        url = (attrs.get("data-url") or "").strip()
        self.s.footnotes.setdefault(number, " ".join(x for x in (text, url) if x))
        return f"[^{number}]"

    # ---- blocks -----------------------------------------------------------------------------
    def blocks(self, node: LexborNode) -> list[str]:
        """Markdown blocks of `node`'s children (mixed inline runs become paragraphs)."""
        out: list[str] = []
        run: list[str] = []

        def flush() -> None:
            text = _tidy_inline("".join(run))
            run.clear()
            if text:
                out.append(text)

        for child in node.iter(include_text=True):
            if child.tag in BLOCK_TAGS and not self._skip(child):
                flush()
                out.extend(self.block(child))
            elif child.tag == "img" and _is_equation(child) and not run_has_text(run):
                run.append(self.inline_node(child))
            else:
                run.append(self.inline_node(child))
        flush()
        return out

    def block(self, node: LexborNode) -> list[str]:
        tag = node.tag
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            text = _tidy_inline(self.inline(node)).replace("\n", " ")
            return [f"{'#' * int(tag[1])} {text}"] if text else []
        if tag == "hr":
            return ["---"]
        if tag == "pre":
            return [self._code_block(node)]
        if tag in ("ul", "ol"):
            text = self._list(node, ordered=tag == "ol", depth=0)
            return [text] if text else []
        if tag == "blockquote":
            inner = self.blocks(node)
            return ["\n".join("> " + line if line else ">" for line in "\n\n".join(inner).split("\n"))] if inner else []
        if tag == "table":
            return self._table(node)
        if tag == "p":
            return self._paragraph(node)
        if tag == "div" and "highlight" in (node.attributes.get("class") or "").split():
            pre = node.css_first("pre")
            if pre is not None:
                return [self._code_block(pre)]
        return self.blocks(node)

    def _paragraph(self, node: LexborNode) -> list[str]:
        children = [c for c in node.iter(include_text=True)
                    if not (c.tag == "-text" and not (c.text_content or "").strip())]
        if len(children) == 1 and children[0].tag == "img" and _is_equation(children[0]):
            tex = _tex(children[0])
            return [f"$$\n{tex}\n$$"] if tex else []
        return self.blocks(node)

    def _code_block(self, pre: LexborNode) -> str:
        code = pre.css_first("code")
        lang = ""
        for candidate in (code, pre, pre.parent):
            if candidate is None:
                continue
            for cls in (candidate.attributes.get("class") or "").split():
                if cls.startswith(("language-", "lang-")):
                    lang = cls.split("-", 1)[1]
                    break
            if lang:
                break
        text = (code or pre).text(deep=True) or ""
        text = clean_text(text).strip("\n")
        fence = "````" if "```" in text else "```"
        return f"{fence}{lang}\n{text}\n{fence}"

    def _list(self, node: LexborNode, *, ordered: bool, depth: int) -> str:
        lines: list[str] = []
        number = 0
        for item in node.iter():
            if item.tag != "li" or self._skip(item):
                continue
            number += 1
            marker = f"{number}. " if ordered else "- "
            pad = "   " * depth
            inline_parts: list[str] = []
            nested: list[str] = []
            for child in item.iter(include_text=True):
                if child.tag in ("ul", "ol"):
                    sub = self._list(child, ordered=child.tag == "ol", depth=depth + 1)
                    if sub:
                        nested.append(sub)
                elif child.tag in BLOCK_TAGS and not self._skip(child):
                    inline_parts.append("\n" + "\n".join(self.block(child)) + "\n")
                else:
                    inline_parts.append(self.inline_node(child))
            text = re.sub(r"\n{2,}", "\n", _tidy_inline("".join(inline_parts)))
            text = text.replace("\n", "\n" + pad + " " * len(marker))
            if text or nested:
                lines.append(f"{pad}{marker}{text}".rstrip())
                lines.extend(nested)
        return "\n".join(lines)

    def _table(self, node: LexborNode) -> list[str]:
        rows = []
        for tr in node.css("tr"):
            cells = [_tidy_inline(self.inline(c)).replace("\n", " ").replace("|", "\\|")
                     for c in tr.iter() if c.tag in ("td", "th")]
            if cells:
                rows.append(cells)
        if not rows:
            return []
        width = max(len(r) for r in rows)
        rows = [r + [""] * (width - len(r)) for r in rows]
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return ["\n".join(lines)]


def run_has_text(run: list[str]) -> bool:
    return any(part.strip() for part in run)


def _wrap(text: str, mark: str) -> str:
    stripped = text.strip()
    if not stripped:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()):]
    return f"{lead}{mark}{stripped}{mark}{trail}"


def _tidy_inline(text: str) -> str:
    lines = [line.strip() for line in text.split("\n")]
    return "\n".join(lines).strip()


def html_to_markdown(html: str, *, drop_classes: tuple[str, ...] = (), link_filter: LinkFilter | None = None) -> str:
    """Markdown for an HTML fragment or page; never raises on malformed or empty input."""
    if not html or not html.strip():
        return ""
    tree = LexborHTMLParser(html)
    root = tree.body or tree.root
    if root is None:
        return ""
    return node_to_markdown(root, drop_classes=drop_classes, link_filter=link_filter)


def node_to_markdown(node: LexborNode, *, drop_classes: tuple[str, ...] = (),
                     link_filter: LinkFilter | None = None) -> str:
    """Markdown for one parsed node (used when a page parser already selected the content).
    `link_filter(href)` returns the target to keep, or None to keep only the link text."""
    state = _State(drop_classes=frozenset(drop_classes), link_filter=link_filter)
    conv = _Converter(state)
    blocks = conv.block(node) if node.tag in BLOCK_TAGS else [_tidy_inline(conv.inline_node(node))]
    text = "\n\n".join(b for b in blocks if b.strip())
    if state.footnotes:
        notes = "\n".join(f"[^{k}]: {v}" for k, v in state.footnotes.items())
        text = f"{text}\n\n{notes}" if text else notes
    text = re.sub(r"\n{3,}", "\n\n", clean_text(text))
    return text.strip()
