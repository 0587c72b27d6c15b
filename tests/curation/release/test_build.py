"""Release build: Hub layout, a card whose YAML `datasets` can use, and content equal to the run."""

from __future__ import annotations

import json
import subprocess
import sys
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


# ---- an interrupted build leaves nothing behind (issue 12) -------------------------------------
@pytest.fixture(scope="module")
def big_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose build takes a few seconds after its first Parquet part appears (10k rows)."""
    n = 40_000
    from curation.pipeline.runner import Stage, run_stage
    from schemas import CuratedRecord, InstructionRecord

    def produce(skip: int):
        for i in range(skip, n):
            yield CuratedRecord(id=f"r{i:08d}", source="demo", record=InstructionRecord(
                instruction=f"第{i}个问题：请解释这个概念。", output=f"这是第{i}个回答，" + "内容充实。" * 20,
                task_type={"major": ["问答"], "minor": ["通用问答"]}, domain=["通用"],
                answer_from="human", human_verified=False))

    run = tmp_path_factory.mktemp("big") / "run"
    # 20 shards: the build converts shard by shard and writes each as soon as it is next, so a
    # Parquet part is open for most of the build (with 2 shards it would be a fraction of a second)
    run_stage(RunDir(run), Stage("validate", produce, inputs=[{"n": n}], shard_size=2000), progress=False)
    return run


def _interrupt_build(run: Path, out: Path, sig: int) -> list[Path]:
    """Start `cqia release build`, send `sig` once a Parquet part is being written; the staging
    folders left beside OUT afterwards."""
    import time

    proc = subprocess.Popen([sys.executable, "-m", "curation.cli", "release", "build", str(run), "--out", str(out)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.parent.glob(f".{out.name}.*/*/*.parquet.partial")):
        assert proc.poll() is None, f"build ended before it was interrupted: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "no Parquet part appeared"
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.wait(60)
    assert proc.returncode != 0
    assert not out.exists()
    return [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


@pytest.mark.parametrize("sig_name", ["SIGTERM", "SIGHUP"])
def test_terminated_build_removes_its_staging_folder(big_run: Path, tmp_path: Path, sig_name: str) -> None:
    import signal

    assert _interrupt_build(big_run, tmp_path / "release", getattr(signal, sig_name)) == []


def test_killed_build_leftovers_are_removed_by_the_next_build(big_run: Path, tmp_path: Path) -> None:
    import signal

    run, out = big_run, tmp_path / "release"
    left = _interrupt_build(run, out, signal.SIGKILL)
    assert len(left) == 1 and list(left[0].rglob("*.parquet.partial"))  # SIGKILL: nothing can clean up
    other = tmp_path / ".release.build-1-running"  # pid 1 is alive: a build in progress is left alone
    other.mkdir()
    result = _cqia("release", "build", str(run), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"removed {left[0]}" in result.stderr.replace("\n", "")
    assert not left[0].exists() and other.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".release.")] == [other.name]
    assert (out / "demo").is_dir() and not list(out.rglob("*.partial"))


def _model_release_row(line: bytes, secrets: list[str]) -> tuple[str, dict, dict]:
    """The release row the model path gives (validate, scrub, `release_row`): the reference."""
    from schemas import CuratedRecord
    from schemas.redact import redact_obj, redact_text

    record = CuratedRecord.model_validate_json(line)
    if record.provenance.extra:
        record.provenance.extra = redact_obj(record.provenance.extra, secrets, use_env=False)
    record.record.metadata = redact_text(record.record.metadata, secrets, use_env=False)
    return record.source, record.release_row(), record.provenance.model_dump()


def test_rows_built_from_json_equal_the_model_path_scrubbing_included() -> None:
    """The build makes release rows from the parsed line; they must be the model's rows, with the
    same credentials scrubbed from metadata and provenance (values checked by hand below)."""
    import orjson

    from curation.release.build import _fast_release_row
    from schemas import CuratedRecord

    secret = "hf_abcdefghijklmnop"
    task = {"major": ["问答"], "minor": ["百科"]}
    records = [
        {"id": "a1", "source": "s", "record": {"instruction": "问", "output": "答", "task_type": task,
                                               "domain": ["通用"], "answer_from": "human", "human_verified": True}},
        {"id": "a2", "source": "s-2", "record": {
            "instruction": "问\t题", "input": "上下文\n第二行", "output": "答 \"引号\" \\ 😀", "task_type": task,
            "domain": ["医疗", "法律"], "metadata": f"Authorization: Bearer {secret} 来源", "answer_from": "llm",
            "human_verified": False, "copyright": "作者"},
         "provenance": {"source_id": "7", "url": "https://u:p@x.org/a?token=abc&b=1", "license": "MIT",
                        "location": "f.jsonl:3", "raw_sha256": "00", "fetched_at": "2024-01-01T00:00:00Z",
                        "extra": {"votes": 3, "score": 0.1, "review_status": "accepted", "api_key": "k" * 10,
                                  "note": f"see {secret}", "nested": [{"password": "pw123456"}, 1.5e300, None]}},
         "stats": {"chars": 3}},
        {"id": "a3", "source": "s", "record": {"instruction": "问", "output": "答", "task_type": task,
                                               "domain": ["通用"], "answer_from": "human", "human_verified": False},
         "provenance": {"url": "", "extra": {}}, "drop_reason": None},
    ]
    for data in records:
        line = CuratedRecord.model_validate(data).model_dump_json().encode()
        fast = _fast_release_row(orjson.loads(line), [secret])
        assert fast is not None
        source, row, prov = _model_release_row(line, [secret])
        assert (fast[0], fast[1]) == (source, row)
        assert json.dumps(fast[1], ensure_ascii=False) == json.dumps(row, ensure_ascii=False)  # key order too
        assert fast[2]["extra"] == prov["extra"]
    meta = json.loads(_fast_release_row(orjson.loads(CuratedRecord.model_validate(records[1]).model_dump_json()),
                                        [secret])[1]["metadata"])
    assert secret not in json.dumps(meta) and "abc" not in meta["provenance"]["url"]
    assert meta["provenance"]["url"] == "https://x.org/a?token=REDACTED&b=1"
    assert meta["provenance"]["extra"]["api_key"] == "REDACTED"
    assert meta["provenance"]["extra"]["nested"][0]["password"] == "REDACTED"
    assert meta["source_metadata"] == "Authorization: REDACTED"  # the header value runs to the line end


def test_rows_breaking_the_strict_text_rule_take_the_model_path() -> None:
    """A control character in the text (legal before the clean stage) or another layout is left to
    the model, which rejects it with its reason."""
    import orjson

    from curation.release.build import _fast_release_row
    from schemas import RAW_TEXT, CuratedRecord

    data = {"id": "a", "source": "s", "record": {"instruction": "问\x0c", "output": "答", "domain": ["通用"],
                                                 "task_type": {"major": ["x"], "minor": ["y"]},
                                                 "answer_from": "human", "human_verified": False}}
    line = CuratedRecord.model_validate(data, context=RAW_TEXT).model_dump_json().encode()
    assert _fast_release_row(orjson.loads(line), []) is None
    assert _fast_release_row({"id": "a"}, []) is None
    assert _fast_release_row([1], []) is None


# Every character the JSON encoder treats specially (controls, quote, backslash), its neighbours,
# and non-ASCII it passes through (ensure_ascii=False): CJK, U+2028, a non-BMP emoji, DEL.
_TRICKY = "".join(map(chr, range(0x20))) + "\"\\/ ,:{}[]\x7f\x80\u2028\u2029问答😀\U0010ffff"


def test_composed_metadata_equals_the_encoder() -> None:
    """The build composes `metadata` from the encoder's pieces; it must be the encoder's bytes for
    every provenance shape: values absent, empty, full of escapes, non-string (encoder fallback)."""
    from curation.release.build import _PROVENANCE_KEYS, _release_metadata
    from schemas.record import RELEASE_METADATA_ENCODER, release_metadata

    def both(record_id, source, source_metadata, prov):
        extra_json = RELEASE_METADATA_ENCODER.encode(prov["extra"]) if prov["extra"] else None
        composed = _release_metadata(record_id, source, source_metadata, prov, extra_json)
        expected = release_metadata(record_id, source, source_metadata,
                                    {k: v for k, v in prov.items() if v is not None and (k != "extra" or v)})
        assert composed == expected
        return composed

    empty = dict.fromkeys(_PROVENANCE_KEYS) | {"extra": {}}
    assert both("i", "s", "m", empty) == '{"cqia_id": "i", "provenance": {}, "source": "s", "source_metadata": "m"}'
    full = {key: f"{key}{_TRICKY}" for key in _PROVENANCE_KEYS} | {
        "extra": {"z": 1, "a": [None, 1.5, {"k": _TRICKY}], _TRICKY: True, "b": ""}}
    both(_TRICKY, _TRICKY, _TRICKY, full)
    both("i", "s", "", full | {"url": "", "author": None, "extra": {"import_format": "alpaca"}})
    for key in _PROVENANCE_KEYS:  # each value alone, and each dropped
        both("i", "s", "m", empty | {key: full[key]})
        both("i", "s", "m", full | {key: None})
    meta = both("i", "s", "m", empty | {"fetched_at": 5, "license": 1.5})  # not strings: the encoder
    assert json.loads(meta)["provenance"] == {"fetched_at": 5, "license": 1.5}
    for char in map(chr, range(0x20)):  # escapes checked by hand: \uXXXX but for the 5 short forms
        short = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
        escaped = short.get(char, "\\u" + format(ord(char), "04x"))
        assert both(char, "s", "m", empty).startswith('{"cqia_id": "' + escaped + '"')


def test_column_statistics_equal_the_row_by_row_counts() -> None:
    """The card's per-config statistics are now counted per column in each task; they must be what
    counting row by row gave (the old `ConfigStats.add`), Counter order (first seen) included."""
    from collections import Counter

    from curation.release.build import ConfigStats, _ConfigColumns

    def row(i: int) -> dict:
        return {"instruction": "问" * (i % 7 + 1), "input": "", "output": "答😀" * (i % 5 + 1),
                "task_type": {"major": [["问答", "翻译"][i % 2], "分类"][: i % 3], "minor": []},
                "domain": [["通用", "医疗", "法律"][i % 3]] * (i % 2 + 1), "metadata": "{}",
                "answer_from": ["llm", "human"][i % 3 == 0], "human_verified": i % 4 == 0, "copyright": ""}

    columns, reference = _ConfigColumns(), ConfigStats("c")
    for i in range(50):
        license_ = [None, "MIT", "cc-by-4.0", ""][i % 4]
        extra = [{}, {"review_status": "held"}, {"review_status": "pending", "verified_by": "annotation"},
                 {"verified_by": "upstream", "annotation": {"conflict": True}}][i % 4]
        r = row(i)
        columns.add(r, license_, extra, r["human_verified"])
        # the old row-by-row counting, verbatim
        reference.rows += 1
        if extra.get("review_status"):
            reference.review_status[extra["review_status"]] += 1
        reference.human_verified += bool(r["human_verified"])
        reference.answer_from[r["answer_from"]] += 1
        reference.licenses[license_ or "unknown"] += 1
        reference.domains.update(r["domain"])
        reference.task_major.update(r["task_type"]["major"])
        reference.instruction_len.append(len(r["instruction"]))
        reference.output_len.append(len(r["output"]))
        reference.add_verification(r["human_verified"], extra)
    stats = columns.stats("c")
    assert stats == reference and stats.summary() == reference.summary()
    for name in ("answer_from", "licenses", "domains", "task_major", "review_status", "verification"):
        assert list(getattr(stats, name).items()) == list(getattr(reference, name).items())
    # by hand: i % 4 is 0 or 3 (None, "") 13 + 12 times, 1 (MIT) 13 times, 2 12 times
    assert reference.licenses == Counter({"unknown": 25, "MIT": 13, "cc-by-4.0": 12})
