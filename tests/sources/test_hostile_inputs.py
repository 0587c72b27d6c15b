"""Regressions from the hostile-user campaign (issue 12): each bad file or item becomes a located
reject, reading goes on, and records + rejects account for every item. Files come from
`hostile_files.py` (generated here, imitating the layouts of the real samples)."""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path

import orjson
import pytest

from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import Stage, run_stage
from schemas import CuratedRecord, InvalidItem
from sources.classical import iter_classical
from sources.exam import iter_exam
from sources.instruct_import import iter_import
from sources.settings import load_settings
from tests.sources import hostile_files as hf

SETTINGS = load_settings("coig_pc")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, hf.Hostile]:
    return {h.name: h for h in hf.build_corpus(tmp_path_factory.mktemp("hostile"))}


def _split(out: list) -> tuple[list[CuratedRecord], list[InvalidItem]]:
    return [o for o in out if isinstance(o, CuratedRecord)], [o for o in out if isinstance(o, InvalidItem)]


def _import(path: Path, fmt: str = "alpaca") -> tuple[list[CuratedRecord], list[InvalidItem]]:
    return _split(list(iter_import([path], fmt, "coig_pc", SETTINGS)))


def _item_indices(outcomes: list, path: Path) -> list[int]:
    """The item index (file#i) or line (file:n) each outcome names, for accounting."""
    found = []
    for o in outcomes:
        location = o.provenance.location if isinstance(o, CuratedRecord) else o.location
        match = re.fullmatch(re.escape(str(path)) + r"(?:#(\d+)|:(\d+))(?:/.*)?", location)
        if match:
            found.append(int(match.group(1) or match.group(2)))
    return found


def _through_runner(tmp_path: Path, outcomes: list) -> dict:
    """Write outcomes with the real runner (its reject path serialises raw values)."""
    stage = Stage(name="ingest-hostile", produce=lambda skip: iter(outcomes[skip:]), inputs=[])
    return run_stage(RunDir(tmp_path / "run"), stage, progress=False).manifest


# ------------------------------------------------------------------------------------ crashes


def test_parquet_corrupt_page_costs_only_its_row_group(corpus) -> None:
    path = corpus["corrupt_group.parquet"].path
    records, invalid = _import(path)
    assert len(records) == 200 and len(invalid) == 100
    assert {i.reason for i in invalid} == {"parquet_corrupt"} and "Corrupt snappy" in invalid[0].detail
    assert sorted(_item_indices(records + invalid, path)) == list(range(300))
    assert invalid[0].location == f"{path}#100"


def test_parquet_binary_decimal_and_timestamp_columns(corpus, tmp_path: Path) -> None:
    path = corpus["extra_columns.parquet"].path
    records, invalid = _import(path)
    # alpaca reads its three columns; the binary (some cells not UTF-8), decimal and timestamp
    # columns beside them must not cost a row
    assert not invalid and [r.provenance.location for r in records] == [f"{path}#{i}" for i in range(5)]
    assert [r.record.output for r in records] == [i["output"] for i in hf.alpaca_items(5)]
    # COIG-CQIA format: the extra columns fail the schema; the reject must be writable by the runner
    outcomes = list(iter_import([path], "coig-cqia", "coig_pc", SETTINGS))
    manifest = _through_runner(tmp_path, outcomes)
    assert manifest["counts"]["in"] == 5 and manifest["counts"]["kept"] == 0


def test_parquet_instruction_column_with_non_utf8_bytes(corpus) -> None:
    path = corpus["bad_utf8.parquet"].path
    records, invalid = _import(path)
    assert len(records) == 3 and [(i.location, i.reason) for i in invalid] == [(f"{path}#1", "parquet_cell")]
    assert "string column 'instruction'" in invalid[0].detail and "0xFF" in invalid[0].detail


def test_deep_alpaca_history_is_one_reject(corpus, tmp_path: Path) -> None:
    path = corpus["array_deep_history.json"].path
    out = list(iter_import([path], "alpaca", "coig_pc", SETTINGS))
    assert [getattr(o, "reason", "record") for o in out] == ["record", "too_deep", "record"]
    assert out[1].location == f"{path}#1"
    assert _through_runner(tmp_path, out)["counts"]["invalid"] == {"too_deep": 1}


def test_deep_gaokao_field_is_one_reject(corpus) -> None:
    path = corpus["gaokao_deep.json"].path
    out = list(iter_exam([path]))
    assert [getattr(o, "reason", "record") for o in out] == ["record", "too_deep", "record"]
    assert out[1].location == f"{path}#1"


def test_deep_poem_paragraphs_reach_the_runner_without_crashing(corpus, tmp_path: Path) -> None:
    path = corpus["poems_deep.json"].path
    out = list(iter_classical([path]))
    assert [o.reason for o in out if isinstance(o, InvalidItem)] == ["too_deep"]
    assert sorted(set(_item_indices(out, path))) == [0, 1, 2]
    counts = _through_runner(tmp_path, out)["counts"]
    assert counts["invalid_total"] == 1 and counts["kept"] == len(out) - 1


# ------------------------------------------------------------------------ records lost silently


def test_json_object_with_several_lists_reads_them_all(corpus) -> None:
    path = corpus["object_lists.json"].path
    records, invalid = _import(path)
    assert not invalid and [r.record.instruction for r in records] == [i["instruction"] for i in hf.alpaca_items(5)]


def test_pandas_split_layout_yields_one_record_per_row(corpus) -> None:
    path = corpus["pandas_split.json"].path
    records, invalid = _import(path)
    assert not invalid and [r.record.output for r in records] == [i["output"] for i in hf.alpaca_items(4)]
    assert records[0].provenance.location == f"{path}#0"


