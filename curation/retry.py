"""Retry policies for curation's network calls (LLM calls, Hub operations), built on tenacity.

One shape for every kind of call: a bounded number of attempts; the server's Retry-After
(capped) when it sends one, otherwise exponential backoff with jitter; the caller names which
failures are transient. Each call site keeps what is special about it: the LLM client fails a
whole batch fast on a bad key, the Hub commit checks whether a "failed" commit landed before
trying again (never committed twice), Label Studio imports are never retried (never duplicated).

`sources/` and `annotation/` may import only `schemas`, so the crawler (sources/http/retry.py)
and the Label Studio client configure tenacity the same way themselves.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None when absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_after_of(error: BaseException | None) -> float | None:
    """The Retry-After an HTTP error's response carried (openai and huggingface_hub errors keep it)."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    return parse_retry_after(headers.get("retry-after")) if headers is not None else None


class RetryAfterOrBackoff:
    """tenacity wait: Retry-After (capped at `max_retry_after`) if given, else `base * 2**n + U(0, base)`."""

    def __init__(self, base: float, cap: float, max_retry_after: float) -> None:
        self.backoff = wait_exponential_jitter(multiplier=base, max=cap, jitter=base)
        self.max_retry_after = max_retry_after

    def __call__(self, state: RetryCallState) -> float:
        seconds = retry_after_of(state.outcome.exception() if state.outcome else None)
        return min(seconds, self.max_retry_after) if seconds is not None else self.backoff(state)


def _policy(max_retries: int, transient: Callable[[BaseException], bool], base: float, cap: float,
            max_retry_after: float, before_sleep: Callable[[RetryCallState], Any] | None) -> dict[str, Any]:
    return {
        "stop": stop_after_attempt(max_retries + 1),
        "retry": retry_if_exception(transient),
        "wait": RetryAfterOrBackoff(base, cap, max_retry_after),
        "before_sleep": before_sleep,
        "reraise": True,
    }


def llm_retrying(max_retries: int, transient: Callable[[BaseException], bool], *, base: float = 0.5,
                 before_sleep: Callable[[RetryCallState], Awaitable[None] | None] | None = None) -> AsyncRetrying:
    """One chat call: transient = timeouts, dropped connections, 408/409/425/429/5xx, a garbled 200."""
    return AsyncRetrying(**_policy(max_retries, transient, base, 60.0, 120.0, before_sleep))


def hub_retrying(max_retries: int, transient: Callable[[BaseException], bool], *, base: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep,
                 before_sleep: Callable[[RetryCallState], None] | None = None) -> Retrying:
    """One Hub API call (repo info, listing, tag, commit attempt): 429/5xx and network errors."""
    return Retrying(sleep=sleep, **_policy(max_retries, transient, base, 60.0, 60.0, before_sleep))
