"""On-disk raw cache: the fetch layer's memory, so parsing re-runs never re-fetch.

Why it lives in `sources/`: it is part of fetching (like an HTTP cache), not an output of the
pipeline. Parsers never write; only the fetcher stores what the network returned.

Layout::

    CACHE/bodies/ab/<sha256>        response body, content-addressed (identical pages stored once)
    CACHE/index/cd/<sha256(url)>.json  url, final_url, status, headers, fetched_at, body_sha256, error

The body is written before its index entry, both atomically, so a kill leaves at worst an
orphan body and never an index entry pointing at a missing or half-written body. The index
entry never holds a credential: its `url`, `final_url` and `location` are stored without
userinfo or secret query values (schemas.redact); the file name is the hash of the full URL,
so a lookup still finds the entry and gets the URL it asked for back.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from schemas.redact import redact_url

# Response headers worth keeping; Set-Cookie and friends are never stored.
KEPT_HEADERS = ("content-type", "content-length", "last-modified", "etag", "retry-after", "location")


@dataclass
class CachedResponse:
    """One fetch result as stored: a body (maybe empty) or an error, never both missing."""

    url: str
    status: int
    fetched_at: str
    final_url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body_sha256: str | None = None
    error: str | None = None
    attempts: int = 1
    body: bytes = field(default=b"", repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None and 200 <= self.status < 300

    def meta(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("body")
        return data


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RawCache:
    """Content-addressed bodies plus a per-URL index; safe to share between runs."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _index_path(self, url: str) -> Path:
        key = url_key(url)
        return self.root / "index" / key[:2] / f"{key}.json"

    def _body_path(self, sha: str) -> Path:
        return self.root / "bodies" / sha[:2] / sha

    def get(self, url: str) -> CachedResponse | None:
        """The stored response for `url`, or None (also when the entry is unreadable)."""
        path = self._index_path(url)
        if not path.exists():
            return None
        try:
            meta = orjson.loads(path.read_bytes())
            body = b""
            if meta.get("body_sha256"):
                body = self._body_path(meta["body_sha256"]).read_bytes()
                if hashlib.sha256(body).hexdigest() != meta["body_sha256"]:
                    return None
            meta["url"] = url  # the index stores it without credentials; the caller knows it whole
            return CachedResponse(**meta, body=body)
        except (OSError, orjson.JSONDecodeError, TypeError):
            return None

    def put(self, response: CachedResponse) -> CachedResponse:
        """Store body then index entry; returns the response with `body_sha256` filled in."""
        if response.body or response.error is None:
            sha = hashlib.sha256(response.body).hexdigest()
            body_path = self._body_path(sha)
            if not body_path.exists():
                _atomic_write(body_path, response.body)
            response.body_sha256 = sha
        response.headers = {k: (redact_url(v) if k.lower() == "location" else v)
                            for k, v in response.headers.items() if k.lower() in KEPT_HEADERS}
        meta = response.meta()
        meta["url"], meta["final_url"] = redact_url(response.url), redact_url(response.final_url)
        _atomic_write(self._index_path(response.url), orjson.dumps(meta, option=orjson.OPT_SORT_KEYS))
        return response

    def forget(self, url: str) -> None:
        self._index_path(url).unlink(missing_ok=True)

    def __contains__(self, url: str) -> bool:
        return self._index_path(url).exists()

    def urls(self) -> list[str]:
        """The cached URLs as stored (without credentials)."""
        out = []
        for path in sorted((self.root / "index").glob("*/*.json")):
            try:
                out.append(orjson.loads(path.read_bytes())["url"])
            except (OSError, orjson.JSONDecodeError, KeyError):
                continue
        return out