def test_csv_cell_over_128k_does_not_end_the_file(corpus) -> None:
    path = corpus["cmmlu_long_cell.csv"].path
    out = list(iter_exam([path]))
    records, invalid = _split(out)
    assert not invalid and len(records) == 5  # the long row and the two after it are read
    assert len(records[2].record.instruction) > 200_000 and records[4].provenance.location.endswith(":6")


def test_truncated_html_is_a_reject_not_fewer_records(samples_dir: Path) -> None:
    from sources import douban
    from sources.http.page import RawPage

    body = (samples_dir / "douban" / "neodb__https___movie_douban_com_subject_3541415_.html").read_bytes()
    page = RawPage(location="file://cut.html", body=body[: int(len(body) * 0.7)], fetched_at="t")
    out = list(douban.parse(page, load_settings("douban")))
    assert [(o.location, o.reason) for o in out] == [("file://cut.html", "truncated_html")]
    whole = list(douban.parse(RawPage(location="file://whole.html", body=body, fetched_at="t"), load_settings("douban")))
    assert whole and all(isinstance(o, CuratedRecord) for o in whole)


def test_jsonl_with_bom_keeps_its_first_record(corpus) -> None:
    records, invalid = _import(corpus["lines_bom.jsonl"].path)
    assert not invalid and len(records) == 50 and records[0].record.instruction == hf.alpaca_items(1)[0]["instruction"]
    assert records[0].provenance.extra["encoding"] == "utf-8-sig"


@pytest.mark.parametrize(("name", "records_expected"), [
    ("array_bom.json", 200), ("array_gbk.json", 200), ("array_utf16.json", 200), ("array_bad_byte.json", 199),
])
def test_json_array_bom_gbk_and_bad_byte_are_read_as_an_array(corpus, name: str, records_expected: int) -> None:
    path = corpus[name].path
    records, invalid = _import(path)
    assert len(records) == records_expected and len(invalid) == 200 - records_expected
    assert sorted(_item_indices(records + invalid, path)) == list(range(200))
    assert records[0].record.instruction == hf.alpaca_items(1)[0]["instruction"]  # decoded, not mojibake
    if name == "array_gbk.json":
        assert records[0].provenance.extra["encoding"] == "gb18030"
    if invalid:
        assert invalid[0].location == f"{path}#57" and invalid[0].reason == "encoding"
        assert "0xFF" in invalid[0].detail


# ------------------------------------------------------------------------------------- scale


def test_huge_file_level_field_is_not_copied_into_records(corpus) -> None:
    path = corpus["gaokao_huge_keywords.json"].path
    records, invalid = _split(list(iter_exam([path])))
    assert len(records) == 3 and not invalid
    for record in records:
        assert len(orjson.dumps(record.provenance.model_dump())) < 5_000
        assert record.provenance.extra["file_keyword"] == path.stem


def test_source_name_that_escapes_the_run_dir_is_refused(tmp_path: Path, corpus) -> None:
    from typer.testing import CliRunner

    from curation.cli import app

    run = tmp_path / "a" / "b" / "run"
    result = CliRunner().invoke(app, ["ingest", "import", str(corpus["array.json"].path), "--format", "alpaca",
                                      "--source", "../../x", "--run", str(run)])
    assert result.exit_code == 1
    assert "--source" in result.output and "not a config name" in result.output
    assert not (tmp_path / "a" / "x").exists() and not run.exists()
    with pytest.raises(ValueError, match="one folder name"):
        run_stage(RunDir(run), Stage(name="../escape", produce=lambda skip: iter(()), inputs=[]), progress=False)
    assert not (tmp_path / "a" / "b" / "escape").exists()


# ------------------------------------------------------------------------ unreadable files


@pytest.mark.parametrize("name", ["dir.json", "loop.json", "empty.json", "not_parquet.parquet", "binary.json"])
def test_unreadable_or_empty_file_is_one_reject_and_the_next_file_is_read(corpus, name: str) -> None:
    out = list(iter_import([corpus[name].path, corpus["lines.jsonl"].path], "alpaca", "coig_pc", SETTINGS))
    records, invalid = _split(out)
    assert len(records) == 50 and len(invalid) >= 1
    assert all(i.location.startswith(str(corpus[name].path)) for i in invalid)


def test_unsupported_file_type_is_a_reject_naming_it(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n")
    (tmp_path / "y.jsonl").write_text(json.dumps(hf.alpaca_items(1)[0], ensure_ascii=False) + "\n", encoding="utf-8")
    out = list(iter_import([tmp_path / "x.csv", tmp_path / "y.jsonl"], "alpaca", "x", SETTINGS))
    assert isinstance(out[0], InvalidItem) and out[0].reason == "unsupported_file" and out[0].location.endswith("x.csv")
    assert isinstance(out[1], CuratedRecord)


def test_jsonl_utf16_and_gbk(tmp_path: Path) -> None:
    lines = "\n".join(json.dumps(i, ensure_ascii=False) for i in hf.alpaca_items(3)) + "\n"
    for name, data in (("u16.jsonl", lines.encode("utf-16")), ("gbk.jsonl", lines.encode("gb18030")),
                       ("bom.jsonl", codecs.BOM_UTF8 + lines.encode())):
        (tmp_path / name).write_bytes(data)
        records, invalid = _import(tmp_path / name)
        assert not invalid and [r.record.output for r in records] == [i["output"] for i in hf.alpaca_items(3)], name
