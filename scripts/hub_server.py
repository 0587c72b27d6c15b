"""Start the project's local Hub-compatible server (thin wrapper over curation.hubserver).

    python scripts/hub_server.py --data-dir /tmp/hub --port 8765 --token alice=hf_alice_secret
    HF_ENDPOINT=http://127.0.0.1:8765 HF_HUB_DISABLE_XET=1 cqia release push DIR --repo-id alice/cqia
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curation.hubserver.serve import main  # noqa: E402

if __name__ == "__main__":
    main()
