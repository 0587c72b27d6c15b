"""A real headless Chromium for tests that look at what a person sees (annotation UI, reports).

The browser is Debian's `chromium` (installed by `.ci/run` with `fonts-noto-cjk` so Chinese renders),
driven through Playwright's Python API with `executable_path`, so no browser download is needed.
Background networking is off: this machine's network is closed, and a page must not need it.
Where no browser can be found the test is skipped with a loud reason (only where the system package
manager could not install one); `CQIA_CHROMIUM` points at another binary.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
ARTEFACTS = Path(os.environ.get("CQIA_TEST_ARTEFACTS", Path(__file__).resolve().parent.parent / "runs" / "test-artefacts"))


def chromium_path() -> str | None:
    candidates = [os.environ.get("CQIA_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                  shutil.which("chromium-browser"), shutil.which("google-chrome")]
    return next((c for c in candidates if c and Path(c).exists()), None)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A Playwright Browser on the system Chromium (session-wide: start-up costs ~1 s)."""
    exe = chromium_path()
    if exe is None:
        pytest.skip("NO BROWSER: install Debian's `chromium` and `fonts-noto-cjk` (.ci/run does) "
                    "or set CQIA_CHROMIUM; the real-browser tests did not run")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        handle = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            yield handle
        finally:
            handle.close()


def artefact(name: str) -> Path:
    """Where a test saves a screenshot or page dump for people to look at (kept after the run)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS / name
