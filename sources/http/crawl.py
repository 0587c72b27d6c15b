"""Crawl a URL frontier through the raw cache: concurrent fetches, deterministic output order.

Resume contract: every final outcome of a URL (a page, an HTTP error after retries, a network
failure) is stored in the cache, so a re-run after a kill replays cached URLs without touching
the network and yields exactly the same sequence; the stage runner then skips the outcomes it
already wrote, so no record is duplicated. Only robots.txt refusals are not cached (the policy
may change). `retry_failed=True` forgets cached failures so they are fetched again.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urldefrag

from sources.http.cache import CachedResponse, RawCache
from sources.http.fetcher import FetchConfig, Fetcher


@dataclass
class CrawlStats:
    """What a crawl did: the CLI prints this as its summary table."""

    from_cache: int = 0
    fetched: int = 0
    failed: int = 0
    robots_blocked: int = 0
    retries: int = 0
    bytes: int = 0
    seconds: float = 0.0
    by_status: dict[int, int] = field(default_factory=dict)

    @property
    def pages_per_second(self) -> float:
        return self.fetched / self.seconds if self.seconds > 0 else 0.0


def normalize_url(url: str) -> str:
    return urldefrag(url.strip())[0]


class Crawler:
    """Fetch-through-cache over a frontier that parsers may extend (paging, listings)."""

    def __init__(self, cache: RawCache, config: FetchConfig | None = None, *, retry_failed: bool = False,
                 max_pages: int | None = None) -> None:
        self.cache = cache
        self.config = config or FetchConfig()
        self.retry_failed = retry_failed
        self.max_pages = max_pages
        self.stats = CrawlStats()
        self._fetcher: Fetcher | None = None

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            self._fetcher = Fetcher(self.config)
        return self._fetcher

    def close(self) -> None:
        if self._fetcher is not None:
            self.stats.retries = self._fetcher.retries
            self._fetcher.close()

    def _cached(self, url: str) -> CachedResponse | None:
        hit = self.cache.get(url)
        if hit is not None and self.retry_failed and not hit.ok:
            self.cache.forget(url)
            return None
        return hit

    def _fetch_and_store(self, url: str) -> CachedResponse:
        response = self.fetcher.fetch(url)
        if response.error == "robots_disallowed":
            return response
        return self.cache.put(response)

    def _account(self, response: CachedResponse, cached: bool) -> None:
        s = self.stats
        if cached:
            s.from_cache += 1
        elif response.error == "robots_disallowed":
            s.robots_blocked += 1
        else:
            s.fetched += 1
            s.bytes += len(response.body)
        if not response.ok and response.error != "robots_disallowed":
            s.failed += 1
        s.by_status[response.status] = s.by_status.get(response.status, 0) + 1

    def crawl(
        self,
        seeds: Iterable[str],
        expand: Callable[[CachedResponse], Iterable[str]] | None = None,
    ) -> Iterator[CachedResponse]:
        """Yield one response per unique URL in frontier order; `expand` adds discovered URLs."""
        started = time.monotonic()
        frontier: deque[str] = deque()
        seen: set[str] = set()

        def add(url: str) -> None:
            url = normalize_url(url)
            if url and url not in seen and (self.max_pages is None or len(seen) < self.max_pages):
                seen.add(url)
                frontier.append(url)

        for url in seeds:
            add(url)
        window: deque[tuple[str, CachedResponse | None, Future | None]] = deque()
        workers = max(1, self.config.concurrency)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cqia-fetch") as pool:
            try:
                while frontier or window:
                    while frontier and sum(1 for _, _, f in window if f is not None) < workers * 2:
                        url = frontier.popleft()
                        hit = self._cached(url)
                        window.append((url, hit, None if hit else pool.submit(self._fetch_and_store, url)))
                    url, hit, future = window.popleft()
                    response = hit if hit is not None else future.result()
                    self._account(response, cached=hit is not None)
                    yield response
                    if expand is not None and response.ok:
                        for found in expand(response):
                            add(found)
            finally:
                for _, _, future in window:
                    if future is not None:
                        future.cancel()
                self.stats.seconds += time.monotonic() - started
                if self._fetcher is not None:
                    self.stats.retries = self._fetcher.retries
