"""One rate limit and one concurrency cap for every process that calls a model in a command.

Why: a provider's limits (requests per second, requests in flight) hold for the whole job, not per
process. When a stage's LLM calls run in many Ray workers, each worker's client asks one shared
`Limiter` — a Ray actor — before every HTTP attempt, and gives the slot back after it.

- Rate: request starts are spaced at least 1/rps apart across all workers (a token bucket of
  depth one, like the single-process client's limiter); retries take a token too.
- Concurrency: at most `concurrency` attempts hold a lease at once. A lease lives `ttl_s`
  (a few seconds) and its holder renews it while the request runs, so the slots of a worker
  that was killed mid-request come back within `ttl_s` instead of shrinking the cap for good.

`Limiter` is plain asyncio (tested in-process); `start_ray_limiter` runs it as an async Ray actor
(no CPU reserved), owned by the driver's job: it ends with the job, nothing is left behind on
the cluster. `RayLimiter` is the workers' side: an awaitable acquire/release over the handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

LEASE_TTL_S = 6.0


class Limiter:
    """Token spacing plus a leased concurrency cap, for many concurrent `acquire` callers."""

    def __init__(self, rps: float | None, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.interval = 1.0 / rps if rps else 0.0
        self.concurrency = concurrency
        self.next_t = 0.0
        self.leases: dict[int, float] = {}  # lease id -> expiry (monotonic)
        self._ids = itertools.count(1)
        self._cond: asyncio.Condition | None = None  # made in the loop that serves the calls
        self.granted = 0
        self.expired = 0
        self.max_held = 0
        self._cpu0: float | None = None  # process CPU at the first request (after start-up)

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    def _expire(self, now: float) -> float | None:
        """Drop leases past their expiry; return the next expiry (None when no lease is held)."""
        for lease, expiry in list(self.leases.items()):
            if expiry <= now:
                del self.leases[lease]
                self.expired += 1
        return min(self.leases.values(), default=None)

    async def acquire(self, ttl_s: float = LEASE_TTL_S) -> int:
        """Wait for a free slot and for this request's turn under the rate; returns the lease."""
        if self._cpu0 is None:
            self._cpu0 = time.process_time()
        cond = self._condition()
        async with cond:
            while True:
                now = time.monotonic()
                next_expiry = self._expire(now)
                if len(self.leases) < self.concurrency:
                    break
                timeout = max(0.01, next_expiry - now) if next_expiry is not None else None
                try:
                    await asyncio.wait_for(cond.wait(), timeout)
                except TimeoutError:
                    pass
            lease = next(self._ids)
            start = max(now, self.next_t)
            self.next_t = start + self.interval
            self.leases[lease] = start + ttl_s
            self.granted += 1
            self.max_held = max(self.max_held, len(self.leases))
        if start > now:
            await asyncio.sleep(start - now)
        return lease

    async def renew(self, lease: int, ttl_s: float = LEASE_TTL_S) -> bool:
        """Extend a held lease (False when it had already expired: the slot went to another)."""
        if lease not in self.leases:
            return False
        self.leases[lease] = max(self.leases[lease], time.monotonic() + ttl_s)
        return True

    async def release(self, lease: int) -> None:
        cond = self._condition()
        async with cond:
            self.leases.pop(lease, None)
            cond.notify()

    async def stats(self) -> dict[str, Any]:
        return {"granted": self.granted, "held": len(self.leases), "max_held": self.max_held,
                "expired": self.expired, "concurrency": self.concurrency,
                "rps": 1.0 / self.interval if self.interval else None,
                "cpu_s": time.process_time() - self._cpu0 if self._cpu0 is not None else 0.0}


def start_ray_limiter(rps: float | None, concurrency: int, *, label: str = "llm") -> Any:
    """A `Limiter` actor for this job (needs `ray.init` done): name `cqia-limiter-<label>-<id>`
    so `ray list actors` shows what it is; it lives as long as the driver's job."""
    import ray

    actor = ray.remote(num_cpus=0, max_concurrency=1000)(Limiter)
    name = f"cqia-limiter-{label}-{uuid.uuid4().hex[:8]}"
    return actor.options(name=name).remote(rps, concurrency)


class RayLimiter:
    """The client's view of a limiter actor: `async with limiter.slot(): <one HTTP attempt>`.
    Only the handle travels (pickled with the stage); no key, no state of the caller."""

    def __init__(self, handle: Any, ttl_s: float = LEASE_TTL_S) -> None:
        self.handle = handle
        self.ttl_s = ttl_s

    async def _call(self, method: str, *args: Any) -> Any:
        return await asyncio.wrap_future(getattr(self.handle, method).remote(*args).future())

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[int]:
        """Hold one lease for the body, renewing it every ttl/3; released on exit."""
        lease = await self._call("acquire", self.ttl_s)

        async def keep_alive() -> None:
            while True:
                await asyncio.sleep(self.ttl_s / 3)
                await self._call("renew", lease, self.ttl_s)

        keeper = asyncio.create_task(keep_alive())
        try:
            yield lease
        finally:
            keeper.cancel()
            await self._call("release", lease)
