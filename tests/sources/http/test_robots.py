"""robots.txt rules as Google/RFC 9309 read them (wildcards, `$`, longest match), checked through
the real fetcher against a real HTTP server on 127.0.0.1 that serves the robots.txt below.

urllib.robotparser (used before protego) got every case marked `# urllib: allowed` wrong.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sources.http import FetchConfig, Fetcher

ROBOTS = b"""User-agent: *
Disallow: /*/log
Disallow: /search*
Disallow: /a/
Allow: /a/b/
Disallow: /*.pdf$
Crawl-delay: 0.2
"""


@pytest.fixture
def robots_site() -> Iterator[tuple[str, list[str]]]:
    requested: list[str] = []

    class Site(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server naming
            requested.append(self.path)
            body = ROBOTS if self.path == "/robots.txt" else b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()


CASES = [
    ("/q/1/log", False),  # urllib: allowed (reads `*` literally)
    ("/q/1/logbook", False),  # urllib: allowed
    ("/search?q=1", False),  # urllib: allowed
    ("/searching", False),  # urllib: allowed
    ("/a/x", False),
    ("/a/b/c", True),  # urllib: disallowed (first match wins there; the longest match must)
    ("/doc.pdf", False),  # urllib: allowed
    ("/doc.pdf?x=1", True),  # `$` anchors at the end
    ("/log", True),  # `/*/log` needs a segment before
    ("/other", True),
]


@pytest.mark.parametrize(("path", "expected"), CASES)
def test_robots_wildcards_and_longest_match(robots_site, path: str, expected: bool) -> None:
    base, _ = robots_site
    with Fetcher(FetchConfig(rate_per_host=0, max_retries=0, timeout=5)) as fetcher:
        assert fetcher.robots.allowed(base + path) is expected


def test_disallowed_urls_are_never_requested_and_crawl_delay_applies(robots_site) -> None:
    base, requested = robots_site
    with Fetcher(FetchConfig(rate_per_host=0, max_retries=0, timeout=5)) as fetcher:
        results = {path: fetcher.fetch(base + path) for path, _ in CASES}
        assert fetcher.limiter._extra == {base.split("//", 1)[1]: 0.2}
    for path, expected in CASES:
        assert results[path].ok is expected, path
        assert (results[path].error == "robots_disallowed") is (not expected), path
    assert requested[0] == "/robots.txt" and requested.count("/robots.txt") == 1
    assert sorted(requested[1:]) == sorted(p for p, allowed in CASES if allowed)
