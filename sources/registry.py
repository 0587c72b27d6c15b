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
}


def get(name: str) -> SourceEntry:
    if name not in REGISTRY:
        raise KeyError(f"unknown source {name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[name]
