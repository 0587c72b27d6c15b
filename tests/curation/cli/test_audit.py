"""`cqia audit` on the real COIG-CQIA records, on Alpaca/ShareGPT files, and on a dataset repo
served by the project's local Hub server (real huggingface_hub client through --endpoint)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from curation.release.push import push_release
from tests.hub_fixtures import ROWS_V1, HubProcess, cqia_rows, write_release_dir

pytest_plugins = ["tests.hub_fixtures"]

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "curation" / "data" / "demo"
SAMPLES = {
    "chinese_traditional": "COIG-CQIA__chinese_traditional_chengyu.jsonl",
    "douban": "COIG-CQIA__douban_movie_recommendation.jsonl",
    "human_value": "COIG-CQIA__human_value_100poison.first120.jsonl",
    "segmentfault": "COIG-CQIA__segmentfault_segmentfault_upvote5_clean.first80.jsonl",
    "ruozhiba": "cqia_ruozhiba_first20.jsonl",
}


def _cqia(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curation.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=900)


def _defects(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "defects.jsonl").read_text(encoding="utf-8").splitlines()]


def _line(location: str) -> dict:
    path, _, line = location.rpartition(":")
    return json.loads(Path(path).read_text(encoding="utf-8").splitlines()[int(line) - 1])


def test_audit_of_the_real_coig_cqia_records(samples_dir: Path, tmp_path: Path) -> None:
    files = {c: samples_dir / "coig_cqia" / f for c, f in SAMPLES.items()}
    before = {c: hashlib.sha256(p.read_bytes()).hexdigest() for c, p in files.items()}
    out = tmp_path / "audit"
    result = _cqia("audit", *[f"{c}={p}" for c, p in files.items()], "--out", out, "--no-progress", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    defects = summary["audit"]["defects"]
    # every line of every file is a record of its config (counted with grep -c)
    assert defects["records"] == {"chinese_traditional": 111, "douban": 38, "human_value": 120,
                                  "segmentfault": 80, "ruozhiba": 20}
    # flag-only: the inputs are untouched and every record reached the audit stage
    assert {c: hashlib.sha256(p.read_bytes()).hexdigest() for c, p in files.items()} == before
    assert summary["funnel"]["overall"][1] == {"stage": "audit", "in": 369, "kept": 369, "dropped": {}, "invalid": {}}

    rows = _defects(out)
    # the human_value sample's 16 answer_from "expert" rows (shared/samples MANIFEST) and nothing else
    expert = [r for r in rows if r["kind"] == "schema.answer_from"]
    assert len(expert) == 16 and {r["config"] for r in expert} == {"human_value"}
    assert all(_line(r["location"])["answer_from"] == "expert" for r in expert)
    assert defects["kinds"]["schema.answer_from"]["by_config"]["human_value"]["per_10k"] == round(16 / 120 * 1e4, 1)
    # truncated outputs: the located line's output really stops without closing punctuation
    truncated = [r for r in rows if r["kind"] == "clean.truncated"]
    assert truncated
    for r in truncated:
        assert _line(r["location"])["output"].rstrip()[-1] not in "。！？!?…”』」）)"
    # every defect names a record id and a real file line
    assert all(r["id"] and Path(r["location"].rpartition(":")[0]).name in SAMPLES.values() for r in rows)
    table = (out / "defects.md").read_text(encoding="utf-8")
    assert table.startswith("| defect | chinese_traditional | douban | human_value | ruozhiba | segmentfault | all |")
    assert "| `schema.answer_from` | · | · | 1,333 | · | · | 434 |" in table
    assert "缺陷 Defects" in (out / "report.html").read_text(encoding="utf-8")


def test_audit_reads_alpaca_and_sharegpt_and_names_unreadable_items(tmp_path: Path) -> None:
    # A Git LFS pointer where data should be, as in a GitHub mirror of COIG-CQIA cloned without
    # `git lfs pull` (qoioioi/COIG-CQIA wikihow/wikihow.jsonl): one located defect, not 3 JSON errors.
    pointer = tmp_path / "wikihow.jsonl"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 11519024\n")
    out = tmp_path / "audit"
    result = _cqia("audit", f"alpaca={DEMO / 'alpaca_zh.jsonl'}", f"sharegpt={DEMO / 'sharegpt_zh.json'}",
                   f"wikihow={pointer}", "--out", out, "--no-progress")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _defects(out)
    parse = {(r["config"], r["kind"]) for r in rows if r["kind"].startswith("parse.")}
    assert parse == {("alpaca", "parse.json_decode"), ("sharegpt", "parse.sharegpt_no_assistant_reply"),
                     ("wikihow", "parse.lfs_pointer")}
    assert [r["location"] for r in rows if r["config"] == "wikihow"] == [str(pointer)]
    assert any(r["kind"] == "pii.mobile" and r["config"] == "alpaca" for r in rows)
    assert any(r["kind"] == "dedup.exact_duplicate" and r["config"] == "alpaca" for r in rows)


def test_audit_of_a_hub_repo_through_the_local_server(hub_server: HubProcess, hf_env, tmp_path: Path) -> None:
    release = write_release_dir(tmp_path / "rel", {c: cqia_rows(c, r, "v1") for c, r in ROWS_V1.items()})
    push_release(release, "cqia/audit-me", token=hub_server.tokens["alice"], endpoint=hub_server.url,
                 progress=False)
    env = {**os.environ, "HF_TOKEN": hub_server.tokens["alice"]}
    out = tmp_path / "audit"
    result = _cqia("audit", "--repo-id", "cqia/audit-me", "--endpoint", hub_server.url, "--out", out,
                   "--no-progress", "--json", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert summary["audit"]["defects"]["records"] == {"finance": 2, "human_value": 3}
    assert summary["records"]["overall"]["rows"] == 5
    locations = [s["location"] for s in summary["samples"]["kept"]]
    assert locations and all(loc.startswith("cqia/audit-me@") and "/train-00000-of-00001.parquet#" in loc
                             for loc in locations)

    one = _cqia("audit", "--repo-id", "cqia/audit-me", "--config", "finance", "--endpoint", hub_server.url,
                "--out", tmp_path / "one", "--no-progress", "--json", env=env)
    assert one.returncode == 0, one.stderr[-3000:]
    assert json.loads(one.stdout)["audit"]["defects"]["records"] == {"finance": 2}

    # The original card's flaws (COIG-CQIA README: a config without data_files, a config whose folder
    # is absent): pushed with huggingface_hub (our push refuses such a card), audited with notes.
    from huggingface_hub import HfApi

    readme = release / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8").replace(
        "configs:\n", "configs:\n- config_name: finance\n- config_name: coig_pc\n  data_files:\n  - split: train\n"
        "    path: coig_pc/*\n", 1), encoding="utf-8")
    api = HfApi(endpoint=hub_server.url, token=hub_server.tokens["alice"])
    api.create_repo("cqia/flawed-card", repo_type="dataset")
    api.upload_folder(folder_path=str(release), repo_id="cqia/flawed-card", repo_type="dataset")
    flawed = _cqia("audit", "--repo-id", "cqia/flawed-card", "--endpoint", hub_server.url, "--out", tmp_path / "f",
                   "--no-progress", "--json", env=env)
    assert flawed.returncode == 0, flawed.stderr[-3000:]
    audit = json.loads(flawed.stdout)["audit"]
    assert audit["defects"]["records"] == {"finance": 2, "human_value": 3}
    assert len(audit["notes"]) == 1 and "coig_pc" in audit["notes"][0]
    asked = _cqia("audit", "--repo-id", "cqia/flawed-card", "--config", "coig_pc", "--endpoint", hub_server.url,
                  "--out", tmp_path / "g", env=env)
    assert asked.returncode == 1 and "coig_pc" in asked.stderr

    missing = _cqia("audit", "--repo-id", "cqia/nope", "--endpoint", hub_server.url, "--out", tmp_path / "x", env=env)
    assert missing.returncode == 1 and "cqia/nope" in missing.stderr and "not found" in missing.stderr
    unknown = _cqia("audit", "--repo-id", "cqia/audit-me", "--config", "zzz", "--endpoint", hub_server.url,
                    "--out", tmp_path / "y", env=env)
    assert unknown.returncode == 1 and "finance" in unknown.stderr


def test_json_output_parses_with_progress_bars_on(tmp_path: Path) -> None:
    # Progress bars are on by default; they go to stderr, so `--json` on stdout stays one JSON document.
    result = _cqia("audit", f"alpaca={DEMO / 'alpaca_zh.jsonl'}", "--out", tmp_path / "audit", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert "audit" in summary["stages"]
    assert "audit" in result.stderr  # the bars were drawn, on stderr
