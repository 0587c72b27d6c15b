"""MediaWiki wikitext → clean plain text split into sections (Chinese Wikipedia conventions).

mwparserfromhell (C tokenizer) parses; we render the node tree ourselves so that we decide what
survives: link text yes, reference/gallery/table/navbox no, a few inline templates keep their
visible text (`{{lang|de|Berlin}}` → "Berlin", `{{lang-de|Berlin}}` → "德语：Berlin").
Language-conversion markup is resolved before parsing: `-{zh-hans:州; zh-hant:邦}-` → the
simplified variant, `-{R|raw}-` → raw, `-{H|…}-` / `-{T|…}-` produce no text, and page-wide rules
(`{{noteTA}}` entries, `-{H|…}-`, `-{A|…}-`) are returned so the caller can apply them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import mwparserfromhell as mwp
from mwparserfromhell.nodes import (
    Argument,
    Comment,
    ExternalLink,
    Heading,
    HTMLEntity,
    Tag,
    Template,
    Text,
    Wikilink,
)
from mwparserfromhell.wikicode import Wikicode

# Which variant text to keep, best first (mainland simplified, then anything simplified-ish).
VARIANT_ORDER = ("zh-cn", "zh-hans", "zh-sg", "zh-my", "zh", "zh-hant", "zh-tw", "zh-hk", "zh-mo")
# Innermost `-{…}-` first (no nested opener inside), applied until none is left.
_CONVERSION = re.compile(r"-\{((?:(?!-\{).)*?)\}-", re.DOTALL)
_VARIANT_RULE = re.compile(r"(?:^|;)\s*(zh(?:-[a-z]+)?)\s*:")
_MAGIC_WORD = re.compile(r"__[A-Z]+__")

_DROP_LINK_NS = {
    "file", "image", "media", "文件", "檔案", "档案", "图像", "圖像", "category", "分类", "分類",
}
_INTERLANGUAGE = re.compile(r"^:?[a-z]{2,3}(?:-[a-z0-9]+)*:")
_DROP_TAGS = {
    "ref", "references", "gallery", "timeline", "imagemap", "templatestyles", "graph", "mapframe",
    "table", "tr", "td", "th", "caption", "score", "categorytree", "indicator", "section",
}
_RAW_TAGS = {"nowiki", "math", "chem", "ce", "code", "pre", "syntaxhighlight", "source"}

LANG_NAMES = {
    "en": "英语", "de": "德语", "fr": "法语", "ja": "日语", "ko": "韩语", "ru": "俄语", "es": "西班牙语",
    "it": "意大利语", "la": "拉丁语", "pt": "葡萄牙语", "ar": "阿拉伯语", "nl": "荷兰语", "el": "希腊语",
    "grc": "古希腊语", "sa": "梵语", "vi": "越南语", "th": "泰语", "mn": "蒙古语", "bo": "藏语",
    "pl": "波兰语", "tr": "土耳其语", "fa": "波斯语", "he": "希伯来语", "hi": "印地语", "sv": "瑞典语",
}

# name (lower-case) → index of the positional parameter whose text is shown (1-based).
INLINE_TEMPLATES: dict[str, int] = {
    "lang": 2, "link": 1, "le": 1, "ill": 1, "nowrap": 1, "nobr": 1, "small": 1, "big": 1,
    "bold": 1, "tsl": 3, "link-ja": 1, "link-en": 1, "link-de": 1, "link-fr": 1, "link-ru": 1,
    "lj": 1, "cquote": 1, "quote": 1, "abbr": 1, "ruby": 1, "color": 2, "font color": 2,
}


@dataclass
class Section:
    """One top-level section (its subsections rendered inside `text` as `### 标题` blocks)."""

    title: str
    level: int
    text: str
    subsections: list[str] = field(default_factory=list)


@dataclass
class CleanPage:
    lead: str
    sections: list[Section]
    categories: list[str]
    rules: dict[str, str]  # page-wide conversion rules: other-variant text → chosen text
    note_ta_groups: list[str]


def _pick_variant(body: str) -> tuple[str | None, dict[str, str]]:
    """For 'zh-hans:A; zh-hant:B' return (chosen text, {variant: text}); (None, {}) if no rules."""
    marks = list(_VARIANT_RULE.finditer(body))
    if not marks:
        return None, {}
    variants: dict[str, str] = {}
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(body)
        value = body[mark.end() : end].strip().rstrip(";").strip()
        if "=>" in value:  # unidirectional 'src=>zh-cn:dst' is rare; keep the target text
            value = value.split("=>", 1)[-1]
        variants.setdefault(mark.group(1), value)
    chosen = next((variants[v] for v in VARIANT_ORDER if v in variants), next(iter(variants.values())))
    return chosen, variants


def _add_rules(rules: dict[str, str], variants: dict[str, str], chosen: str) -> None:
    for value in variants.values():
        if value and value != chosen:
            rules[value] = chosen


def resolve_conversion_markup(text: str, rules: dict[str, str] | None = None) -> str:
    """Replace every `-{…}-` with the text MediaWiki would show a zh-cn reader."""
    rules = rules if rules is not None else {}

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        flags = ""
        head, sep, rest = inner.partition("|")
        if sep and re.fullmatch(r"[A-Za-z\-;\s]{1,12}", head) and not head.strip().startswith("zh"):
            flags, inner = head.replace(" ", "").upper(), rest
        chosen, variants = _pick_variant(inner)
        if flags and set(flags.split(";")) & {"H", "A"} and chosen is not None:
            _add_rules(rules, variants, chosen)
        if flags and set(flags.split(";")) & {"H", "T", "-"}:
            return ""
        if "R" in flags.split(";") or chosen is None:
            return inner
        return chosen

    for _ in range(8):  # nesting depth bound; real pages nest at most twice
        if "-{" not in text:
            break
        text, count = _CONVERSION.subn(replace, text)
        if not count:
            break
    return text


def note_ta_rules(template: Template, rules: dict[str, str], groups: list[str]) -> None:
    """Collect `{{noteTA|1=zh-cn:悉尼; zh-tw:雪梨;|G1=…}}` manual rules and group names."""
    for param in template.params:
        name = str(param.name).strip()
        value = str(param.value).strip()
        if name.upper().startswith("G"):
            groups.append(value)
        elif name.isdigit():
            chosen, variants = _pick_variant(value)
            if chosen is not None:
                _add_rules(rules, variants, chosen)


def apply_rules(text: str, rules: dict[str, str]) -> str:
    """Apply page-wide conversion rules, longest source first (avoids partial overlaps)."""
    if not rules:
        return text
    pattern = re.compile("|".join(re.escape(k) for k in sorted(rules, key=len, reverse=True)))
    return pattern.sub(lambda m: rules[m.group()], text)


class _Renderer:
    """Render a Wikicode tree to text; collects categories and noteTA rules on the way."""

    def __init__(self, rules: dict[str, str], inline: dict[str, int]) -> None:
        self.rules = rules
        self.inline = inline
        self.categories: list[str] = []
        self.groups: list[str] = []

    def render(self, code: Wikicode | None) -> str:
        if code is None:
            return ""
        return "".join(self.node(n) for n in code.nodes)

    def node(self, node: object) -> str:  # noqa: C901 - a flat dispatch reads best here
        if isinstance(node, Text):
            return str(node)
        if isinstance(node, Wikilink):
            return self.link(node)
        if isinstance(node, Template):
            return self.template(node)
        if isinstance(node, Tag):
            return self.tag(node)
        if isinstance(node, ExternalLink):
            return self.render(node.title) if node.title else ""
        if isinstance(node, HTMLEntity):
            return node.normalize()
        if isinstance(node, Heading):
            return "\n" + self.render(node.title).strip() + "\n"
        if isinstance(node, Comment | Argument):
            return ""
        return ""

    def link(self, node: Wikilink) -> str:
        title = str(node.title).strip()
        prefix = title.lstrip(":").split(":", 1)[0].strip().lower() if ":" in title else ""
        if prefix in _DROP_LINK_NS:
            if prefix in {"category", "分类", "分類"} and not title.startswith(":"):
                self.categories.append(title.split(":", 1)[1].split("|")[0].strip())
                return ""
            return "" if not title.startswith(":") else self.render(node.text) if node.text else ""
        if _INTERLANGUAGE.match(title) and not node.text:
            return ""
        if node.text is not None:
            return self.render(node.text)
        return self.render(node.title).lstrip(":").split("#", 1)[0]

    def template(self, node: Template) -> str:
        name = str(node.name).strip()
        low = name.lower().replace("_", " ")
        if low == "notota" or low == "noteta":
            note_ta_rules(node, self.rules, self.groups)
            return ""
        if low == "!":
            return "|"
        positional = [p for p in node.params if not p.showkey]
        if low.startswith("lang-") and positional:
            code = low[5:]
            text = self.render(positional[0].value).strip()
            label = LANG_NAMES.get(code)
            return f"{label}：{text}" if label else text
        if low == "convert" and len(positional) >= 2:
            return f"{self.render(positional[0].value).strip()} {self.render(positional[1].value).strip()}"
        index = self.inline.get(low)
        if index is None and low.startswith("link-"):
            index = 1
        if index is not None and len(positional) >= index:
            return self.render(positional[index - 1].value)
        return ""

    def tag(self, node: Tag) -> str:
        tag = str(node.tag).strip().lower()
        markup = node.wiki_markup
        if markup in ("*", "#"):
            return "- "
        if markup in (";", ":"):
            return ""
        if tag == "br":
            return "\n"
        if tag == "hr" or tag in _DROP_TAGS:
            return ""
        if tag in _RAW_TAGS:
            return str(node.contents or "")
        return self.render(node.contents)


_EMPTY_PARENS = re.compile(r"[（(]\s*[，,；;、\s]*[）)]")
_LEADING_PUNCT_IN_PARENS = re.compile(r"([（(])\s*[，,；;、]\s*")
_TRAILING_PUNCT_IN_PARENS = re.compile(r"\s*[，,；;、]\s*([）)])")


def tidy(text: str) -> str:
    """Whitespace and debris left by removed templates: empty '（）', stray separators, blank runs."""
    text = html.unescape(text).replace("\u00a0", " ").replace("\r", "")
    text = _MAGIC_WORD.sub("", text)
    for _ in range(3):
        text = _LEADING_PUNCT_IN_PARENS.sub(r"\1", text)
        text = _TRAILING_PUNCT_IN_PARENS.sub(r"\1", text)
        text = _EMPTY_PARENS.sub("", text)
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"[ \t]+", " ", line).strip()
        if line in ("-", "- "):
            continue
        lines.append(line)
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


_REF = re.compile(r"<ref\b[^>]*/>|<ref\b[^>]*>.*?</ref\s*>", re.DOTALL | re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_BRACES = re.compile(r"\{\{|\}\}")


def _keep_template(name: str, inline: dict[str, int]) -> bool:
    low = name.strip().lower().replace("_", " ")
    return low in inline or low in ("noteta", "notota", "!", "convert") or low.startswith(("lang-", "link-"))


def prefilter(text: str, inline: dict[str, int]) -> str:
    """Cheap removal before the tree parse: refs, comments and top-level templates that render to
    nothing (infoboxes, navboxes, citations). Building mwparserfromhell nodes for them was most of
    the parse time; what remains (inline templates, links, tags) still goes through the parser.
    Unbalanced braces stop the pruning and leave the rest to the parser."""
    text = _COMMENT.sub("", _REF.sub("", text))
    out: list[str] = []
    last = depth = start = 0
    keep = True
    for match in _BRACES.finditer(text):
        if match.group() == "{{":
            if depth == 0:
                start = match.start()
                name = re.split(r"[|}:\n]", text[match.end() : match.end() + 80], maxsplit=1)[0]
                keep = _keep_template(name, inline)
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0 and not keep:
                out.append(text[last:start])
                last = match.end()
    out.append(text[last:])
    return "".join(out)


def clean_page(
    wikitext: str, *, inline_templates: dict[str, int] | None = None
) -> CleanPage:
    """Parse a page's wikitext into lead + top-level sections of clean text (not yet t2s)."""
    rules: dict[str, str] = {}
    inline = {**INLINE_TEMPLATES, **(inline_templates or {})}
    text = prefilter(resolve_conversion_markup(wikitext, rules), inline)
    code = mwp.parse(text, skip_style_tags=False)
    renderer = _Renderer(rules, inline)

    flat: list[tuple[int, str, list[str]]] = [(0, "", [])]  # (level, title, rendered chunks)
    for node in code.nodes:
        if isinstance(node, Heading):
            flat.append((node.level, tidy(renderer.render(node.title)), []))
        else:
            flat[-1][2].append(renderer.node(node))

    lead = tidy("".join(flat[0][2]))
    headed = flat[1:]
    top = min((lvl for lvl, _, _ in headed), default=2)
    sections: list[Section] = []
    for level, title, chunks in headed:
        body = tidy("".join(chunks))
        if level <= top or not sections:
            sections.append(Section(title=title, level=level, text=body))
            continue
        current = sections[-1]
        block = f"{'#' * min(level, 6)} {title}" + (f"\n\n{body}" if body else "")
        current.subsections.append(title)
        current.text = f"{current.text}\n\n{block}".strip() if current.text else block
    for section in sections:  # a subsection heading with no text under it is not content
        section.text = _drop_empty_headings(section.text)
    return CleanPage(
        lead=lead,
        sections=sections,
        categories=renderer.categories,
        rules=rules,
        note_ta_groups=renderer.groups,
    )


def _drop_empty_headings(text: str) -> str:
    blocks = text.split("\n\n")

    def level(block: str) -> int:
        match = re.match(r"(#+) ", block)
        return len(match.group(1)) if match and "\n" not in block else 0

    kept = [
        b for i, b in enumerate(blocks)
        if not (level(b) and (i + 1 == len(blocks) or 0 < level(blocks[i + 1]) <= level(b)))
    ]
    return "\n\n".join(kept).strip()
