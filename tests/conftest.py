"""Shared fixtures: where the real samples are, and a fresh run directory per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# One session browser for every real-browser test (annotation UI, curation report): Playwright's sync
# API allows one instance per thread, so the fixture is defined here once, not per package conftest.
from tests.browser import browser  # noqa: F401

REPO = Path(__file__).resolve().parent.parent


def samples_root() -> Path:
    """Real raw inputs live outside the repo (../shared/samples); CQIA_SAMPLES overrides."""
    return Path(os.environ.get("CQIA_SAMPLES", REPO.parent / "shared" / "samples")).resolve()


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    root = samples_root()
    if not (root / "MANIFEST.json").exists():
        pytest.fail(f"samples not found at {root}; set CQIA_SAMPLES to the shared/samples folder")
    return root


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"


# Real local services for the scale-out tests (a two-node Ray cluster, an S3-compatible server).
from tests.clusters import ray_cluster, s3_server  # noqa: E402, F401
