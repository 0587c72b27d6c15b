"""Thin entry point: `python scripts/ingest_wiki.py FILES... --run DIR` = `cqia ingest wiki ...`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curation.cli import app  # noqa: E402

if __name__ == "__main__":
    app(["ingest", "wiki", *sys.argv[1:]])
