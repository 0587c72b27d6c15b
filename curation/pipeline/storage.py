"""Where a run directory lives: a local folder, or object storage (`s3://bucket/path`) via fsspec.

Why: workers on other machines (the Ray executor) must read and write the same shards, so a run
directory may be a URL. Local paths stay `pathlib.Path`; URLs become `RemotePath`, which offers
the small part of the pathlib API the pipeline uses (`/`, `open`, `exists`, `read_bytes`,
`iterdir`, `glob`, `unlink`) over fsspec (s3fs for S3; credentials and the endpoint come from
the usual AWS environment variables or config files, never from the URL or a command line).
A RemotePath is only its URL: it pickles to Ray workers and survives a fork (the filesystem
object is looked up per process; async filesystems such as s3fs are not fork-safe).

What object storage lacks is handled here: no rename (atomic writes upload a finished local temp
file in one PUT, see `atomic.py`), no directories (`mkdir` is a no-op), no append (state that
needs appending, such as the LLM response cache, lives in `local_state_dir`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Any

REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")

AnyPath = Any  # pathlib.Path or RemotePath: both offer the pathlib calls the pipeline uses


def is_url(value: str | os.PathLike[str]) -> bool:
    text = str(value)
    return bool(REMOTE.match(text)) and not text.startswith("file://")


class RemotePath:
    """An object-storage location (`s3://bucket/key`) with a pathlib-like API over fsspec."""

    __slots__ = ("url",)

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    # -- naming ---------------------------------------------------------------------------------
    def __truediv__(self, name: str | os.PathLike[str]) -> RemotePath:
        return RemotePath(f"{self.url}/{str(name).strip('/')}")

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RemotePath({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    def __lt__(self, other: RemotePath) -> bool:
        return self.url < other.url

    def __reduce__(self) -> tuple[Any, ...]:
        return (RemotePath, (self.url,))

    @property
    def protocol(self) -> str:
        return self.url.split("://", 1)[0]

    @property
    def path(self) -> str:
        """The key inside the filesystem (bucket/key for S3)."""
        return self.url.split("://", 1)[1]

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def parent(self) -> RemotePath:
        return RemotePath(self.url.rsplit("/", 1)[0])

    @property
    def fs(self) -> Any:
        """This process's filesystem for the protocol (fsspec caches instances per process).
        Listings are not cached: other processes and machines write here too."""
        import fsspec

        try:
            return fsspec.filesystem(self.protocol, use_listings_cache=False)
        except ImportError as exc:
            raise RuntimeError(
                f"{self.url}: a run directory on object storage needs s3fs: pip install 'cqia[ray]'"
            ) from exc

    def resolve(self) -> RemotePath:
        return self

    # -- reading and writing ---------------------------------------------------------------------
    def open(self, mode: str = "rb", **kwargs: Any) -> Any:
        return self.fs.open(self.path, mode, **kwargs)

    def read_bytes(self) -> bytes:
        return self.fs.cat_file(self.path)

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> None:
        self.fs.pipe_file(self.path, data)

    def write_text(self, text: str, encoding: str = "utf-8") -> None:
        self.write_bytes(text.encode(encoding))

    def exists(self) -> bool:
        return self.fs.exists(self.path)

    def is_file(self) -> bool:
        return self.fs.isfile(self.path)

    def is_dir(self) -> bool:
        return self.fs.isdir(self.path)

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self.fs.rm_file(self.path)
        except FileNotFoundError:
            if not missing_ok:
                raise

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Object storage has no directories: a prefix exists once an object is under it."""

    def iterdir(self) -> list[RemotePath]:
        try:
            keys = self.fs.ls(self.path, detail=False)
        except FileNotFoundError:
            return []
        return [RemotePath(f"{self.protocol}://{key.rstrip('/')}") for key in keys]

    def glob(self, pattern: str) -> list[RemotePath]:
        keys = self.fs.glob(f"{self.path}/{pattern}")
        return [RemotePath(f"{self.protocol}://{key}") for key in sorted(keys)]

    def rglob(self, pattern: str) -> list[RemotePath]:
        return self.glob(f"**/{pattern}")


def as_path(value: str | os.PathLike[str]) -> AnyPath:
    """A run-directory location from a CLI argument or config: Path, or RemotePath for URLs."""
    if isinstance(value, (Path, RemotePath)):
        return value
    text = str(value)
    if text.startswith("file://"):
        return Path(text[len("file://"):])
    return RemotePath(text) if is_url(text) else Path(text)


def is_remote(path: AnyPath) -> bool:
    return isinstance(path, RemotePath)


def rmtree(path: AnyPath) -> None:
    """Remove a directory tree (local) or every object under a prefix (remote); missing is fine."""
    if not is_remote(path):
        shutil.rmtree(path, ignore_errors=True)
        return
    fs = path.fs
    if fs.exists(path.path):
        fs.rm(path.path, recursive=True)


def mkdirs(path: AnyPath) -> None:
    if not is_remote(path):
        Path(path).mkdir(parents=True, exist_ok=True)


def read_range(path: AnyPath, start: int, end: int) -> bytes:
    """Bytes [start, end) of a file: a positioned read locally, a ranged GET on object storage."""
    if start >= end:
        return b""
    if not is_remote(path):
        with open(path, "rb") as handle:
            handle.seek(start)
            return handle.read(end - start)
    return path.fs.cat_file(path.path, start=start, end=end)


def upload_file(local: Path, path: AnyPath) -> None:
    """Copy a finished local file to a remote path in one upload (the object appears whole)."""
    path.fs.put_file(str(local), path.path)


def list_names(directory: AnyPath) -> list[str]:
    """File names directly inside `directory` ([] when it does not exist)."""
    if not is_remote(directory):
        try:
            return [entry.name for entry in os.scandir(directory)]
        except FileNotFoundError:
            return []
    return [p.name for p in directory.iterdir()]


def local_state_dir(root: AnyPath) -> Path:
    """A local folder for a run's append-only state (LLM response caches): the run directory
    itself when it is local; for a remote run, `$CQIA_STATE_DIR` (default ~/.cache/cqia/runs)
    plus a name derived from the URL, since object storage cannot append."""
    if not is_remote(root):
        return Path(root)
    base = Path(os.environ.get("CQIA_STATE_DIR") or Path.home() / ".cache" / "cqia" / "runs")
    url = str(root).rstrip("/")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", url.split("://", 1)[-1])[-60:]
    return base / f"{slug}-{hashlib.sha256(url.encode()).hexdigest()[:10]}"
