"""The fetch layer against a real server process on 127.0.0.1 serving the real sample pages."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from sources.http import Crawler, FetchConfig, Fetcher, RawCache, decode_bytes
from sources.http.retry import RetryableStatus, RetryAfterOrBackoff, parse_retry_after
from tests.sources.http.site import request_log, sample_site


def fast(**kw) -> FetchConfig:
    base = dict(rate_per_host=0, backoff_base=0.05, backoff_max=0.2, max_retries=3, timeout=5, concurrency=2)
    return FetchConfig(**{**base, **kw})


@pytest.fixture
def site(samples_dir):
    with sample_site() as base:
        yield base


def test_serves_real_sample_bytes(site, samples_dir):
    with Fetcher(fast()) as fetcher:
        response = fetcher.fetch(f"{site}/wikihow/Stop-Ringing-in-Ears")
    sample = samples_dir / "wikihow" / "teknologi-umum-bot__wikihow_en_stop-ringing-in-ears.html"
    assert response.ok and response.body == sample.read_bytes()


def test_429_retry_after_is_honoured(site):
    with Fetcher(fast()) as fetcher:
        started = time.monotonic()
        response = fetcher.fetch(f"{site}/fault/429/1/wikihow/Stop-Ringing-in-Ears")
        elapsed = time.monotonic() - started
    assert response.ok and response.attempts == 2
    # backoff alone would wait <= 0.1 s; Retry-After: 1 must make it wait about a second
    assert elapsed >= 0.95


def test_500_and_disconnect_are_retried(site):
    with Fetcher(fast()) as fetcher:
        r500 = fetcher.fetch(f"{site}/fault/500/2/xhs/note/1")
        rdrop = fetcher.fetch(f"{site}/fault/disconnect/2/xhs/note/2")
    assert r500.ok and r500.attempts == 3
    assert rdrop.ok and rdrop.attempts == 3
    log = request_log(site)
    assert log.count("/fault/disconnect/2/xhs/note/2") == 3


def test_timeout_is_retried_then_reported(site):
    with Fetcher(fast(timeout=0.3, max_retries=1)) as fetcher:
        response = fetcher.fetch(f"{site}/fault/slow/1500/xhs/note/1")
    assert not response.ok
    assert "ReadTimeout" in response.error and response.attempts == 2


def test_gives_up_on_persistent_500_with_reason(site):
    with Fetcher(fast(max_retries=2)) as fetcher:
        response = fetcher.fetch(f"{site}/fault/always500/xhs/note/1")
    assert response.status == 500 and "gave up after 3 attempts: http_500" in response.error


def test_robots_txt_is_respected(site):
    with Fetcher(fast()) as fetcher:
        blocked = fetcher.fetch(f"{site}/private/page")
        allowed = fetcher.fetch(f"{site}/xhs/note/1")
    assert blocked.error == "robots_disallowed" and allowed.ok
    assert "/private/page" not in request_log(site)
    with Fetcher(fast(respect_robots=False)) as fetcher:
        assert fetcher.fetch(f"{site}/private/page").ok


def test_user_agent_and_secret_headers_sent_but_never_logged_or_cached(site, tmp_path, caplog):
    config = fast(user_agent="cqia-test-agent/9", cookies={"z_c0": "SECRET-COOKIE-VALUE"},
                  headers={"Authorization": "Bearer SECRET-TOKEN"})
    caplog.set_level(logging.DEBUG)
    cache = RawCache(tmp_path / "cache")
    crawler = Crawler(cache, config)
    responses = list(crawler.crawl([f"{site}/fault/500/1/xhs/note/1", f"{site}/fault/always500/x"]))
    crawler.close()
    assert responses[0].ok
    assert "SECRET" not in caplog.text and "SECRET" not in repr(crawler.fetcher) and "SECRET" not in repr(config)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert b"SECRET" not in stored


def test_user_agent_is_configurable(site):
    # the fetcher's client carries the configured UA on every request
    with Fetcher(fast(user_agent="cqia-test-agent/9")) as fetcher:
        assert fetcher.client.headers["User-Agent"] == "cqia-test-agent/9"


def test_rate_limit_spaces_requests_per_host(site):
    with Fetcher(fast(rate_per_host=5)) as fetcher:
        started = time.monotonic()
        for i in range(4):
            assert fetcher.fetch(f"{site}/xhs/note/{i}").ok
        elapsed = time.monotonic() - started
    assert elapsed >= 0.55  # 4 requests at 5/s need >= 3 intervals of 0.2 s


def test_cache_replays_without_network(site, tmp_path):
    cache = RawCache(tmp_path / "cache")
    urls = [f"{site}/xhs/note/{i}" for i in range(3)] + [f"{site}/nope"]
    first = Crawler(cache, fast())
    got = list(first.crawl(urls))
    first.close()
    assert [r.status for r in got] == [200, 200, 200, 404]
    before = len(request_log(site))
    second = Crawler(cache, fast())
    again = list(second.crawl(urls))
    second.close()
    assert len(request_log(site)) == before  # nothing re-fetched, not even the 404
    assert [r.body for r in again] == [r.body for r in got]
    assert second.stats.from_cache == 4 and second.stats.fetched == 0
    entry = cache.get(urls[0])
    assert entry.status == 200 and entry.fetched_at and entry.headers["content-type"] == "application/json"
    # content addressing: three identical bodies are stored once
    assert len(list((tmp_path / "cache" / "bodies").rglob("*"))) - len(
        list((tmp_path / "cache" / "bodies").glob("*"))) == 2  # xhs body + 404 body


def test_retry_failed_refetches_only_failures(site, tmp_path):
    cache = RawCache(tmp_path / "cache")
    url_bad, url_ok = f"{site}/fault/500/4/xhs/note/9", f"{site}/xhs/note/1"
    crawler = Crawler(cache, fast(max_retries=1))
    assert [r.ok for r in crawler.crawl([url_bad, url_ok])] == [False, True]
    crawler.close()
    crawler = Crawler(cache, fast(max_retries=3), retry_failed=True)
    assert [r.ok for r in crawler.crawl([url_bad, url_ok])] == [True, True]
    crawler.close()
    assert request_log(site).count("/xhs/note/1") == 1


def test_frontier_order_is_deterministic_with_concurrency(site, tmp_path):
    urls = [f"{site}/fault/slow/{(7 - i) * 30}/bench/{i}" for i in range(8)]
    crawler = Crawler(RawCache(tmp_path / "c"), fast(concurrency=4))
    assert [r.url for r in crawler.crawl(urls)] == urls
    crawler.close()


def test_expand_follows_discovered_urls_once(site, tmp_path):
    crawler = Crawler(RawCache(tmp_path / "c"), fast())
    seen = [r.url for r in crawler.crawl([f"{site}/bench/1"], expand=lambda r: [f"{site}/bench/2", f"{site}/bench/1#x"])]
    crawler.close()
    assert seen == [f"{site}/bench/1", f"{site}/bench/2"]


def _state_after(attempt: int, error: BaseException):
    """A tenacity call state as the wait strategy sees it after failed attempt `attempt` (1-based)."""
    from tenacity import RetryCallState, Retrying

    state = RetryCallState(Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((type(error), error, None))
    return state


def test_retry_after_parsing_and_backoff_growth():
    import httpx

    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 10) == pytest.approx(10, abs=1)
    assert parse_retry_after("soon") is None
    wait = RetryAfterOrBackoff(base=1, cap=100, max_retry_after=120)
    delays = [wait(_state_after(a + 1, httpx.ReadTimeout("t"))) for a in range(4)]
    assert all(2**a <= d <= 2**a + 1 for a, d in enumerate(delays))
    throttled = RetryableStatus(httpx.Response(429, headers={"Retry-After": "500"}))
    assert wait(_state_after(1, throttled)) == 120  # the server's wish, capped


def test_decode_gbk_and_mislabelled_pages(samples_dir):
    page = (samples_dir / "douban" / "neodb__https___movie_douban_com_subject_3541415_.html").read_bytes()
    text = page.decode("utf-8")
    gbk = text.replace("charset=utf-8", "charset=gbk").encode("gb18030")
    decoded, encoding = decode_bytes(gbk, "text/html; charset=gbk")
    assert encoding == "gb18030" and "盗梦空间" in decoded
    # header says utf-8 but bytes are GBK: strict UTF-8 fails, GB18030 fallback reads it
    decoded, encoding = decode_bytes("盗梦空间".encode("gbk"), "text/html; charset=utf-8")
    assert decoded == "盗梦空间" and encoding == "gb18030"
    assert decode_bytes(b"\xff\xfe\xfa", "")[0]  # garbage never raises


def test_cache_ignores_corrupt_entries(tmp_path: Path):
    from sources.http.cache import CachedResponse

    cache = RawCache(tmp_path)
    cache.put(CachedResponse(url="http://x/a", status=200, fetched_at="t", body=b"hello"))
    body = next(p for p in (tmp_path / "bodies").rglob("*") if p.is_file())
    body.write_bytes(b"tampered")
    assert cache.get("http://x/a") is None  # checksum mismatch → treated as not cached


def test_web_sources_over_http_including_gbk(site, tmp_path):
    from sources import douban, wikihow
    from sources.http.ingest import iter_web_source
    from sources.settings import load_settings

    crawler = Crawler(RawCache(tmp_path / "c"), fast())
    out = list(iter_web_source(douban, load_settings("douban"), urls=[f"{site}/douban-gbk/movie/subject/3541415/"],
                               crawler=crawler))
    texts = {o.provenance.source_id: o.record.output for o in out if hasattr(o, "record")}
    assert texts["movie:3541415:comment:288799445"] == "大概广电局也不知道该从哪里剪"
    crawler = Crawler(RawCache(tmp_path / "c"), fast())
    [rec, bad] = list(iter_web_source(wikihow, load_settings("wikihow"),
                                      urls=[f"{site}/wikihow/Stop-Ringing-in-Ears", f"{site}/fault/always500/w"],
                                      crawler=crawler))
    assert rec.record.instruction == "How to Stop Ringing in Ears"
    assert bad.reason == "fetch_failed" and bad.location == f"{site}/fault/always500/w" and "http_500" in bad.detail


def test_redirect_loop_is_a_failed_response_not_a_crashed_crawl(tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Loop(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server naming
            if self.path == "/ok":
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                return
            self.send_response(404 if self.path == "/robots.txt" else 302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Loop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        crawler = Crawler(RawCache(tmp_path / "c"), fast())
        [loop, ok] = list(crawler.crawl([f"{base}/loop", f"{base}/ok"]))
        crawler.close()
    finally:
        server.shutdown()
        server.server_close()
    assert not loop.ok and loop.error == "TooManyRedirects" and loop.attempts == 1
    assert ok.ok and ok.body == b"ok"
