"""The job-wide limiter's logic, in one asyncio loop (its Ray actor form is tested with real Ray
workers in tests/curation/stages/test_quality_ray.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from curation.llm.limiter import Limiter


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run in a thread of its own, as the client runs its loop: the session's Playwright
    browser (sync API) leaves an event loop running in the main thread for the rest of the suite."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_rate_and_cap_hold_for_many_callers() -> None:
    limiter = Limiter(rps=40, concurrency=3)
    starts: list[float] = []
    held = 0
    most = 0

    async def call() -> None:
        nonlocal held, most
        lease = await limiter.acquire(5.0)
        starts.append(time.monotonic())
        held += 1
        most = max(most, held)
        await asyncio.sleep(0.1)  # a request slower than the rate: the cap binds
        held -= 1
        await limiter.release(lease)

    async def main() -> None:
        await asyncio.gather(*(call() for _ in range(24)))

    began = time.monotonic()
    run(main())
    starts.sort()
    assert most == 3  # reached, never passed
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 1 / 40 - 0.005
    # 24 requests of 0.1 s, 3 at a time: at least 8 rounds
    assert time.monotonic() - began >= 0.75
    assert run(limiter.stats())["granted"] == 24


def test_a_lease_whose_holder_vanished_expires() -> None:
    limiter = Limiter(rps=None, concurrency=1)

    async def main() -> float:
        await limiter.acquire(0.3)  # never released nor renewed: its holder was killed
        t0 = time.monotonic()
        lease = await limiter.acquire(0.3)
        waited = time.monotonic() - t0
        assert await limiter.renew(lease, 5.0)
        await limiter.release(lease)
        assert not await limiter.renew(lease, 5.0)
        return waited

    waited = run(main())
    assert 0.2 <= waited < 2.0
    assert limiter.expired == 1


def test_a_renewed_lease_is_kept() -> None:
    limiter = Limiter(rps=None, concurrency=1)

    async def main() -> bool:
        lease = await limiter.acquire(0.2)
        for _ in range(4):
            await asyncio.sleep(0.1)
            await limiter.renew(lease, 0.2)
        try:
            await asyncio.wait_for(limiter.acquire(0.2), 0.1)
        except TimeoutError:
            return True
        return False

    assert run(main())  # still held after 0.4 s > ttl: the second caller waits
