"""The main job (`cqia demo`) end to end: embedded input + every sample family → curate → release →
local Hub push (verified) → probes build/release/run/judge/score/report; a re-run is idempotent."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import yaml

DEMO_DATA = Path(__file__).resolve().parents[3] / "curation" / "data" / "demo"


def _release_rows(release: Path, config: str) -> list[dict]:
    return [row for f in sorted((release / config).glob("*.parquet")) for row in pq.read_table(f).to_pylist()]


def test_demo_runs_end_to_end_and_rerun_is_idempotent(tmp_path: Path, samples_dir: Path) -> None:
    run = tmp_path / "demo"
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "COLUMNS": "200", "CQIA_SAMPLES": str(samples_dir)}
    env.pop("HF_TOKEN", None)
    cmd = [sys.executable, "-m", "curation.cli", "demo", "--run", str(run)]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert first.returncode == 0, first.stderr[-4000:]
    assert "cqia/demo @ v0.1.0" in first.stdout
    assert f"release in {(run / 'release').resolve()}" in first.stdout

    # ingest: the two deliberately broken lines of the embedded file are rejected with file:line
    ingest = json.loads((run / "ingest-demo_alpaca" / "_MANIFEST.json").read_text())["counts"]
    assert ingest["in"] == ingest["kept"] + ingest["invalid_total"] and ingest["invalid_total"] == 2
    rejects = [json.loads(line) for line in (run / "ingest-demo_alpaca" / "rejects-00000.jsonl").read_text().splitlines()]
    assert {r["reason"] for r in rejects} == {"json_decode", "schema"}
    assert sorted(r["location"].rsplit(":", 1)[1] for r in rejects) == ["13", "14"]
    # a control character is not a reason to reject at ingest: the clean stage removes it
    assert any(r["instruction"] == "题目里有换页符" for r in _release_rows(run / "release", "demo_alpaca"))

    # release: every sample family that yields records is a config the card declares
    release = run / "release"
    card = yaml.safe_load((release / "README.md").read_text(encoding="utf-8").split("---\n")[1])
    configs = {c["config_name"] for c in card["configs"]}
    assert {"zhihu", "douban", "xhs", "wiki", "exam", "logi_qa", "chinese_traditional", "ruozhiba",
            "demo_alpaca", "demo_sharegpt", "demo_cqia"} <= configs
    ruozhiba = _release_rows(release, "ruozhiba")
    assert ruozhiba and all(r["answer_from"] == "llm" and not r["human_verified"] for r in ruozhiba)
    # curation ran before release: the phone number in the embedded data is redacted
    alpaca_text = json.dumps(_release_rows(release, "demo_alpaca"), ensure_ascii=False)
    assert "13812345678" not in alpaca_text and "<MOBILE>" in alpaca_text

    # dedup ran in curation: the embedded file's repeated question survives once, the copy is a reject
    capitals = [r for r in _release_rows(release, "demo_alpaca") if r["instruction"] == "中国的首都是哪里？"]
    assert len(capitals) == 1
    dedup_rejects = [json.loads(line) for f in sorted((run / "dedup").glob("rejects-*.jsonl"))
                     for line in f.read_text().splitlines()]
    assert any(r["reason"] == "exact_duplicate" and r["record"]["record"]["instruction"] == "中国的首都是哪里？"
               for r in dedup_rejects)

    # verification: a stratified sample went to the real Label Studio; nobody annotated, so no row
    # is human-verified and every row says whether it is pending review or was never pushed
    verified = [json.loads(line) for f in sorted((run / "verified").glob("part-*.jsonl"))
                for line in f.read_text().splitlines()]
    statuses = [r["provenance"]["extra"].get("review_status") for r in verified]
    assert statuses.count("pending") == 200 and set(statuses) == {"pending", "not_pushed"}
    assert not any(r["record"]["human_verified"] for r in verified)
    assert "| ruozhiba | 0 | " in (release / "README.md").read_text(encoding="utf-8")

    # the curation report is written, and where it is is the last thing the demo prints
    report = run / "report" / "report.html"
    assert report.is_file() and json.loads((run / "report" / "summary.json").read_text())["described_stage"] == "verified"
    assert first.stdout.strip().splitlines()[-1].startswith(f"Report: {report.resolve().as_uri()}")
    # the release carries the card's figures and the stage parameters file it links
    assert (release / "assets" / "funnel.png").read_bytes()[:4] == b"\x89PNG"
    assert "cqia_pipeline.yaml" in (release / "README.md").read_text(encoding="utf-8")
    assert card["configs"][0]["config_name"] == "all" and card["configs"][0]["default"] is True

    # distillation: the score equals the share of probes whose prompt the scripted target answers as ChatGPT
    rules = json.loads((DEMO_DATA / "llm_rules.json").read_text(encoding="utf-8"))["rules"]
    claim = re.compile(next(r["pattern"] for r in rules if r["model"] == "^demo-target$"))
    probes = [json.loads(line) for line in (run / "probes" / "identity_probes.jsonl").read_text().splitlines()]
    scores = json.loads((run / "distill" / "scores" / "demo-target.json").read_text())["identity"]
    assert scores["n"] == len(probes)
    assert abs(scores["loose"] - sum(bool(claim.search(p["prompt"])) for p in probes) / len(probes)) < 1e-9
    assert (run / "distill-report" / "report.png").read_bytes()[:4] == b"\x89PNG"

    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert second.returncode == 0, second.stderr[-4000:]
    assert "already complete, skipped" in second.stderr
    assert "cqia/demo @ v0.1.1" in second.stdout
