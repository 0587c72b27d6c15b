"""The release card: its human-verification statements over real COIG-CQIA rows (all upstream-verified),
and what users see on the Hub: the `all` default config, figures stored in the release and served by
the (local) Hub, bilingual body, licence link, pipeline file; `load_dataset(repo)` with no config.

Issue 13: a held (disputed) upstream row shipped with human_verified=true and the card said
"N rows are human-verified" beside "held: 4". Here every state of the rule occurs once or more and
the card's figures are checked against counts worked out by hand from the verdicts below.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import yaml

from annotation.verdicts import Verdict
from curation.cli.annotate import write_verified_stage
from curation.pipeline.rundir import RunDir
from curation.release.build import build_release
from curation.release.push import push_release
from tests.hub_fixtures import HubProcess, load_in_subprocess

pytest_plugins = ["tests.hub_fixtures"]

REPO = Path(__file__).resolve().parents[3]


def _cqia(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "curation.cli", *args], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr


def test_card_counts_verified_here_upstream_pending_held_rejected(samples_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    _cqia("ingest", "import", "--format", "coig-cqia", str(samples_dir / "coig_cqia" / "cqia_ruozhiba_first20.jsonl"),
          "--source", "ruozhiba", "--run", str(run))
    _cqia("run", "validate", str(run))
    records = list(RunDir(run).iter_records("validate"))
    assert len(records) == 20 and all(r.record.human_verified for r in records)  # upstream says verified
    ids = [r.id for r in records]

    def v(i: int, who: str, verdict: str, t: str, **kw) -> Verdict:
        return Verdict(ids[i], who, verdict, created_at=t, **kw)

    verdicts = {
        ids[0]: [v(0, "a", "accept", "1")],                                   # verified here
        ids[1]: [v(1, "a", "accept", "1"), v(1, "b", "accept", "2")],          # verified here
        ids[2]: [v(2, "a", "accept", "1"), v(2, "b", "accept", "2"),
                 v(2, "c", "reject", "3", reasons=("pii",))],                  # here, by majority over a dissent
        ids[3]: [v(3, "a", "accept", "1"), v(3, "b", "reject", "2", reasons=("low_quality",))],  # held (tie)
        ids[4]: [v(4, "a", "reject", "1", reasons=("factually_wrong",))],      # rejected: not released
    }
    pushed = set(ids[:10])  # 5 with verdicts, 5 pushed without one; 10 never pushed
    write_verified_stage(run, "validate", verdicts, pushed=pushed, progress=False)
    release = build_release(run, tmp_path / "release")
    card = (tmp_path / "release" / "README.md").read_text(encoding="utf-8")

    # 19 released; human_verified: 3 accepted here + 15 upstream rows nobody here reviewed (5 pushed
    # without a verdict, 10 never pushed); the held row and the rejected one are not verified
    assert release.total_rows == 19
    assert ("19 rows in 1 configs; 18 rows carry `human_verified: true`: 3 verified here by our annotators and "
            "15 upstream-verified rows nobody here has reviewed. Not verified: 0 pending review, 1 held (disputed), "
            "0 not in review; 1 rows people here rejected are not released.") in card
    assert "| ruozhiba | 3 | 15 | 0 | 1 | 0 | 1 |" in card
    assert "1 of the rows verified here were accepted by the conflict policy" in card
    assert "never `human_verified: true`" in card

    rows = pd.read_parquet(next((tmp_path / "release" / "ruozhiba").glob("*.parquet")))
    flags = dict(zip(rows["metadata"].map(lambda m: json.loads(m)["cqia_id"]), rows["human_verified"], strict=True))
    assert not flags[ids[3]]  # the held row ships unverified
    assert ids[4] not in flags
    assert sum(bool(x) for x in flags.values()) == 18


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
