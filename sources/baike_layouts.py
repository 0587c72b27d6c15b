"""Baidu Baike page layouts → one `Lemma` shape (title, id, summary, info box, sections).

Layouts read (real files in docs/sources.md ## baike):
- classic (c. 2015–2022): `dd.lemmaWgt-lemmaTitle-title h1`, `div.lemma-summary .para`,
  `dt.basicInfo-item.name` / `dd.basicInfo-item.value`, `div.para-title.level-2|level-3`, `div.para`;
- 2023+ ("V6", CSS-module class names such as `lemmaSummary_cFhDf` that change between builds,
  so only the stable hooks are used): `h1.J-lemma-title`, `.J-summary`, `.J-basic-info` dt/dd,
  `.J-lemma-content` children tagged `data-tag="header"` (`data-level` 1/2) or `"paragraph"`;
  the lemma id and disambiguation text come from `window.PAGE_DATA`;
- the table a common Baike crawler tutorial writes (`<tr><td>url</td><td>title</td><td>summary</td>`).

Everything else is told apart and named: Baidu Zhidao question pages, the Baike home page,
disambiguation lists, verification/error pages, and pages with no Baike markup at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import orjson
from selectolax.lexbor import LexborHTMLParser, LexborNode

from sources.filecommon import normalize_newlines

_CITATION = re.compile(r"\[\d+(?:[-–,，]\d+)*\]")
_WHITESPACE = re.compile(r"[ \t\n\u00a0\u3000]+")
# A space beside full-width punctuation, or between two ideographs, is layout, not content
# ("Where I Belong 属于" keeps its space).
_PUNCT = "\\u3000-\\u303f\\uff00-\\uffef"
_HAN = "\\u2e80-\\u2fff\\u3400-\\u9fff"
_CJK_SPACE = re.compile(rf"(?<=[{_PUNCT}]) | (?=[{_PUNCT}])|(?<=[{_HAN}]) (?=[{_HAN}])")
_JUNK = ("sup, a.sup-anchor, .edit-icon, .lemma-album, script, style, .J-supWrap, [class*='lemmaPicture'], "
         "[class*='editLemma'], [data-tts-from], .lemma-picture")
_ITEM_URL = re.compile(r"baike\.baidu\.com/(?:item/[^/?#\s]+(?:/(\d+))?|view/(\d+)\.html?|subview/\d+/(\d+))")


@dataclass
class Lemma:
    layout: str
    title: str
    lemma_id: str | None = None
    url: str | None = None
    description: str = ""  # the disambiguation line under the title (义项描述), when the page has one
    summary: str = ""
    infobox: list[tuple[str, str]] = field(default_factory=list)
    sections: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TableRow:
    """One row of a crawler's output table: the URL and title are the crawler's, the summary the page's."""

    index: int
    url: str
    title: str
    summary: str
    lemma_id: str | None


@dataclass
class NotLemma:
    reason: str
    detail: str


# ---- text ------------------------------------------------------------------------------------

