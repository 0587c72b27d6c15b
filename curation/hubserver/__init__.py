"""A small Hub-compatible HTTP server (see curation/hub_server.py for the entry point)."""

from curation.hubserver.app import HubServer, make_server

__all__ = ["HubServer", "make_server"]
