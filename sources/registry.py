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
}


def get(name: str) -> SourceEntry:
    if name not in REGISTRY:
        raise KeyError(f"unknown source {name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[name]
