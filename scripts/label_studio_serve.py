"""Start a local Label Studio for annotators (thin wrapper over `cqia annotate serve`).

    .venv/bin/python scripts/label_studio_serve.py --data-dir .label-studio --port 8080

Needs the server venv: `scripts/setup_label_studio.sh` (or CQIA_LABEL_STUDIO_BIN).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curation.cli import app  # noqa: E402

if __name__ == "__main__":
    app(["annotate", "serve", *sys.argv[1:]])
