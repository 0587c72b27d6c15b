"""Client for OpenAI-compatible `/embeddings` endpoints, with the same append-only cache as chat.

Why: the embedding variant of response similarity needs vectors for thousands of answers; a local
server (vLLM, llama.cpp, text-embeddings-inference, Ollama's OpenAI route) serves them offline, and a
killed run must not pay twice. Texts are sent in batches; a batch is retried with backoff on
429/5xx/timeouts; a bad key, URL or model fails at once with a message that never shows the key.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from curation.llm.cache import ResponseCache
from curation.llm.client import RETRY_STATUSES, LLMError
from curation.retry import hub_retrying


class EmbeddingClient:
    def __init__(self, base_url: str, model: str, api_key: str | None = None, *, cache_path: Path | None = None,
                 batch_size: int = 64, timeout_s: float = 60.0, max_retries: int = 5, backoff_base_s: float = 0.5) -> None:
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise LLMError(f"embedding base URL must start with http:// or https://, got {base_url!r}")
        if not model:
            raise LLMError("no embedding model name given")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key or None
        self.batch_size = max(1, batch_size)
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.cache = ResponseCache(Path(cache_path)) if cache_path else None
        self.stats = {"sent": 0, "cached": 0, "texts_sent": 0}

    def __repr__(self) -> str:  # never show the key
        return f"EmbeddingClient(base_url={self.base_url!r}, model={self.model!r}, api_key={'set' if self._api_key else 'none'})"

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model}\x00{text}".encode()).hexdigest()[:32]

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order (cached vectors are not requested again)."""
        out: dict[int, list[float]] = {}
        todo: list[int] = []
        for i, text in enumerate(texts):
            row = self.cache.get(self._key(text)) if self.cache else None
            if row is not None:
                out[i] = row["vector"]
                self.stats["cached"] += 1
            else:
                todo.append(i)
        unique = list(dict.fromkeys(texts[i] for i in todo))
        got: dict[str, list[float]] = {}
        headers = {"content-type": "application/json"}
        if self._api_key:
            headers["authorization"] = f"Bearer {self._api_key}"
        with httpx.Client(timeout=httpx.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s)), headers=headers) as http:
            for start in range(0, len(unique), self.batch_size):
                batch = unique[start : start + self.batch_size]
                vectors = self._post(http, batch)
                for text, vec in zip(batch, vectors, strict=True):
                    got[text] = vec
                    if self.cache is not None:
                        self.cache.append({"key": self._key(text), "model": self.model, "vector": vec})
        for i in todo:
            out[i] = got[texts[i]]
        return [out[i] for i in range(len(texts))]

    def _post(self, http: httpx.Client, batch: list[str]) -> list[list[float]]:
        """One batch through the project's LLM retry policy (tenacity, curation/retry.py):
        timeouts, dropped connections and 408/429/5xx are retried honouring Retry-After."""
        url = f"{self.base_url}/embeddings"
        try:
            for attempt in hub_retrying(self.max_retries, _transient, base=self.backoff_base_s):
                with attempt:
                    self.stats["sent"] += 1
                    resp = http.post(url, json={"model": self.model, "input": batch})
                    if resp.status_code in RETRY_STATUSES:
                        resp.raise_for_status()
        except httpx.TimeoutException as exc:
            raise LLMError(f"embeddings failed: timeout after {self.timeout_s}s from {url} "
                           f"(gave up after {self.max_retries + 1} attempts)") from exc
        except httpx.TransportError as exc:
            raise LLMError(f"embeddings failed: cannot reach {self.base_url}: {type(exc).__name__}") from exc
        except httpx.HTTPStatusError as exc:
            raise LLMError(f"embeddings failed: HTTP {exc.response.status_code} from {url} (model {self.model!r}; "
                           f"gave up after {self.max_retries + 1} attempts)") from exc
        if resp.status_code == 200:
            return self._vectors(resp, len(batch))
        last = f"HTTP {resp.status_code} from {url} (model {self.model!r})"
        if resp.status_code in (401, 403):
            raise LLMError(f"{last}: the embedding endpoint refused the API key")
        raise LLMError(f"{last}: {resp.text[:200]!r}")

    def _vectors(self, resp: httpx.Response, n: int) -> list[list[float]]:
        try:
            data = sorted(resp.json()["data"], key=lambda d: d.get("index", 0))
            vectors = [[float(x) for x in d["embedding"]] for d in data]
        except (ValueError, KeyError, TypeError) as exc:
            raise LLMError(f"malformed embeddings response from {resp.request.url}: {exc}") from exc
        if len(vectors) != n:
            raise LLMError(f"{resp.request.url}: asked for {n} embeddings, got {len(vectors)}")
        self.stats["texts_sent"] += n
        return vectors

    def close(self) -> None:
        if self.cache:
            self.cache.close()


def _transient(error: BaseException) -> bool:
    return isinstance(error, httpx.TimeoutException | httpx.TransportError | httpx.HTTPStatusError)
