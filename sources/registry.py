"""Which sources exist and what parses them: the only door from curation/CLI into sources/.

Each entry maps a source family to the module that parses it. Parsers yield `CuratedRecord`
or `InvalidItem` and never write files or filter by quality.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceEntry:
    name: str
    module: str
    description: str


REGISTRY: dict[str, SourceEntry] = {
    "import": SourceEntry(
        "import", "sources.instruct_import", "existing instruction data: COIG-CQIA, Alpaca, ShareGPT"
    ),
    "zhihu": SourceEntry("zhihu", "sources.zhihu", "Zhihu answers (API v4 JSON, question pages)"),
    "segmentfault": SourceEntry("segmentfault", "sources.segmentfault", "SegmentFault Q&A pages, channel listings"),
    "douban": SourceEntry("douban", "sources.douban", "Douban movie/book pages → template tasks"),
    "xhs": SourceEntry("xhs", "sources.xhs", "Xiaohongshu note objects → template tasks"),
    "wikihow": SourceEntry("wikihow", "sources.wikihow", "wikiHow how-to articles → steps"),
    "wiki": SourceEntry(
        "wiki", "sources.wiki", "Chinese Wikipedia XML dumps (.xml.bz2) or WikiExtractor JSON → encyclopedic Q&A"
    ),
    "baike": SourceEntry("baike", "sources.baike", "Baidu Baike article pages → encyclopedic Q&A (config wiki)"),
    "zhidao": SourceEntry("zhidao", "sources.zhidao", "Baidu Zhidao question pages → Q&A (best and other answers)"),
    "exam": SourceEntry("exam", "sources.exam", "CMMLU / C-Eval CSV and GAOKAO-Bench JSON → explained answers"),
    "logi_qa": SourceEntry(
        "logi_qa", "sources.logiqa", "LogiQA 1.0 text blocks and LogiQA 2.0 JSON lines → logical reasoning Q&A"
    ),
    "chinese_traditional": SourceEntry(
        "chinese_traditional", "sources.classical", "chinese-poetry poems, ci, qu, prose classics (t2s) and idioms → tasks"
    ),
    "ruozhiba": SourceEntry(
        "ruozhiba", "sources.ruozhiba", "Ruozhiba titles, best-of lists, thread dumps → questions (LLM answers)"
    ),
}


def get(name: str) -> SourceEntry:
    if name not in REGISTRY:
        raise KeyError(f"unknown source {name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[name]
