"""The crawl GET retry policy, built on tenacity: which failures are retried, how long to wait.

Why here and not shared with curation's policies: `sources/` may import only `schemas`, so the
crawler configures tenacity itself (curation/retry.py does the same for LLM calls and Hub
commits). The shape is the same everywhere: a bounded number of attempts, the server's
Retry-After (capped) when it sends one, otherwise exponential backoff with jitter.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

# Worth another try: timeouts, throttling, server trouble. Everything else is the page's answer.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass
class RetryableStatus(Exception):
    """A response whose status says "try again later"; carries it so the last one can be kept."""

    response: httpx.Response


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryAfterOrBackoff:
    """tenacity wait: the server's Retry-After (capped) when it gave one, else jittered backoff."""

    def __init__(self, base: float, cap: float, max_retry_after: float) -> None:
        self.backoff = wait_exponential_jitter(multiplier=base, max=cap, jitter=base)
        self.max_retry_after = max_retry_after

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableStatus):
            seconds = parse_retry_after(error.response.headers.get("retry-after"))
            if seconds is not None:
                return min(seconds, self.max_retry_after)
        return self.backoff(state)


def crawl_retrying(*, max_retries: int, backoff_base: float, backoff_max: float, max_retry_after: float,
                   sleep: Callable[[float], None] = time.sleep,
                   before_sleep: Callable[[RetryCallState], None] | None = None) -> Retrying:
    """Policy for one crawl GET: timeouts, dropped connections and RETRY_STATUSES are retried."""
    return Retrying(
        stop=stop_after_attempt(max_retries + 1),
        retry=retry_if_exception_type((httpx.TransportError, RetryableStatus)),
        wait=RetryAfterOrBackoff(backoff_base, backoff_max, max_retry_after),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
