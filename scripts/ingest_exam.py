"""Thin entry point: `python scripts/ingest_exam.py FILES... --run DIR` = `cqia ingest exam ...`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curation.cli import app  # noqa: E402

if __name__ == "__main__":
    app(["ingest", "exam", *sys.argv[1:]])
