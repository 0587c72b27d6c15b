"""Release build: Hub layout, a card whose YAML `datasets` can use, and content equal to the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from curation.pipeline.rundir import RunDir
from curation.release.build import ReleaseBuildError, build_release
from tests.curation.release.conftest import cqia as _cqia

REPO = Path(__file__).resolve().parents[3]


def test_build_loads_every_config_with_identical_content(built_run: Path, tmp_path: Path) -> None:
    import datasets

    out = tmp_path / "release"
    summary = build_release(built_run, out, shard_rows=300)
    run = RunDir(built_run)
    expected: dict[str, list[dict]] = {}
    for record in run.iter_records("validate"):
        expected.setdefault(record.source, []).append(record.release_row())
    assert {c["config"] for c in summary.configs} == set(expected) == {"ruozhiba", "coig_pc"}
    assert sorted(p.name for p in (out / "coig_pc").iterdir()) == [
        f"train-{i:05d}-of-00004.parquet" for i in range(4)
    ]
    for config, rows in expected.items():
        ds = datasets.load_dataset(str(out), name=config, split="train", cache_dir=str(tmp_path / "cache"))
        assert ds.num_rows == len(rows)
        assert ds.to_list() == rows


def test_card_yaml_and_body_reflect_the_data(built_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "release"
    build_release(built_run, out)
    card = (out / "README.md").read_text(encoding="utf-8")
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["language"] == ["zh"] and meta["size_categories"] == ["1K<n<10K"]
    assert {c["config_name"]: c["data_files"][0]["path"] for c in meta["configs"]} == {
        "all": "*/*.parquet", "coig_pc": "coig_pc/*.parquet", "ruozhiba": "ruozhiba/*.parquet",
    }
    assert "| ruozhiba | 20 | 20 | llm: 20 |" in card
    assert "| coig_pc | 1001 | 0 | human: 1001 |" in card
    # the malformed line of bad.jsonl is reported with its reason in the stage table
    assert "| ingest-coig_pc | coig_pc | 1002 | 1001 | 0 | 1 | json_decode: 1 |" in card
    assert "@misc{bai2024coigcqia" in card


def test_existing_release_dir_is_not_clobbered(built_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "release"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(ReleaseBuildError, match="not empty"):
        build_release(built_run, out)
    assert (out / "keep.txt").exists()
    build_release(built_run, out, overwrite=True)
    assert not (out / "keep.txt").exists()


def test_cli_release_build_and_status(built_run: Path, tmp_path: Path) -> None:
    result = _cqia("release", "build", str(built_run), "--out", str(tmp_path / "rel"))
    assert result.returncode == 0, result.stderr
    assert "coig_pc" in result.stdout
    status = _cqia("run", "status", str(built_run), "--json")
    counts = json.loads(status.stdout)
    assert counts["validate"]["kept"] == 1021
    missing = _cqia("release", "build", str(tmp_path / "nope"), "--out", str(tmp_path / "x"))
    assert missing.returncode == 1 and "no completed stage" in missing.stderr
