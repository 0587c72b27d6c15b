"""Executors: where a stage's independent tasks run. The stage code is the same for all of them.

- `LocalExecutor` (the default): a pool of forked processes on this machine (or the calling
  process itself for one worker / one task). Forking hands the workers the stage as it is in
  memory, so nothing has to be picklable.
- `RayExecutor`: Ray tasks on a local Ray instance or a cluster (`address`). The stage is
  serialised once (cloudpickle) into Ray's object store and each worker process keeps it; our
  packages travel with the job (`runtime_env.py_modules`) so every node runs the driver's code.
  A task whose worker process dies is re-run by Ray (`max_retries`), which is safe because a
  task rewrites its own files and writes its completion marker last.

Both expose one operation, `map_unordered(fn, shared, items)`: call `fn(shared, item)` for every
item and yield the results as they finish. `fn` must be a module-level function.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol, TypeVar

from curation.pipeline.children import die_with_parent

log = logging.getLogger(__name__)

S = TypeVar("S")
I = TypeVar("I")  # noqa: E741
R = TypeVar("R")

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    name: str

    @property
    def workers(self) -> int: ...

    def map_unordered(self, fn: Callable[[S, I], R], shared: S, items: Sequence[I]) -> Iterator[R]: ...

    def close(self) -> None: ...


# ---- local ---------------------------------------------------------------------------------------
_FORKED: tuple[Callable[[Any, Any], Any], Any] | None = None


def _call_forked(item: Any) -> Any:
    assert _FORKED is not None, "worker was not forked from a LocalExecutor"
    fn, shared = _FORKED
    return fn(shared, item)


class LocalExecutor:
    """Forked worker processes on this machine; `workers <= 1` runs in the calling process."""

    name = "local"

    def __init__(self, workers: int = 0, *, max_retries: int = 2) -> None:
        self._workers = workers if workers > 0 else (os.cpu_count() or 1)
        self.max_retries = max_retries
        if "fork" not in mp.get_all_start_methods():  # pragma: no cover - Linux/macOS have fork
            self._workers = 1

    @property
    def workers(self) -> int:
        return self._workers

    def map_unordered(self, fn: Callable[[S, I], R], shared: S, items: Sequence[I]) -> Iterator[R]:
        items = list(items)
        if self._workers <= 1 or len(items) <= 1:
            for item in items:
                yield fn(shared, item)
            return
        global _FORKED
        todo = list(items)
        attempt = 0
        while todo:
            _FORKED = (fn, shared)
            try:
                # a worker ends with this process, even on SIGKILL (curation.pipeline.children)
                pool = ProcessPoolExecutor(min(self._workers, len(todo)), mp_context=mp.get_context("fork"),
                                           initializer=die_with_parent, initargs=(os.getpid(),))
                futures = {pool.submit(_call_forked, item): item for item in todo}
            finally:
                _FORKED = None  # the children have their copy; the parent keeps no reference
            broken = False
            try:
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        try:
                            result = future.result()
                        except BrokenProcessPool:
                            broken = True
                            continue
                        todo.remove(futures[future])
                        yield result
            finally:
                pool.shutdown(wait=not broken, cancel_futures=True)
            if todo:
                attempt += 1
                if attempt > self.max_retries:
                    raise RuntimeError(f"{len(todo)} task(s) failed: a worker process died {attempt} times "
                                       "(out of memory?); re-running the command resumes")
                log.warning("a worker process died; re-running %d unfinished task(s)", len(todo))

    def close(self) -> None:
        pass


# ---- Ray -----------------------------------------------------------------------------------------
_RAY_SHARED: dict[str, Any] = {}


def _ray_call(shared_box: list[Any], item: Any, fn: Callable[[Any, Any], Any]) -> Any:
    """Runs in a Ray worker: fetch the shared payload once per worker process, then call fn."""
    import ray

    ref = shared_box[0]
    key = ref.hex()
    if key not in _RAY_SHARED:
        _RAY_SHARED.clear()  # one stage at a time per worker: do not pile up old stages
        _RAY_SHARED[key] = ray.get(ref)
    return fn(_RAY_SHARED[key], item)


def package_dirs() -> list[str]:
    """Our top-level packages, shipped to every Ray worker so they run the driver's code."""
    root = Path(__file__).resolve().parents[2]
    return [str(root / name) for name in ("schemas", "sources", "curation") if (root / name).is_dir()]


class RayExecutor:
    """Ray tasks, one CPU each; `address` None starts a local Ray instance in this process."""

    name = "ray"

    def __init__(self, address: str | None = None, *, workers: int = 0, max_retries: int = 3,
                 ship_code: bool = True) -> None:
        try:
            import ray
        except ImportError as exc:
            raise RuntimeError("--executor ray needs Ray: pip install 'cqia[ray]'") from exc
        self._ray = ray
        self.max_retries = max_retries
        self._owns = False
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            runtime_env: dict[str, Any] = {}
            if ship_code:
                runtime_env["py_modules"] = package_dirs()
                runtime_env["excludes"] = ["__pycache__", "*.pyc"]
            kwargs: dict[str, Any] = {"address": address, "runtime_env": runtime_env or None,
                                      "log_to_driver": False, "configure_logging": False}
            if address is None:
                kwargs.update(num_cpus=workers or None, include_dashboard=False)
            ray.init(**kwargs)
            self._owns = True
        self.refresh()

    def refresh(self) -> None:
        """Re-read the cluster's CPU count (nodes may join after connecting)."""
        self._workers = int(self._ray.cluster_resources().get("CPU", 1))

    @property
    def workers(self) -> int:
        return self._workers

    def map_unordered(self, fn: Callable[[S, I], R], shared: S, items: Sequence[I]) -> Iterator[R]:
        ray = self._ray
        items = list(items)
        if not items:
            return
        remote = ray.remote(num_cpus=1, max_retries=self.max_retries)(_ray_call)
        box = [ray.put(shared)]
        pending = [remote.remote(box, item, fn) for item in items]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
            self._owns = False


def make_executor(name: str = "local", *, address: str | None = None, workers: int = 0) -> Executor:
    """The executor a CLI option names: `local` (process pool) or `ray` (local Ray or `address`)."""
    if name == "local":
        if address:
            raise ValueError("--ray-address needs --executor ray")
        return LocalExecutor(workers)
    if name == "ray":
        return RayExecutor(address, workers=workers)
    raise ValueError(f"unknown executor {name!r}: use one of {', '.join(EXECUTORS)}")
