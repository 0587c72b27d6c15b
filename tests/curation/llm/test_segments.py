"""Per-task cache segments (what Ray workers write into the run directory) on a real folder."""

from __future__ import annotations

from pathlib import Path

import orjson

from curation.llm.segments import SegmentCache, read_append_only, read_segments


def _row(key: str) -> dict:
    return {"key": key, "text": f"answer {key}", "request": {"messages": [{"role": "user", "content": key}]}}


def test_segments_are_written_whole_and_read_back_per_task(tmp_path: Path) -> None:
    root = tmp_path / "_cache" / "quality"
    cache = SegmentCache(root, 3, flush_rows=2, flush_s=3600)
    for key in ("a", "b", "c"):
        cache.append(_row(key))
    files = sorted((root / "00003").iterdir())
    assert len(files) == 1 and [orjson.loads(x)["key"] for x in files[0].read_bytes().splitlines()] == ["a", "b"]
    cache.flush()  # what the runner's sync() does before a checkpoint
    assert len(list((root / "00003").iterdir())) == 2
    cache.flush()  # nothing pending: no empty segment
    assert len(list((root / "00003").iterdir())) == 2

    again = SegmentCache(root, 3)  # the task re-run after a kill
    assert again.loaded == 3 and again.get("c")["text"] == "answer c"
    assert SegmentCache(root, 4).loaded == 0  # another task's segments are not read
    assert sorted(r["key"] for r in read_segments(root)) == ["a", "b", "c"]  # the driver reads them all


def test_a_killed_writers_temp_file_is_ignored_and_removed(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    (root / "00000").mkdir(parents=True)
    (root / "00000" / ".seg.jsonl.x1.tmp").write_bytes(b'{"key": "half')
    cache = SegmentCache(root, 0)
    assert cache.loaded == 0 and not list((root / "00000").iterdir())


def test_driver_file_is_read_only_with_its_torn_tail_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "llm_quality.jsonl"
    data = orjson.dumps(_row("x")) + b"\n" + b'{"key": "y", "te'
    path.write_bytes(data)
    rows = read_append_only(path)
    assert list(rows) == ["x"] and path.read_bytes() == data
    cache = SegmentCache(tmp_path / "seg", 0, base=rows)
    assert "x" in cache and cache.get("x")["text"] == "answer x" and len(cache) == 1
    assert read_append_only(tmp_path / "missing.jsonl") == {}


def test_segments_on_object_storage(s3_server) -> None:
    """The same on an s3:// run directory (moto_server, a real S3 HTTP API): each segment one PUT."""
    from curation.pipeline.storage import as_path

    root = as_path(s3_server.bucket("cqia-segments") + "/run/_cache/quality")
    cache = SegmentCache(root, 0, flush_rows=2, flush_s=3600)
    for key in ("a", "b", "c"):
        cache.append(_row(key))
    cache.flush()
    assert cache.segments_written == 2
    assert SegmentCache(root, 0).loaded == 3 and SegmentCache(root, 1).loaded == 0
    assert sorted(r["key"] for r in read_segments(root)) == ["a", "b", "c"]