def text_of(node: LexborNode | None) -> str:
    """Visible text of a node without citations, pictures or edit buttons; whitespace collapsed per line."""
    if node is None:
        return ""
    clone = LexborHTMLParser(node.html or "")
    for junk in clone.css(_JUNK):
        junk.decompose()
    for br in clone.css("br"):
        br.replace_with("\u2028")  # placeholder: a real line break survives whitespace collapsing
    text = normalize_newlines(clone.body.text(separator="") if clone.body else "")
    text = _CITATION.sub("", text)
    text = _WHITESPACE.sub(" ", text)  # HTML semantics: source newlines are just spaces
    text = _CJK_SPACE.sub("", text).replace("\u2028", "\n")
    lines = [line.strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def clean_summary_text(text: str) -> str:
    """Crawler-extracted summary text: citation marks go; the line break a citation left before
    punctuation goes with it ("出道[1] \\n。" → "出道。"); paragraph breaks stay."""
    text = normalize_newlines(text)
    text = re.sub(r"\[\d+(?:[-–,，]\d+)*\]\s*(?=[。，；、！？：）」”])", "", text)
    text = _CITATION.sub("", text)
    lines = [_CJK_SPACE.sub("", _WHITESPACE.sub(" ", line)).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def _heading(node: LexborNode) -> str:
    title = node.css_first(".title-text") or node.css_first("h2, h3, h4") or node
    clone = LexborHTMLParser(title.html or "")
    for junk in clone.css(".title-prefix, .edit-icon, a, [class*='editLemma'], [data-tts-from]"):
        junk.decompose()
    text = text_of(clone.body).replace("\n", "")
    for tail in ("播报编辑", "编辑", "播报"):
        if text.endswith(tail) and len(text) > len(tail):
            text = text[: -len(tail)]
    return text.strip()


def _inside(node: LexborNode, markers: tuple[str, ...]) -> bool:
    parent = node.parent
    while parent is not None:
        classes = parent.attributes.get("class") or ""
        if parent.tag in markers or any(m in classes.split() for m in markers):
            return True
        parent = parent.parent
    return False


def _finish(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join each section's blocks; a subsection heading with no prose under it is dropped."""
    for section in sections:
        blocks = section.pop("blocks")
        section["text"] = "\n\n".join(
            b for i, b in enumerate(blocks)
            if not (b.startswith("### ") and (i + 1 == len(blocks) or blocks[i + 1].startswith("### ")))
        )
    return sections


def _pairs(names: list[LexborNode]) -> list[tuple[str, str]]:
    pairs = []
    for name in names:
        value = name.next
        while value is not None and value.tag != "dd":
            value = value.next
        key = re.sub(r"\s+", "", text_of(name))
        if key and value is not None:
            pairs.append((key, "；".join(text_of(value).split("\n"))))
    return pairs


# ---- classic layout --------------------------------------------------------------------------

def _classic(tree: LexborHTMLParser, html: str) -> Lemma:
    h1 = tree.css_first("dd.lemmaWgt-lemmaTitle-title h1") or tree.css_first("h1")
    title = text_of(h1).replace("\n", "") if h1 else ""
    subtitle = tree.css_first("dd.lemmaWgt-lemmaTitle-title h2")
    summary_node = tree.css_first(".lemma-summary")
    summary = "\n\n".join(t for t in (text_of(p) for p in summary_node.css(".para")) if t) if summary_node else ""
    main = tree.css_first(".main-content") or tree.body
    sections: list[dict[str, Any]] = []
    for node in (main.css("div.para-title, div.para") if main is not None else []):
        classes = (node.attributes.get("class") or "").split()
        if "para-title" in classes:
            heading = _heading(node)
            if "level-2" in classes or not sections:
                sections.append({"title": heading, "blocks": [], "subsections": []})
            else:
                sections[-1]["blocks"].append(f"### {heading}")
                sections[-1]["subsections"].append(heading)
            continue
        if not sections or _inside(node, ("table", "lemma-summary", "album-wrap")):
            continue
        text = text_of(node)
        if text:
            sections[-1]["blocks"].append(text)
    lemma = re.search(r'lemmaId["\']?\s*[:=]\s*["\']?(\d+)', html) or re.search(r"[?&]lemmaId=(\d+)", html)
    return Lemma(layout="classic", title=title, lemma_id=lemma.group(1) if lemma else None,
                 description=text_of(subtitle).strip("（）()") if subtitle else "", summary=summary,
                 infobox=_pairs(tree.css("dt.basicInfo-item.name")), sections=_finish(sections))


# ---- 2023+ layout ----------------------------------------------------------------------------

def _page_data(html: str) -> dict[str, Any]:
    match = re.search(r"window\.PAGE_DATA\s*=\s*(\{.*?\})\s*</script>", html, re.S)
    if not match:
        return {}
    try:
        data = orjson.loads(match.group(1))
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _v6(tree: LexborHTMLParser, html: str) -> Lemma:
    data = _page_data(html)
    h1 = tree.css_first("h1.J-lemma-title") or tree.css_first("[class*='lemmaTitle_'] h1") or tree.css_first("h1")
    title = text_of(h1).replace("\n", "") if h1 else str(data.get("lemmaTitle") or "")
    summary_node = tree.css_first(".J-summary")
    summary = "\n\n".join(t for t in (text_of(p) for p in summary_node.css('[data-tag="paragraph"]')) if t) \
        if summary_node is not None else ""
    sections: list[dict[str, Any]] = []
    content = tree.css_first(".J-lemma-content")
    for node in (content.css('[data-tag="header"], [data-tag="paragraph"], [data-tag="table"]')
                 if content is not None else []):
        tag = node.attributes.get("data-tag")
        if tag == "header":
            heading = _heading(node)
            if node.attributes.get("data-level") in (None, "1") or not sections:
                sections.append({"title": heading, "blocks": [], "subsections": []})
            else:
                sections[-1]["blocks"].append(f"### {heading}")
                sections[-1]["subsections"].append(heading)
        elif tag == "paragraph" and sections:
            text = text_of(node)
            if text:
                sections[-1]["blocks"].append(text)
    desc = tree.css_first("#lemmaDesc") or tree.css_first("[class*='lemmaDesc']")
    lemma_id = data.get("lemmaId")
    if lemma_id is None:
        match = re.search(r'"lemmaId"\s*:\s*(\d+)', html)
        lemma_id = match.group(1) if match else None
    basic = tree.css_first(".J-basic-info")
    return Lemma(layout="v6", title=title, lemma_id=str(lemma_id) if lemma_id is not None else None,
                 description=text_of(desc) or str(data.get("lemmaDesc") or ""), summary=summary,
                 infobox=_pairs(basic.css("dt")) if basic is not None else [], sections=_finish(sections))


# ---- crawler table ---------------------------------------------------------------------------

def _table_rows(tree: LexborHTMLParser) -> list[TableRow]:
    rows = []
    for index, tr in enumerate(tree.css("table tr")):
        cells = [td for td in tr.iter() if td.tag == "td"]
        if len(cells) < 3:
            continue
        url = (cells[0].text() or "").strip()
        match = _ITEM_URL.search(url)
        if not match:
            continue
        lemma_id = next((g for g in match.groups() if g), None)
        rows.append(TableRow(index=index, url=unquote(url), title=collapse_title(cells[1].text() or ""),
                             summary=clean_summary_text(cells[2].text() or ""), lemma_id=lemma_id))
    return rows


def collapse_title(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


# ---- which page is it ------------------------------------------------------------------------

def _page_title(tree: LexborHTMLParser) -> str:
    node = tree.css_first("title")
    return collapse_title(node.text() if node is not None else "")


def canonical_url(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first('link[rel="canonical"]')
    href = (node.attributes.get("href") or "").strip() if node is not None else ""
    return unquote(href) if _ITEM_URL.search(href) else None


def read_page(html: str) -> Lemma | list[TableRow] | NotLemma:
    """What a saved page is: a lemma (either layout), a crawler's table, or a named non-lemma."""
    tree = LexborHTMLParser(html)
    title = _page_title(tree)
    if title.endswith("_百度知道") or tree.css_first('[accuse="qTitle"]') is not None:
        return NotLemma("not_baike_page", f"Baidu Zhidao question page ({title or 'untitled'}): not an encyclopedia "
                                          "item; ingest it with `cqia ingest zhidao`")
    if tree.css_first("dd.lemmaWgt-lemmaTitle-title, .lemma-summary, div.para-title") is not None:
        lemma = _classic(tree, html)  # 2021-22 pages carry J-summary/J-lemma-title hooks too: classic first
    elif tree.css_first(".J-lemma-content, h1.J-lemma-title, .J-summary") is not None:
        lemma = _v6(tree, html)
    else:
        rows = _table_rows(tree)
        if rows:
            return rows
        return _not_lemma(tree, title)
    if tree.css_first(".lemmaWgt-subLemmaListTitle, .polysemeBody, [class*='polysemant']") is not None and not (
            lemma.summary or lemma.sections):
        return NotLemma("disambiguation_page", f"Baike disambiguation list ({title}): pick one of its items")
    lemma.url = canonical_url(tree)
    if not lemma.title or not (lemma.summary or lemma.sections or lemma.infobox):
        return NotLemma("no_lemma_content", f"Baike {lemma.layout} markup but no title or content ({title or 'untitled'}): "
                                            "an error, verification or empty page?")
    return lemma


def _not_lemma(tree: LexborHTMLParser, title: str) -> NotLemma:
    text = collapse_title(tree.body.text(separator=" ") if tree.body is not None else "")[:200]
    if "全球最大中文百科全书" in title:
        return NotLemma("not_baike_page", f"the Baidu Baike home page ({title}), not an item page")
    if "多义词" in text or tree.css_first(".lemmaWgt-subLemmaListTitle") is not None:
        return NotLemma("disambiguation_page", f"Baike disambiguation list ({title}): pick one of its items")
    if "百度安全验证" in title or "验证" in title:
        return NotLemma("blocked_page", f"verification page ({title}): the crawl was blocked")
    if title.endswith("_百度百科"):
        return NotLemma("no_lemma_content", f"Baike page ({title}) without item markup (error page or unknown layout?)")
    shown = title or (text[:60] if text else "empty document")
    return NotLemma("not_baike_page", f"no Baidu Baike item markup ({shown}): not a Baike item page")
