"""One client for every OpenAI-compatible chat endpoint the project talks to.

Why one client: probes, judges, mutators and curation scorers all need the same things — bounded
concurrency, rate limits, retries that honour Retry-After, timeouts, and an append-only cache so a
killed run resumes without paying twice. `chat_many` is a plain sync iterator (asyncio runs in a
background thread) that yields results in input order.

The transport (HTTP, auth headers, error parsing) is the `openai` SDK with its own retries off
(`max_retries=0`): the one retry policy is curation/retry.py's `llm_retrying`. The API key and any
credentials in the base URL never reach a message, a log line, a repr or the cache
(schemas.redact).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
import orjson

from curation.llm.cache import ResponseCache
from curation.retry import llm_retrying
from schemas.redact import redact_text, redact_url

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})


@dataclass
class ChatRequest:
    key: str  # stable cache/resume key
    messages: list[dict]
    params: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)  # stored with the cached answer (e.g. probe id, target)


@dataclass
class ChatResult:
    key: str
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cached: bool
    raw: dict
    attempts: int = 1


@dataclass
class ChatError:
    key: str
    error: str
    status: int | None
    attempts: int


class LLMError(RuntimeError):
    """A chat call failed for good (message names the URL/model/key problem, never the key)."""


class _Fatal(Exception):
    """An error that will repeat for every request (bad key, wrong URL, unknown model)."""


class _Malformed(Exception):
    """A 200 whose body is not a chat completion (a proxy's error page, a truncated body)."""


def _transient(error: BaseException) -> bool:
    if isinstance(error, openai.APIStatusError):
        return error.status_code in RETRY_STATUSES
    return isinstance(error, openai.APIConnectionError | _Malformed)  # timeouts are connection errors too


def _is_connect_error(error: BaseException) -> bool:
    """The server could not be reached at all (as opposed to a timeout or a dropped connection)."""
    cause = error.__cause__
    return cause is not None and any(k.__name__ == "ConnectError" for k in type(cause).__mro__)


def request_key(model: str, messages: list[dict], params: dict) -> str:
    """Content hash used when the caller gives no key."""
    blob = orjson.dumps({"model": model, "messages": messages, "params": params}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(blob).hexdigest()[:32]


class _RateLimiter:
    """Spaces request starts at >= 1/rps seconds (applies to retries too)."""

    def __init__(self, rps: float | None) -> None:
        self.interval = 1.0 / rps if rps else 0.0
        self.next_t = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self.lock:
            now = time.monotonic()
            start = max(now, self.next_t)
            self.next_t = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


@contextlib.asynccontextmanager
async def _local_turn(limiter: _RateLimiter) -> AsyncIterator[None]:
    await limiter.wait()
    yield


_DONE = object()


class LLMClient:
    """OpenAI-compatible `/chat/completions` client with cache, retries and bounded concurrency."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        concurrency: int = 8,
        max_retries: int = 5,
        timeout_s: float = 60.0,
        rate_limit_rps: float | None = None,
        cache_path: Path | None = None,
        backoff_base_s: float = 0.5,
        cache: Any = None,
        limiter: Any = None,
    ) -> None:
        """`cache`: a ready cache object (get/append, e.g. llm.segments.SegmentCache) instead of
        `cache_path`. `limiter`: a shared limiter (llm.limiter.RayLimiter) whose `slot()` every
        HTTP attempt holds, in place of this process's own rate limit: the cap and rate then
        hold across all the processes that share it (`concurrency` still bounds this process)."""
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise LLMError(f"base URL must start with http:// or https://, got {redact_url(base_url or '')!r}")
        if not model:
            raise LLMError("no model name given")
        if concurrency < 1:
            raise LLMError("concurrency must be >= 1")
        self.base_url = base_url.rstrip("/")
        self.endpoint = redact_url(self.base_url)  # what messages, logs and the cache may show
        self.model = model
        self._api_key = api_key or None
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.rate_limit_rps = rate_limit_rps
        self.backoff_base_s = backoff_base_s
        self.cache = cache if cache is not None else (ResponseCache(Path(cache_path)) if cache_path else None)
        self.limiter = limiter
        self.stats = {"sent": 0, "retries": 0, "cached": 0, "errors": 0, "prompt_tokens": 0, "completion_tokens": 0}

    def __repr__(self) -> str:  # never show the key
        key = "set" if self._api_key else "none"
        return f"LLMClient(base_url={self.endpoint!r}, model={self.model!r}, api_key={key})"

    @classmethod
    def from_env(cls, prefix: str = "CQIA_LLM", **overrides: Any) -> LLMClient:
        """Build from `<PREFIX>_BASE_URL`, `<PREFIX>_MODEL`, `<PREFIX>_API_KEY`; kwargs win."""
        base_url = overrides.pop("base_url", None) or os.environ.get(f"{prefix}_BASE_URL")
        model = overrides.pop("model", None) or os.environ.get(f"{prefix}_MODEL")
        api_key = overrides.pop("api_key", None) or os.environ.get(f"{prefix}_API_KEY")
        if not base_url:
            raise LLMError(f"no endpoint: set {prefix}_BASE_URL (e.g. http://127.0.0.1:8000/v1) or pass base_url")
        if not model:
            raise LLMError(f"no model: set {prefix}_MODEL or pass model")
        return cls(base_url, model, api_key, **overrides)

    # ---------------------------------------------------------------- public API

    def chat(self, messages: list[dict], *, key: str | None = None, **params: Any) -> ChatResult:
        """One call; raises LLMError on failure."""
        req = ChatRequest(key or request_key(params.get("model", self.model), messages, params), messages, params)
        (out,) = list(self.chat_many([req], progress=False))
        if isinstance(out, ChatError):
            raise LLMError(out.error)
        return out

    def chat_many(self, requests: Iterable[ChatRequest], *, progress: bool = True) -> Iterator[ChatResult | ChatError]:
        """Send requests with bounded concurrency; yield one result per request, in input order."""
        total = len(requests) if hasattr(requests, "__len__") else None  # type: ignore[arg-type]
        out_q: queue.Queue = queue.Queue()
        state: dict[str, Any] = {}
        stop = threading.Event()
        thread = threading.Thread(
            target=self._thread_main, args=(iter(requests), out_q, stop, state), name="llm-client", daemon=True
        )
        thread.start()
        bar = _Progress(total, self.model) if progress else None
        buffer: dict[int, ChatResult | ChatError] = {}
        next_idx = 0
        try:
            while True:
                item = out_q.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                idx, res = item
                buffer[idx] = res
                while next_idx in buffer:
                    res = buffer.pop(next_idx)
                    next_idx += 1
                    if bar:
                        bar.advance(res)
                    yield res
        finally:
            stop.set()
            loop = state.get("loop")
            task = state.get("task")
            if loop is not None and task is not None and thread.is_alive():
                try:
                    loop.call_soon_threadsafe(task.cancel)
                except RuntimeError:
                    pass
            thread.join(timeout=30)
            if bar:
                bar.close()

    # ---------------------------------------------------------------- internals

    def _thread_main(self, it: Iterator[ChatRequest], out_q: queue.Queue, stop: threading.Event, state: dict) -> None:
        try:
            asyncio.run(self._produce(it, out_q, stop, state))
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # surface in the consumer thread
            out_q.put(exc)
        finally:
            out_q.put(_DONE)

    async def _produce(self, it: Iterator[ChatRequest], out_q: queue.Queue, stop: threading.Event, state: dict) -> None:
        state["loop"] = asyncio.get_running_loop()
        state["task"] = asyncio.current_task()
        sem = asyncio.Semaphore(self.concurrency)
        limiter = _RateLimiter(self.rate_limit_rps)
        inflight: dict[str, asyncio.Task] = {}
        fatal: dict[str, ChatError] = {}
        tasks: set[asyncio.Task] = set()
        async with self._sdk() as http:
            for idx, req in enumerate(it):
                if stop.is_set():
                    break
                if not isinstance(req, ChatRequest):
                    raise TypeError(f"chat_many expects ChatRequest items, got {type(req).__name__} at index {idx}")
                row = self.cache.get(req.key) if self.cache else None
                if row is not None:
                    self.stats["cached"] += 1
                    out_q.put((idx, self._from_row(row)))
                    continue
                if fatal:
                    err = next(iter(fatal.values()))
                    out_q.put((idx, ChatError(req.key, err.error, err.status, 0)))
                    continue
                if req.key in inflight:  # same key twice in one batch: send once
                    task = asyncio.create_task(self._await_twin(inflight[req.key], req, idx, out_q))
                else:
                    await sem.acquire()
                    if fatal:
                        sem.release()
                        err = next(iter(fatal.values()))
                        out_q.put((idx, ChatError(req.key, err.error, err.status, 0)))
                        continue
                    task = asyncio.create_task(self._one(http, limiter, sem, req, idx, out_q, fatal))
                    inflight[req.key] = task
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*list(tasks))

    async def _await_twin(self, twin: asyncio.Task, req: ChatRequest, idx: int, out_q: queue.Queue) -> None:
        res = await twin
        if isinstance(res, ChatResult):
            res = ChatResult(**{**res.__dict__, "cached": True})
        out_q.put((idx, res))

    async def _one(self, http, limiter, sem, req: ChatRequest, idx: int, out_q: queue.Queue, fatal: dict):
        try:
            res = await self._send(http, limiter, req)
        except _Fatal as exc:
            res = exc.args[0]
            fatal.setdefault("err", res)
        finally:
            sem.release()
        if isinstance(res, ChatResult) and self.cache is not None:
            self.cache.append(self._to_row(req, res))
        if isinstance(res, ChatError):
            self.stats["errors"] += 1
        out_q.put((idx, res))
        return res

    def _sdk(self) -> openai.AsyncOpenAI:
        """The transport: the SDK's own retries off, connections bounded by our concurrency."""
        import httpx2  # the SDK's HTTP library

        limits = httpx2.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        timeout = openai.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s))
        return openai.AsyncOpenAI(
            base_url=self._transport_url(), api_key=self._api_key or "no-key", max_retries=0, timeout=timeout,
            http_client=openai.DefaultAsyncHttpxClient(limits=limits, timeout=timeout),
        )

    def _transport_url(self) -> str:
        """With an API key, `user:pass@` in the base URL is dropped: the HTTP library would turn it
        into `Authorization: Basic …`, replacing the Bearer key (every call then fails with 401).
        Without a key, userinfo stays: it is the only credential given (a proxy's Basic auth)."""
        parts = urlsplit(self.base_url)
        if not self._api_key or "@" not in parts.netloc:
            return self.base_url
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))

    def _scrub(self, text: str) -> str:
        return redact_text(text, [self._api_key])

    async def _count_retry(self, state: Any) -> None:
        self.stats["retries"] += 1

    async def _send(self, sdk: openai.AsyncOpenAI, limiter: _RateLimiter, req: ChatRequest) -> ChatResult | ChatError:
        params = dict(req.params)
        model = params.pop("model", self.model)
        url = f"{self.endpoint}/chat/completions"
        # No key: send no Authorization header at all (the SDK would insist on one).
        headers = None if self._api_key else {"Authorization": openai.omit}
        attempts = 0

        async def attempt() -> ChatResult:
            nonlocal attempts
            attempts += 1
            # the job-wide cap and rate (a Ray actor), else this process's own rate limit
            async with self.limiter.slot() if self.limiter is not None else _local_turn(limiter):
                self.stats["sent"] += 1
                t0 = time.monotonic()
                raw = await sdk.chat.completions.with_raw_response.create(
                    model=model, messages=req.messages, extra_body=params or None, extra_headers=headers)
            return self._parse(raw.http_response, req.key, model, time.monotonic() - t0, attempts, url)

        try:
            return await llm_retrying(self.max_retries, _transient, base=self.backoff_base_s,
                                      before_sleep=self._count_retry)(attempt)
        except openai.APIStatusError as exc:
            err = ChatError(req.key, self._describe_http_error(exc, url, model), exc.status_code, attempts)
            if exc.status_code in (401, 403, 404):
                raise _Fatal(err) from None
            if exc.status_code in RETRY_STATUSES:
                err.error += f" (gave up after {attempts} attempts)"
            return err
        except openai.APITimeoutError:
            return ChatError(req.key, f"timeout after {self.timeout_s}s from {url} (gave up after {attempts} attempts)",
                             None, attempts)
        except openai.APIConnectionError as exc:
            detail = self._scrub(str(exc.__cause__ or "") or type(exc.__cause__ or exc).__name__)
            if _is_connect_error(exc):
                raise _Fatal(ChatError(req.key, f"cannot connect to {self.endpoint}: {detail} "
                                                f"(gave up after {attempts} attempts)", None, attempts)) from None
            return ChatError(req.key, f"connection to {self.endpoint} broke: {detail} "
                                      f"(gave up after {attempts} attempts)", None, attempts)
        except _Malformed as exc:
            return ChatError(req.key, f"{exc} (gave up after {attempts} attempts)", 200, attempts)

    def _parse(self, resp: Any, key: str, model: str, latency: float, attempts: int, url: str) -> ChatResult:
        try:
            raw = resp.json()
            message = raw["choices"][0]["message"]
            text = message.get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise _Malformed(f"malformed response from {url}: {self._scrub(resp.text[:200])!r}") from None
        usage = raw.get("usage") or {}
        pt, ct = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        self.stats["prompt_tokens"] += pt
        self.stats["completion_tokens"] += ct
        return ChatResult(key, text, raw.get("model") or model, pt, ct, round(latency, 4), False, raw, attempts)

    def _describe_http_error(self, exc: openai.APIStatusError, url: str, model: str) -> str:
        body = exc.body
        if isinstance(body, dict):
            detail = str(body.get("message") or body.get("error") or "")
        elif body:
            detail = str(body)
        else:
            detail = exc.response.text[:200]
        detail = self._scrub(detail)
        code = exc.status_code
        if code in (401, 403):
            key_state = "an API key that was rejected" if self._api_key else "no API key"
            return f"HTTP {code} from {url}: the endpoint refused {key_state} (check CQIA_LLM_API_KEY / --api-key). {detail}".strip()
        if code == 404:
            if "model" in detail.lower():
                return f"HTTP 404 from {url}: model {model!r} not found there. {detail}".strip()
            return f"HTTP 404 from {url}: no chat endpoint at this URL (check the base URL; it usually ends in /v1). {detail}".strip()
        return f"HTTP {code} from {url}: {detail}".strip()

    def _to_row(self, req: ChatRequest, res: ChatResult) -> dict[str, Any]:
        return {
            "key": req.key, "text": res.text, "model": res.model, "prompt_tokens": res.prompt_tokens,
            "completion_tokens": res.completion_tokens, "latency_s": res.latency_s, "attempts": res.attempts,
            "raw": res.raw, "request": {"messages": req.messages, "params": req.params}, "meta": req.meta,
            "endpoint": self.endpoint, "t": time.time(),
        }

    @staticmethod
    def _from_row(row: dict[str, Any]) -> ChatResult:
        return ChatResult(
            row["key"], row["text"], row.get("model", ""), int(row.get("prompt_tokens", 0)),
            int(row.get("completion_tokens", 0)), float(row.get("latency_s", 0.0)), True, row.get("raw") or {},
            int(row.get("attempts", 1)),
        )


class _Progress:
    """rich progress bar on stderr: done / cached / errors."""

    def __init__(self, total: int | None, model: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("cached {task.fields[cached]} · errors {task.fields[errors]}"), TimeRemainingColumn(),
            console=Console(stderr=True), transient=False,
        )
        self.task = self.progress.add_task(model, total=total, cached=0, errors=0)
        self.cached = self.errors = 0
        self.progress.start()

    def advance(self, res: ChatResult | ChatError) -> None:
        if isinstance(res, ChatError):
            self.errors += 1
        elif res.cached:
            self.cached += 1
        self.progress.update(self.task, advance=1, cached=self.cached, errors=self.errors)

    def close(self) -> None:
        self.progress.stop()
