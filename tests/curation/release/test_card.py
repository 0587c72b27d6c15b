"""The release card users see on the Hub: `all` default config, figures stored in the release and
served by the (local) Hub, bilingual body, licence link, pipeline file; `load_dataset(repo)` with
no config loads every row."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from curation.release.build import build_release
from curation.release.push import push_release
from tests.hub_fixtures import HubProcess, load_in_subprocess

pytest_plugins = ["tests.hub_fixtures"]

REPO_ID = "cqia/card-test"
FIGURES = {"assets/funnel.png", "assets/drops_by_source.png", "assets/lengths_by_source.png"}


def _card(release: Path) -> tuple[dict, str]:
    text = (release / "README.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1]), text


def test_card_declares_all_as_default_and_links_its_files(built_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "release"
    build_release(built_run, out)
    meta, text = _card(out)
    assert meta["configs"][0] == {"config_name": "all", "data_files": [{"split": "train", "path": "*/*.parquet"}],
                                  "default": True}
    assert [c["config_name"] for c in meta["configs"][1:]] == ["coig_pc", "ruozhiba"]
    # license: other needs a name and a link to a file that exists in the release
    assert meta["license"] == "other" and meta["license_name"] and (out / meta["license_link"]).is_file()
    licenses = (out / meta["license_link"]).read_text(encoding="utf-8")
    assert "| ruozhiba |" in licenses and "| coig_pc |" in licenses
    # every image the card shows is a PNG stored in the release
    images = set(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text))
    assert images == FIGURES
    for rel in images:
        assert (out / rel).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # bilingual, Chinese first; uses / out of scope / limitations present
    for zh, en in (("本数据集是用", "Chinese instruction-tuning data"), ("**用途**", "**Uses**"),
                   ("**不适用范围**", "**Out of scope**")):
        assert text.index(zh) < text.index(en)
    assert "**局限 · Limitations**" in text
    # 20 ruozhiba rows are LLM-answered: the limitation states it from the data
    assert "- 20 rows (2.0%) have answers written by an LLM" in text
    # stage parameters live in cqia_pipeline.yaml (linked), not in the card body
    assert "[cqia_pipeline.yaml](cqia_pipeline.yaml)" in text and "segmenter" not in text
    pipeline = yaml.safe_load((out / "cqia_pipeline.yaml").read_text(encoding="utf-8"))
    assert [s["stage"] for s in pipeline["stages"]] == ["ingest-ruozhiba", "ingest-coig_pc", "validate"]
    inputs = pipeline["stages"][1]["inputs"]
    assert {i["file"] for i in inputs} == {"llama-factory__alpaca_zh_demo.json", "bad.jsonl"}
    assert str(tmp_path) not in (out / "cqia_pipeline.yaml").read_text(encoding="utf-8")  # no builder paths


def test_local_release_loads_without_a_config(built_run: Path, tmp_path: Path) -> None:
    import datasets

    out = tmp_path / "release"
    build_release(built_run, out, figures=False)
    everything = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert everything.num_rows == 1021
    one = datasets.load_dataset(str(out), "ruozhiba", split="train", cache_dir=str(tmp_path / "cache"))
    assert one.num_rows == 20 and set(one["answer_from"]) == {"llm"}


def test_parquet_is_written_for_hub_dedup(built_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "release"
    build_release(built_run, out, batch_rows=100, row_group_bytes=200_000)  # small groups: several are written
    meta = pq.ParquetFile(out / "coig_pc" / "train-00000-of-00001.parquet").metadata
    assert b"content_defined_chunking" in meta.metadata and b"huggingface" in meta.metadata
    assert meta.num_row_groups > 1
    groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
    assert all(g.column(0).has_offset_index and g.column(0).has_column_index for g in groups)  # page index
    assert sum(g.num_rows for g in groups) == 1001
    # the byte budget, not the row count, decides: each group but the last holds >= 200 kB of Arrow data
    table = pq.read_table(out / "coig_pc" / "train-00000-of-00001.parquet")
    offsets = [0]
    for g in groups:
        offsets.append(offsets[-1] + g.num_rows)
    sizes = [table.slice(a, b - a).nbytes for a, b in zip(offsets, offsets[1:], strict=False)]
    assert all(s >= 200_000 for s in sizes[:-1])


def test_release_on_the_local_hub_loads_without_a_config_and_serves_its_figures(
        built_run: Path, hub_server: HubProcess, hf_env, tmp_path: Path) -> None:
    out = tmp_path / "release"
    build_release(built_run, out)
    result = push_release(out, REPO_ID, token=hub_server.tokens["alice"], endpoint=hub_server.url, progress=False)
    assert {c.config for c in result.checks} == {"all", "coig_pc", "ruozhiba"} and all(c.ok for c in result.checks)
    assert {c.config: c.remote_rows for c in result.checks}["all"] == 1021

    # `load_dataset(repo)` with no config name, in a cold cache: the default `all` config, every row
    got = load_in_subprocess(hub_server.url, REPO_ID, None, home=tmp_path / "cold")
    assert "rows" in got, got
    assert len(got["rows"]) == 1021
    assert {r["answer_from"] for r in got["rows"]} == {"human", "llm"}

    # the card's images resolve on the Hub (what the dataset page fetches for relative links)
    _, text = _card(out)
    for rel in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        with urllib.request.urlopen(f"{hub_server.url}/datasets/{REPO_ID}/resolve/main/{rel}", timeout=30) as r:
            assert r.read() == (out / rel).read_bytes()
