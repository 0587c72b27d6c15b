"""A polite HTTP fetcher: robots.txt (protego), per-host rate limit, retries (sources/http/retry.py).

User-supplied cookies and headers are sent but never logged, stored in the cache, or shown in
`repr`/errors: only the URL (without credentials, see schemas.redact), status and timing ever
reach a log line.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from protego import Protego
from tenacity import RetryCallState

from schemas.redact import redact_url
from sources.http.cache import CachedResponse
from sources.http.retry import RETRY_STATUSES, RetryableStatus, crawl_retrying

log = logging.getLogger("cqia.crawl")

DEFAULT_USER_AGENT = "cqia-crawler/0.1 (+https://github.com/cqia/cqia; research data collection)"


@dataclass
class FetchConfig:
    """Crawl politeness and robustness knobs (secrets are excluded from repr)."""

    user_agent: str = DEFAULT_USER_AGENT
    rate_per_host: float = 1.0  # requests per second per host; 0 turns the limit off
    max_retries: int = 4
    backoff_base: float = 0.5  # seconds; delay = base * 2**retry + uniform(0, base), capped
    backoff_max: float = 30.0
    max_retry_after: float = 120.0  # cap on a server's Retry-After
    timeout: float = 20.0
    respect_robots: bool = True
    concurrency: int = 4
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    cookies: dict[str, str] = field(default_factory=dict, repr=False)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    """robots.txt per origin, fetched once and read by protego (Scrapy's parser), which knows the
    wildcard (`*`, `$`) and longest-match rules urllib.robotparser gets wrong; 4xx → allow all,
    5xx/unreachable → disallow all."""

    def __init__(self, client: httpx.Client, user_agent: str, limiter: HostRateLimiter) -> None:
        self.client, self.user_agent, self.limiter = client, user_agent, limiter
        self._rules: dict[str, Protego | bool] = {}
        self._lock = threading.Lock()

    def _load(self, origin: str, host: str) -> Protego | bool:
        try:
            response = self.client.get(f"{origin}/robots.txt")
        except httpx.HTTPError as exc:
            log.warning("robots.txt for %s unreachable (%s); treating host as disallowed",
                        redact_url(origin), type(exc).__name__)
            return False
        status = response.status_code
        if 400 <= status < 500:
            return True
        if not 200 <= status < 300:
            return False
        rules = Protego.parse(response.text)
        delay = rules.crawl_delay(self.user_agent)
        if delay:
            self.limiter.set_min_interval(host, float(delay))
        return rules

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            rules = self._rules.get(origin)
            if rules is None:
                rules = self._rules[origin] = self._load(origin, parts.netloc)
        return rules if isinstance(rules, bool) else rules.can_fetch(url, self.user_agent)


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

    def _note_retry(self, state: RetryCallState) -> None:
        with self._stats_lock:
            self.retries += 1
        error = state.outcome.exception() if state.outcome else None
        what = f"HTTP {error.response.status_code}" if isinstance(error, RetryableStatus) else type(error).__name__
        log.info("fetch %s: %s (attempt %d), retrying", redact_url(state.args[0]), what, state.attempt_number)

    def _get_once(self, url: str) -> httpx.Response:
        self.limiter.wait(urlsplit(url).netloc)
        response = self.client.get(url)
        if response.status_code in RETRY_STATUSES:
            raise RetryableStatus(response)
        return response

    def fetch(self, url: str) -> CachedResponse:
        """Fetch `url` politely; the result carries the final status or the last error.

        The URL is kept as given (it is the cache key and what discovery resolves against);
        `final_url` is stored without credentials (see schemas.redact).
        """
        if self.config.respect_robots and not self.robots.allowed(url):
            return CachedResponse(url=url, status=0, fetched_at=now_iso(), error="robots_disallowed", attempts=0)
        c = self.config
        retrying = crawl_retrying(max_retries=c.max_retries, backoff_base=c.backoff_base, backoff_max=c.backoff_max,
                                  max_retry_after=c.max_retry_after, sleep=self._sleep, before_sleep=self._note_retry)
        try:
            response = retrying(self._get_once, url)
        except RetryableStatus as exc:  # retries used up on a 429/5xx: keep the last answer's status
            response = exc.response
            return CachedResponse(url=url, status=response.status_code, fetched_at=now_iso(),
                                  headers={k.lower(): v for k, v in response.headers.items()},
                                  error=f"gave up after {c.max_retries + 1} attempts: http_{response.status_code}",
                                  attempts=c.max_retries + 1)
        except httpx.TransportError as exc:  # timeouts, refused or dropped connections
            log.info("fetch %s failed: %s (gave up)", redact_url(url), type(exc).__name__)
            return CachedResponse(url=url, status=0, fetched_at=now_iso(),
                                  error=f"gave up after {c.max_retries + 1} attempts: {type(exc).__name__}",
                                  attempts=c.max_retries + 1)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # redirect loop, bad URL: a retry cannot help
            log.info("fetch %s failed: %s (not retried)", redact_url(url), type(exc).__name__)
            return CachedResponse(url=url, status=0, fetched_at=now_iso(), error=type(exc).__name__,
                                  attempts=retrying.statistics.get("attempt_number", 1))
        return CachedResponse(
            url=url, final_url=redact_url(str(response.url)), status=response.status_code, fetched_at=now_iso(),
            headers={k.lower(): v for k, v in response.headers.items()}, body=response.content,
            attempts=retrying.statistics.get("attempt_number", 1),
        )
