#!/usr/bin/env python
"""Ingest zhihu inputs (saved files and/or crawled URLs): exactly `cqia ingest zhihu ...`.

Example: python scripts/ingest_zhihu.py FILE... --url URL --run runs/demo --rate 1
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curation.cli import app  # noqa: E402

if __name__ == "__main__":
    app(["ingest", "zhihu", *sys.argv[1:]])
