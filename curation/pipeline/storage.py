"""Where a run directory lives: a local folder, or object storage (`s3://bucket/path`) via fsspec.

Why: workers on other machines (the Ray executor) must read and write the same shards, so a run
directory may be a URL. Local paths stay `pathlib.Path` (no new dependency on the default path);
URLs become `upath.UPath` objects, which offer the same `/`, `open`, `exists`, `glob`,
`read_bytes` API over fsspec (s3fs for S3; credentials and the endpoint come from the usual AWS
environment variables or config files, never from the URL or a command-line argument).

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

AnyPath = Any  # pathlib.Path or upath.UPath: both offer the pathlib API the pipeline uses


def is_url(value: str | os.PathLike[str]) -> bool:
    text = str(value)
    return bool(REMOTE.match(text)) and not text.startswith("file://")


def as_path(value: str | os.PathLike[str]) -> AnyPath:
    """A run-directory location from a CLI argument or config: Path for local, UPath for URLs."""
    if isinstance(value, Path):
        return value
    if hasattr(value, "protocol") and hasattr(value, "fs"):  # already a UPath
        return value if is_remote(value) else Path(str(value))
    text = str(value)
    if text.startswith("file://"):
        return Path(text[len("file://"):])
    if not is_url(text):
        return Path(text)
    try:
        from upath import UPath
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise RuntimeError(
            f"{text}: a run directory on object storage needs the optional dependencies: "
            "pip install 'cqia[ray]' (universal-pathlib, s3fs)"
        ) from exc
    return UPath(text)


def is_remote(path: AnyPath) -> bool:
    """True for object-storage paths (anything that is not a plain local filesystem path)."""
    if isinstance(path, Path) and not hasattr(path, "protocol"):
        return False
    return getattr(path, "protocol", "") not in ("", "file", "local")


def fs_and_key(path: AnyPath) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) of a remote path."""
    return path.fs, path.path


def rmtree(path: AnyPath) -> None:
    """Remove a directory tree (local) or every object under a prefix (remote); missing is fine."""
    if not is_remote(path):
        shutil.rmtree(path, ignore_errors=True)
        return
    fs, key = fs_and_key(path)
    if fs.exists(key):
        fs.rm(key, recursive=True)
    fs.invalidate_cache(key)


def mkdirs(path: AnyPath) -> None:
    if not is_remote(path):
        Path(path).mkdir(parents=True, exist_ok=True)


def read_range(path: AnyPath, start: int, end: int) -> bytes:
    """Bytes [start, end) of a file: a positioned read locally, a ranged GET on object storage."""
    if not is_remote(path):
        with open(path, "rb") as handle:
            handle.seek(start)
            return handle.read(end - start)
    fs, key = fs_and_key(path)
    return fs.cat_file(key, start=start, end=end)


def upload_file(local: Path, path: AnyPath) -> None:
    """Copy a finished local file to a remote path in one upload (the object appears whole)."""
    fs, key = fs_and_key(path)
    fs.put_file(str(local), key)
    fs.invalidate_cache(key)


def list_names(directory: AnyPath) -> list[str]:
    """File names directly inside `directory` ([] when it does not exist)."""
    if not is_remote(directory):
        try:
            return [entry.name for entry in os.scandir(directory)]
        except FileNotFoundError:
            return []
    fs, key = fs_and_key(directory)
    fs.invalidate_cache(key)
    try:
        return [name.rstrip("/").rsplit("/", 1)[-1] for name in fs.ls(key, detail=False)]
    except FileNotFoundError:
        return []


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
