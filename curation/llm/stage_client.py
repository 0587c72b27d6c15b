"""The LLM access of a stage's tasks, wherever the executor runs them.

With the local executor the tasks run on the driver and share its one `LLMClient` (this
process's concurrency cap, rate limit and append-only cache), as before: on one machine the
provider's limit, not the ~2 ms of client CPU per request, bounds these stages (docs/scaling.md).

With the Ray executor (`prepare(executor)` sees it) the tasks run on the workers. What travels
with the stage is `ClientSettings` (URL, model, limits: no key) and the handle of the job's
limiter actor (llm/limiter.py). In a worker, `client(task)` builds a client that

- takes its API key from the worker node's own environment, `<env_prefix>_API_KEY` (the same
  variable the driver reads; the driver's value is never shipped: it would sit in the cluster's
  job configuration, object store and logs). A base URL holding credentials (`user:pass@`) is
  not shipped either: the worker then reads `<env_prefix>_BASE_URL` from its environment;
- acquires a lease from the shared limiter for every HTTP attempt (one rate, one cap per job);
- caches into immutable per-task segments in the run directory (llm/segments.py), reading the
  task's earlier segments and, read-only, the driver's cache file when it is visible there.

`sync()` (the runner calls it before every checkpoint and task marker) writes the current task's
pending answers, so a marker never records a call whose answer is not stored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from curation.llm.cache import ResponseCache
from curation.llm.client import LLMClient, LLMError
from curation.llm.limiter import RayLimiter, start_ray_limiter
from curation.llm.segments import SegmentCache, read_append_only, read_segments
from curation.pipeline.storage import AnyPath


@dataclass(frozen=True)
class ClientSettings:
    """Everything a worker needs to build the client, except the key (read on the worker)."""

    env_prefix: str
    base_url: str | None  # None: the driver's URL had credentials; workers read <prefix>_BASE_URL
    model: str
    concurrency: int
    max_retries: int
    timeout_s: float
    rate_limit_rps: float | None
    backoff_base_s: float

    @classmethod
    def of(cls, client: LLMClient, env_prefix: str) -> ClientSettings:
        shippable = "@" not in urlsplit(client.base_url).netloc
        return cls(env_prefix, client.base_url if shippable else None, client.model, client.concurrency,
                   client.max_retries, client.timeout_s, client.rate_limit_rps, client.backoff_base_s)


class StageLLM:
    """One stage's LLM client: the driver's (local executor) or one per task on Ray workers."""

    def __init__(self, driver_client: LLMClient, *, env_prefix: str, cache_dir: AnyPath, label: str) -> None:
        self.settings = ClientSettings.of(driver_client, env_prefix)
        self.cache_dir = cache_dir  # segments: <run>/_cache/<label>/<task>/...
        cache = driver_client.cache
        self.driver_cache = str(cache.path) if isinstance(cache, ResponseCache) else None
        self.label = label
        self.limiter: Any = None
        self._driver: LLMClient | None = driver_client
        self._driver_merged = False
        self._task_cache: SegmentCache | None = None
        self._base: dict[str, dict[str, Any]] | None = None

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def distributed(self) -> bool:
        return self.limiter is not None

    def prepare(self, executor: Any) -> None:
        """Before the tasks run: on Ray, start the job's limiter actor (tasks then run on workers)."""
        if executor.name == "ray" and self.limiter is None:
            self.limiter = start_ray_limiter(self.settings.rate_limit_rps, self.settings.concurrency,
                                             label=self.label)

    def client(self, task: int) -> LLMClient:
        """The client task `task` uses: the driver's, or a worker's own (key from this node)."""
        if not self.distributed:
            return self._driver_client()
        self.sync()
        if self._base is None:
            self._base = read_append_only(self.driver_cache)
        s = self.settings
        base_url = s.base_url or os.environ.get(f"{s.env_prefix}_BASE_URL")
        if not base_url:
            raise LLMError(f"this Ray worker has no {s.env_prefix}_BASE_URL (the driver's base URL holds "
                           "credentials and is not shipped): set it in the environment of `ray start`")
        self._task_cache = SegmentCache(self.cache_dir, task, base=self._base)
        return LLMClient(base_url, s.model, os.environ.get(f"{s.env_prefix}_API_KEY"), concurrency=s.concurrency,
                         max_retries=s.max_retries, timeout_s=s.timeout_s, backoff_base_s=s.backoff_base_s,
                         cache=self._task_cache, limiter=RayLimiter(self.limiter))

    def _driver_client(self) -> LLMClient:
        if self._driver is None:
            raise RuntimeError("the stage's driver client did not travel (it holds the key): "
                               "run the stage on the driver or prepare() it for Ray")
        cache = self._driver.cache
        if not self._driver_merged and isinstance(cache, ResponseCache):
            for row in read_segments(self.cache_dir):  # answers Ray workers stored in earlier runs
                cache.rows.setdefault(row["key"], row)
            self._driver_merged = True
        return self._driver

    def sync(self) -> None:
        """Store the current task's pending answers (the driver's cache is already on disk)."""
        if self._task_cache is not None:
            self._task_cache.flush()

    def __getstate__(self) -> dict[str, Any]:
        """What workers receive: settings, paths and the limiter handle; never the driver's client
        (it holds the API key and the open cache file)."""
        state = dict(self.__dict__)
        state.update(_driver=None, _task_cache=None, _base=None, _driver_merged=False)
        return state
