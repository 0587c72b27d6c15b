"""Local Hugging Face Hub-compatible server for release tests and benchmarks.

The real Hub is unreachable from our machines and no self-hostable Hub runs here, so the release
code is exercised against this server with the real `huggingface_hub`/`datasets` clients pointed
at it by `HF_ENDPOINT`. Start: `python -m curation.hubserver --data-dir D --port 0 --token alice=SECRET`;
the first stdout line is the bound URL.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from curation.hubserver.app import make_server

__all__ = ["main", "parse_users"]


def parse_users(pairs: list[str], tokens_file: Path | None) -> tuple[dict[str, str], dict[str, set[str]]]:
    """`user=token` pairs and/or a JSON file `{"users": {user: token}, "orgs": {org: [user]}}`."""
    users: dict[str, str] = {}
    orgs: dict[str, set[str]] = {}
    if tokens_file is not None:
        cfg = json.loads(Path(tokens_file).read_text())
        users.update({tok: user for user, tok in cfg.get("users", {}).items()})
        orgs.update({o: set(m) for o, m in cfg.get("orgs", {}).items()})
    for pair in pairs:
        user, sep, token = pair.partition("=")
        if not sep or not user or not token:
            raise SystemExit(f"--token expects USER=TOKEN, got a value without '=' for user {user!r}")
        users[token] = user
    return users, orgs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", action="append", default=[], metavar="USER=TOKEN")
    ap.add_argument("--tokens-file", type=Path, help='JSON: {"users": {user: token}, "orgs": {org: [users]}}')
    ap.add_argument("--org", action="append", default=[], metavar="ORG=user1,user2")
    ap.add_argument("--tree-page-size", type=int, default=1000)
    args = ap.parse_args(argv)
    users, orgs = parse_users(args.token, args.tokens_file)
    for spec in args.org:
        org, _, members = spec.partition("=")
        orgs.setdefault(org, set()).update(m for m in members.split(",") if m)
    server = make_server(args.data_dir, args.host, args.port, users, orgs, args.tree_page_size)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(server.url, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)

