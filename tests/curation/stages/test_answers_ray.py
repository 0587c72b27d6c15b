"""`cqia ingest ruozhiba --executor ray`: the answers are asked from a Ray worker (the session's
real two-node cluster, tests/clusters.py) through the job's limiter, against the scripted
OpenAI-compatible server process; same bytes as the local executor, and a re-run sends nothing."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.clusters import RayCluster
from tests.curation.pipeline.scaleout import cqia, digest_tree
from tests.llm_fixtures import openai_server  # noqa: F401

TITLES = "znsoooo-ruozhiba__ruozhiba-title-good.json"


def test_ruozhiba_answers_on_a_ray_worker_match_local(openai_server, samples_dir: Path, tmp_path: Path,  # noqa: F811
                                                      ray_cluster: RayCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    small = tmp_path / "titles.json"
    rows = orjson.loads((samples_dir / "ruozhiba" / TITLES).read_bytes())[:30] + [{"title": ""}]
    small.write_bytes(orjson.dumps(rows))
    monkeypatch.setenv("CQIA_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("CQIA_LLM_MODEL", "fake-model")
    local, remote = tmp_path / "local", tmp_path / "ray"
    cqia("ingest", "ruozhiba", small, "--run", local, "--no-progress")
    asked = openai_server.log(entries=False)["requests"]
    assert asked == 30
    openai_server.reset()

    ray_args = ("--executor", "ray", "--ray-address", ray_cluster.address, "--concurrency", "2", "--rps", "15")
    cqia("ingest", "ruozhiba", small, "--run", remote, "--no-progress", *ray_args)
    manifest = orjson.loads((remote / "ingest-ruozhiba" / "_MANIFEST.json").read_bytes())
    assert manifest["timings"]["executor"] == "ray"
    assert manifest["calls"]["made"] == 30 and manifest["calls"]["failed"] == 0
    assert manifest["counts"]["invalid"] == {"empty_title": 1}
    assert digest_tree(remote) == digest_tree(local)
    log = openai_server.log()
    assert log["requests"] == 30 and log["max_concurrent"] <= 2
    starts = sorted(e["t0"] for e in log["entries"])
    assert (len(starts) - 1) / (starts[-1] - starts[0]) <= 15 * 1.1
    assert sum(1 for _ in (remote / "llm-cache" / "ingest-ruozhiba").rglob("*.jsonl")) >= 1

    cqia("ingest", "ruozhiba", small, "--run", remote, "--no-progress", "--force", *ray_args)
    assert openai_server.log(entries=False)["requests"] == 30  # answered from the workers' segments
    assert digest_tree(remote) == digest_tree(local)
