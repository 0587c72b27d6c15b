"""Line ranges of a large JSON Lines file: read range by range, the items (locations, indexes,
values, bytes, encoding) and rejects are exactly those of a whole-file read."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from schemas import InvalidItem
from sources.fileread import Item, LineRange, iter_items, iter_jsonl, split_json_lines
from sources.fileread import line_ranges as line_ranges_module


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _view(out: list) -> list:
    """Everything a reader says about each entry."""
    return [(o.location, o.index, o.value, o.raw, o.encoding) if isinstance(o, Item)
            else (o.location, o.reason, o.detail, o.raw) for o in out]


def _by_ranges(path: Path, lines: int) -> tuple[list[LineRange], list]:
    ranges = split_json_lines(path, lines)
    assert ranges is not None, "expected the file to be split"
    return ranges, [entry for part in ranges for entry in iter_items(part, "src")]


def _same_as_whole(path: Path, lines: int) -> list[LineRange]:
    ranges, parts = _by_ranges(path, lines)
    assert _view(parts) == _view(list(iter_items(path, "src")))
    return ranges


def test_rejects_on_both_sides_of_a_boundary_keep_their_line_numbers(tmp_path: Path) -> None:
    lines = [json.dumps({"n": i}) for i in range(10)]
    lines[2] = '{"n": 2'  # last line of range 0 (3 lines per range)
    lines[3] = "[1, 2"  # first line of range 1
    path = _write(tmp_path, "a.jsonl", "\n".join(lines) + "\n")
    ranges = _same_as_whole(path, 3)
    assert [(r.first_line, r.first_index) for r in ranges] == [(1, 0), (4, 3), (7, 6), (10, 9)]
    entries = [e for r in ranges for e in iter_items(r, "src")]
    rejects = [(e.location.rsplit("/", 1)[1], e.reason) for e in entries if isinstance(e, InvalidItem)]
    assert rejects == [("a.jsonl:3", "json_decode"), ("a.jsonl:4", "json_decode")]
    assert "line 4" in next(e.detail for e in entries if isinstance(e, InvalidItem) and e.location.endswith(":4"))


def test_blank_lines_count_as_lines_not_items(tmp_path: Path) -> None:
    text = '\n  \n{"a": 1}\n\r\n{"a": 2}\n\t\n\n{"a": 3}\n{"a": 4}\n   \n{"a": 5}\n'
    path = _write(tmp_path, "b.jsonl", text)
    for per in (1, 2, 3, 4, 5):
        _same_as_whole(path, per)
    ranges = split_json_lines(path, 4)
    assert ranges is not None
    assert [(r.first_line, r.first_index) for r in ranges] == [(1, 0), (5, 1), (9, 3)]  # lines 1,2,4 and 6,7 blank


def test_a_line_longer_than_the_read_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(line_ranges_module, "CHUNK", 64)  # lines span many reads of the planning pass
    long = json.dumps({"text": "长" * 300})
    path = _write(tmp_path, "c.jsonl", "\n".join([long, '{"a": 1}', long, long, '{"a": 2}', long]) + "\n")
    ranges = _same_as_whole(path, 2)
    assert len(ranges) == 3


def test_crlf_no_trailing_newline_and_a_cut_at_the_very_end(tmp_path: Path) -> None:
    crlf = _write(tmp_path, "d.jsonl", '{"a": 1}\r\n{"a": 2}\r\n{"a": 3}\r\n{"a": 4}\r\n{"a": 5}')
    assert len(_same_as_whole(crlf, 2)) == 3
    exact = _write(tmp_path, "e.jsonl", '{"a": 1}\n{"a": 2}\n{"a": 3}\n{"a": 4}\n')
    ranges = _same_as_whole(exact, 2)
    assert len(ranges) == 2 and ranges[-1].end == -1  # no empty range after the last newline


def test_utf8_bom_is_skipped_once(tmp_path: Path) -> None:
    path = _write(tmp_path, "f.jsonl", codecs.BOM_UTF8 + '{"a": "一"}\n{"a": "二"}\n{"a": "三"}\n'.encode())
    ranges = _same_as_whole(path, 1)
    assert ranges[0].start == 3 and all(r.encoding.name == "utf-8-sig" for r in ranges)


def test_a_bad_utf8_byte_is_a_located_reject_in_its_range(tmp_path: Path) -> None:
    path = _write(tmp_path, "g.jsonl", b'{"a": "\xe4\xb8\x80"}\n{"a": "\xff"}\n{"a": 3}\n{"a": 4}\n')
    _same_as_whole(path, 1)
    out = list(iter_jsonl(path))
    assert isinstance(out[1], InvalidItem) and out[1].reason == "encoding"


def test_files_read_whole(tmp_path: Path) -> None:
    """Not split: empty or blank-only, few lines, UTF-16, GB18030, a .json array, other formats."""
    assert split_json_lines(_write(tmp_path, "empty.jsonl", b""), 1) is None
    assert split_json_lines(_write(tmp_path, "blank.jsonl", "\n \n\r\n\n"), 1) is None
    assert split_json_lines(_write(tmp_path, "small.jsonl", '{"a": 1}\n{"a": 2}\n'), 2) is None
    two = '{"a": "一"}\n{"a": "二"}\n'
    assert split_json_lines(_write(tmp_path, "u16.jsonl", codecs.BOM_UTF16_LE + two.encode("utf-16-le")), 1) is None
    gb = "".join(json.dumps({"a": "中文内容" * 5}, ensure_ascii=False) + "\n" for _ in range(4)).encode("gb18030")
    assert split_json_lines(_write(tmp_path, "gb.jsonl", gb), 1) is None
    assert split_json_lines(_write(tmp_path, "arr.json", '[{"a": 1},\n{"a": 2},\n{"a": 3}]\n'), 1) is None
    assert split_json_lines(_write(tmp_path, "t.csv", "a\n1\n2\n"), 1) is None
    assert split_json_lines(tmp_path / "missing.jsonl", 1) is None


def test_json_lines_named_json_are_split(tmp_path: Path) -> None:
    path = _write(tmp_path, "h.json", '{"a": 1}\n{"a": 2}\n{"a": 3}\n')
    assert len(_same_as_whole(path, 1)) == 3


def test_many_ranges_are_merged_to_a_multiple_of_the_size(tmp_path: Path) -> None:
    path = _write(tmp_path, "i.jsonl", "".join(f'{{"n": {i}}}\n' for i in range(100)))
    ranges = split_json_lines(path, 1)
    assert ranges is not None and len(ranges) == 100
    fewer = line_ranges_module.split_lines(path, 1, max_ranges=8)
    assert fewer is not None and len(fewer) == 8 and [r.first_line for r in fewer[:3]] == [1, 14, 27]
    assert _view([e for r in fewer for e in iter_items(r, "src")]) == _view(list(iter_items(path, "src")))


def test_random_files_any_chunk_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blank, whitespace, CRLF, broken and long lines in random order, planned with read chunks
    smaller and larger than the lines: the ranges always read as the whole file."""
    import random

    rng = random.Random(17)
    kinds = ["", " ", "\t ", "\r", '{"a": "短"}', '{"a": "' + "长" * 40 + '"}', '{"a": 1', "[1, 2]", '"s"', "  {}"]
    for case in range(40):
        lines = [rng.choice(kinds) for _ in range(rng.randint(5, 60))]
        ending = rng.choice(["\n", "\r\n"])
        text = ending.join(lines) + rng.choice(["", ending])
        path = _write(tmp_path, f"r{case}.jsonl", text)
        monkeypatch.setattr(line_ranges_module, "CHUNK", rng.choice([7, 16, 100, 1 << 20]))
        ranges = line_ranges_module.split_lines(path, rng.randint(1, 9))
        whole = _view(list(iter_items(path, "src")))
        if ranges is None:
            continue
        assert _view([e for r in ranges for e in iter_items(r, "src")]) == whole, (case, text)


def test_a_file_gone_since_the_plan_is_one_located_reject(tmp_path: Path) -> None:
    path = _write(tmp_path, "j.jsonl", '{"a": 1}\n{"a": 2}\n{"a": 3}\n')
    ranges = split_json_lines(path, 1)
    assert ranges is not None
    path.unlink()
    out = list(iter_items(ranges[1], "src"))
    assert [(o.location, o.reason) for o in out] == [(str(path), "unreadable")]
