#!/usr/bin/env python
"""Ingest segmentfault inputs (saved files and/or crawled URLs): exactly `cqia ingest segmentfault ...`.

Example: python scripts/ingest_segmentfault.py FILE... --url URL --run runs/demo --rate 1
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curation.cli import app  # noqa: E402

if __name__ == "__main__":
    app(["ingest", "segmentfault", *sys.argv[1:]])
