"""Traditional → simplified conversion behind one small interface, with a choice of backend.

`reimplemented` (opencc-python-reimplemented) is the reference: pure Python, OpenCC 1.0-era
dictionaries. `pyo3` (opencc-pyo3, Rust) is ~35× faster but ships newer OpenCC lexicons and
differs on some characters (e.g. 幷/并, 逕/径 — 78 of 1000 Tang poems in the samples), so it is
opt-in: a dataset must not change silently because a faster wheel happened to be installed.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

BACKENDS = ("reimplemented", "pyo3")


class Converter(Protocol):
    def convert(self, text: str) -> str: ...


@cache
def get_converter(config: str = "t2s", backend: str = "reimplemented") -> Converter:
    """A cached converter for an OpenCC config name ('t2s', 's2t', 'tw2s', 'hk2s' ...)."""
    if backend == "reimplemented":
        import opencc

        return opencc.OpenCC(config)
    if backend == "pyo3":
        try:
            from opencc_pyo3 import OpenCC as Pyo3OpenCC
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ValueError("opencc backend 'pyo3' needs the opencc-pyo3 package") from exc
        return Pyo3OpenCC(config)
    raise ValueError(f"unknown opencc backend {backend!r}; choose one of {BACKENDS}")


def t2s(text: str, backend: str = "reimplemented") -> str:
    """Traditional (or mixed) Chinese → simplified; ASCII-only text is returned as is (fast path)."""
    if not text or text.isascii():
        return text
    return get_converter("t2s", backend).convert(text)
