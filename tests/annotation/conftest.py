"""One real Label Studio per test session: a data dir migrated once, then copied per server.

The template data dir already holds the admin and three annotator accounts, so starting a
server from a copy takes seconds. A missing server binary FAILS the tests (never skips).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from annotation.client import Client, Connection, login_token
from annotation.server import LocalServer, ServerError, copy_data_dir, find_binary, start_server

ANNOTATORS = ("ann1@cqia.test", "ann2@cqia.test", "rev1@cqia.test")
PASSWORD = "annotator-pass-123"


@dataclass
class LS:
    server: LocalServer
    client: Client
    tokens: dict[str, str]  # annotator email → their own API token

    @property
    def conn(self) -> Connection:
        return self.client.conn


@pytest.fixture(scope="session")
def ls_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        find_binary()
    except ServerError as exc:
        pytest.fail(f"{exc}\n(the annotation tests need a real Label Studio server)", pytrace=False)
    base = tmp_path_factory.mktemp("ls-template") / "data"
    with start_server(base, timeout=300) as server:
        client = Client(Connection(server.url, server.creds.token))
        for email in ANNOTATORS:
            client.add_user(email, PASSWORD)
    return base


def _start_copy(template: Path, dst: Path, port: int | None = None) -> LS:
    copy_data_dir(template, dst)
    server = start_server(dst, port=port)
    client = Client(Connection(server.url, server.creds.token), backoff=0.2)
    tokens = {email: login_token(server.url, email, PASSWORD) for email in ANNOTATORS}
    return LS(server, client, tokens)


@pytest.fixture(scope="session")
def ls(ls_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LS]:
    """The shared server; tests isolate themselves by project title."""
    dst = tmp_path_factory.mktemp("ls-shared") / "data"
    handle = _start_copy(ls_template, dst)
    try:
        yield handle
    finally:
        handle.server.stop()
        shutil.rmtree(dst, ignore_errors=True)


@pytest.fixture
def ls_private(ls_template: Path, tmp_path: Path) -> Iterator[LS]:
    """A server of the test's own (for tests that stop and restart it)."""
    handle = _start_copy(ls_template, tmp_path / "ls-data")
    try:
        yield handle
    finally:
        handle.server.stop()
