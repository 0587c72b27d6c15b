"""Probe-set release: multi-config Hub layout + card, pushed to the local Hub server and loaded back."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import yaml
from typer.testing import CliRunner

from curation.cli import app
from tests.hub_fixtures import HubProcess, load_in_subprocess

pytest_plugins = ["tests.hub_fixtures"]


def _build(samples_dir: Path, out: Path) -> None:
    d = samples_dir / "distill"
    res = CliRunner().invoke(app, ["probes", "build", "--out", str(out), "--questions", str(d / "GPT_identity.csv"),
                                   "--templates", str(d / "gptfuzz_seed_templates.json"), "--seed-templates", "4"])
    assert res.exit_code == 0, res.output


def test_release_dir_layout_and_card(tmp_path, samples_dir):
    probes, rel = tmp_path / "probes", tmp_path / "release"
    _build(samples_dir, probes)
    res = CliRunner().invoke(app, ["probes", "release", "--probes", str(probes), "--out", str(rel)])
    assert res.exit_code == 0, res.output
    card = (rel / "README.md").read_text(encoding="utf-8")
    front = yaml.safe_load(card.split("---")[1])
    names = [c["config_name"] for c in front["configs"]]
    assert names == ["identity_questions", "target_facts", "templates", "identity_probes", "judge_prompts",
                     "mutation_prompts"]  # no RSE pools given
    assert pq.read_table(rel / "identity_probes" / "train-00000-of-00001.parquet").num_rows == 4 * 50
    assert pq.read_table(rel / "templates" / "train-00000-of-00001.parquet").num_rows == 77
    for needle in ("## Scores", "**hard**", "loose-v1", "strict-v1", "rse-v1", "<judge>1</judge>", "MCTS-explore",
                   "not the paper's", "sha256 `", "## Mutation prompts"):
        assert needle in card


def test_release_push_to_local_hub(tmp_path, samples_dir, hub_server: HubProcess, hf_env):
    probes, rel = tmp_path / "probes", tmp_path / "release"
    _build(samples_dir, probes)
    token = hub_server.tokens["alice"]
    res = CliRunner().invoke(app, ["probes", "release", "--probes", str(probes), "--out", str(rel), "--repo-id",
                                   "alice/cqia-distill-probes", "--tag", "v1", "--endpoint", hub_server.url, "--token", token])
    assert res.exit_code == 0, res.output
    assert token not in res.output
    loaded = load_in_subprocess(hub_server.url, "alice/cqia-distill-probes", "judge_prompts", revision="v1", token=token,
                                home=tmp_path / "cold")
    assert "rows" in loaded, loaded
    assert {r["prompt_version"] for r in loaded["rows"]} == {"loose-v1", "strict-v1", "rse-v1"}
