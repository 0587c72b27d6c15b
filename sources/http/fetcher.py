"""A polite HTTP fetcher: robots.txt, per-host rate limit, retries with backoff + Retry-After.

User-supplied cookies and headers are sent but never logged, stored in the cache, or shown in
`repr`/errors: only URL, status and timing ever reach a log line.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from sources.http.cache import CachedResponse

log = logging.getLogger("cqia.crawl")

DEFAULT_USER_AGENT = "cqia-crawler/0.1 (+https://github.com/cqia/cqia; research data collection)"
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass
class FetchConfig:
    """Crawl politeness and robustness knobs (secrets are excluded from repr)."""

    user_agent: str = DEFAULT_USER_AGENT
    rate_per_host: float = 1.0  # requests per second per host; 0 turns the limit off
    max_retries: int = 4
    backoff_base: float = 0.5  # seconds; delay = base * 2**attempt + uniform(0, base)
    backoff_max: float = 30.0
    max_retry_after: float = 120.0  # cap on a server's Retry-After
    timeout: float = 20.0
    respect_robots: bool = True
    concurrency: int = 4
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    cookies: dict[str, str] = field(default_factory=dict, repr=False)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt: int, config: FetchConfig, retry_after: float | None = None) -> float:
    """Delay before retry `attempt` (0-based): the server's Retry-After wins when it gives one."""
    if retry_after is not None:
        return min(retry_after, config.max_retry_after)
    base = config.backoff_base
    return min(config.backoff_max, base * (2**attempt)) + random.uniform(0, base)


class HostRateLimiter:
    """Reserves per-host time slots so concurrent workers never exceed the host's rate."""

    def __init__(self, rate_per_host: float) -> None:
        self.interval = 1.0 / rate_per_host if rate_per_host > 0 else 0.0
        self._next: dict[str, float] = {}
        self._extra: dict[str, float] = {}
        self._lock = threading.Lock()

    def set_min_interval(self, host: str, seconds: float) -> None:
        with self._lock:
            self._extra[host] = seconds

    def wait(self, host: str) -> None:
        with self._lock:
            interval = max(self.interval, self._extra.get(host, 0.0))
            if interval <= 0:
                return
            now = time.monotonic()
            slot = max(now, self._next.get(host, 0.0))
            self._next[host] = slot + interval
        if slot > now:
            time.sleep(slot - now)


class RobotsPolicy:
    """robots.txt per origin, fetched once; 4xx → allow all, 5xx/unreachable → disallow all."""

    def __init__(self, client: httpx.Client, user_agent: str, limiter: HostRateLimiter) -> None:
        self.client, self.user_agent, self.limiter = client, user_agent, limiter
        self._parsers: dict[str, RobotFileParser] = {}
        self._lock = threading.Lock()

    def _load(self, origin: str, host: str) -> RobotFileParser:
        parser = RobotFileParser()
        try:
            response = self.client.get(f"{origin}/robots.txt")
            status = response.status_code
            if 200 <= status < 300:
                parser.parse(response.text.splitlines())
            elif 400 <= status < 500:
                parser.allow_all = True
            else:
                parser.disallow_all = True
        except httpx.HTTPError as exc:
            log.warning("robots.txt for %s unreachable (%s); treating host as disallowed", origin, type(exc).__name__)
            parser.disallow_all = True
        delay = parser.crawl_delay(self.user_agent)
        if delay:
            self.limiter.set_min_interval(host, float(delay))
        return parser

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            parser = self._parsers.get(origin)
            if parser is None:
                parser = self._parsers[origin] = self._load(origin, parts.netloc)
        return parser.can_fetch(self.user_agent, url)


class Fetcher:
    """GET with politeness and retries; returns a `CachedResponse` (never raises on HTTP trouble)."""

    def __init__(self, config: FetchConfig | None = None, *, sleep=time.sleep) -> None:
        self.config = config or FetchConfig()
        self._sleep = sleep
        headers = {"User-Agent": self.config.user_agent, **self.config.headers}
        self.client = httpx.Client(
            headers=headers,
            cookies=self.config.cookies,
            timeout=self.config.timeout,
            follow_redirects=True,
            limits=httpx.Limits(max_connections=max(4, self.config.concurrency * 2)),
        )
        self.limiter = HostRateLimiter(self.config.rate_per_host)
        self.robots = RobotsPolicy(self.client, self.config.user_agent, self.limiter)
        self.retries = 0
        self._stats_lock = threading.Lock()

    def __repr__(self) -> str:  # never show headers/cookies
        return f"Fetcher(user_agent={self.config.user_agent!r}, rate_per_host={self.config.rate_per_host})"

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str) -> CachedResponse:
        """Fetch `url` politely; the result carries the final status or the last error."""
        if self.config.respect_robots and not self.robots.allowed(url):
            return CachedResponse(url=url, status=0, fetched_at=now_iso(), error="robots_disallowed", attempts=0)
        host = urlsplit(url).netloc
        last_status, last_error, headers = 0, None, {}
        for attempt in range(self.config.max_retries + 1):
            self.limiter.wait(host)
            retry_after = None
            try:
                response = self.client.get(url)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last_status, last_error = 0, f"{type(exc).__name__}"
                log.info("fetch %s failed: %s (attempt %d)", url, last_error, attempt + 1)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:  # redirect loop, bad URL: a retry cannot help
                log.info("fetch %s failed: %s (not retried)", url, type(exc).__name__)
                return CachedResponse(url=url, status=0, fetched_at=now_iso(), error=type(exc).__name__,
                                      attempts=attempt + 1)
            else:
                last_status, last_error = response.status_code, None
                headers = {k.lower(): v for k, v in response.headers.items()}
                if response.status_code not in RETRY_STATUSES:
                    return CachedResponse(
                        url=url, final_url=str(response.url), status=response.status_code,
                        fetched_at=now_iso(), headers=headers, body=response.content, attempts=attempt + 1,
                    )
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                log.info("fetch %s: HTTP %d (attempt %d)", url, response.status_code, attempt + 1)
            if attempt == self.config.max_retries:
                break
            with self._stats_lock:
                self.retries += 1
            self._sleep(backoff_delay(attempt, self.config, retry_after))
        error = last_error or f"http_{last_status}"
        return CachedResponse(url=url, status=last_status, fetched_at=now_iso(), headers=headers,
                              error=f"gave up after {self.config.max_retries + 1} attempts: {error}",
                              attempts=self.config.max_retries + 1)
