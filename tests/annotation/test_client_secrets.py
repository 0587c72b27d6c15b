"""The Label Studio client never repeats its key, even when a server echoes it in an error body.

A real Label Studio does not echo the Authorization header, so this uses the echoing HTTP server
of tests/test_secrets.py (a real process-local server on 127.0.0.1), not Label Studio.
"""

from __future__ import annotations

import pytest

from annotation.client import Client, Connection, LSError
from tests.test_secrets import echo_label_studio  # noqa: F401 - fixture


def test_echoed_key_is_scrubbed_from_errors(echo_label_studio, monkeypatch):  # noqa: F811
    for name in ("CQIA_LS_API_KEY", "LABEL_STUDIO_API_KEY"):
        monkeypatch.delenv(name, raising=False)  # the client itself must scrub, not the env net
    url, seen = echo_label_studio
    key = "ls-secret-key-31337"
    client = Client(Connection(url.replace("//", "//admin:url-pw-4242@"), key), retries=0)
    client.check()
    with pytest.raises(LSError) as info:
        client.request("GET", "/api/projects")
    message = str(info.value)
    assert "HTTP 400" in message and "REDACTED" in message
    assert seen[-1] == f"Token {key}"  # sent as the API key (URL userinfo did not replace it) and echoed
    assert key not in message and "url-pw-4242" not in message + repr(client) + repr(client.conn)
