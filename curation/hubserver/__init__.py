"""A small Hub-compatible HTTP server (`python -m curation.hubserver`, see serve.py)."""

from curation.hubserver.app import HubServer, make_server

__all__ = ["HubServer", "make_server"]
