"""The streaming JSON reader: layouts, locations, context, and damage that costs one item."""

from __future__ import annotations

import json
from pathlib import Path

from schemas import InvalidItem
from sources.fileread import Item, iter_json, iter_jsonl


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _summary(out: list) -> list:
    return [(o.location.rsplit("/", 1)[1], o.value) if isinstance(o, Item) else (o.location.rsplit("/", 1)[1], o.reason)
            for o in out]


def test_array_items_and_offsets(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.json", '[{"a": "x]"}, 2, "s\\"}", null, [1, {"b": []}]]')
    out = list(iter_json(path))
    assert _summary(out) == [("a.json#0", {"a": "x]"}), ("a.json#1", 2), ("a.json#2", 's"}'), ("a.json#3", None),
                             ("a.json#4", [1, {"b": []}])]
    assert out[0].raw == b'{"a": "x]"}'


def test_object_context_is_small_scalars_seen_before_the_list(tmp_path: Path) -> None:
    doc = {"keywords": "kw", "big": "x" * 5000, "nested": {"a": 1}, "example": [{"q": 1}], "after": 3, "more": [2]}
    out = list(iter_json(_write(tmp_path, "g.json", json.dumps(doc))))
    assert [o.value for o in out] == [{"q": 1}, 2] and [o.index for o in out] == [0, 1]
    assert dict(out[0].context) == {"keywords": "kw"} and dict(out[1].context) == {"keywords": "kw", "after": 3}


def test_mismatched_bracket_costs_one_item_and_trailing_data_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "m.json", '[{"a": [1}, {"b": 2}] garbage')
    out = list(iter_json(path))
    assert _summary(out) == [("m.json#0", "json_decode"), ("m.json#1", {"b": 2}), ("m.json@22", "trailing_data")]


def test_json_lines_saved_as_json_and_blank_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, "l.json", '{"a": 1}\n\n{"a": 2\n{"a": 3}\n')
    assert _summary(list(iter_json(path))) == [("l.json:1", {"a": 1}), ("l.json:3", "json_decode"), ("l.json:4", {"a": 3})]
    assert _summary(list(iter_jsonl(path))) == _summary(list(iter_json(path)))


def test_pretty_printed_single_object_is_a_container_not_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, "o.json", json.dumps({"data": [{"a": 1}, {"a": 2}]}, indent=2))
    assert _summary(list(iter_json(path))) == [("o.json#0", {"a": 1}), ("o.json#1", {"a": 2})]


def test_truncated_inside_an_item(tmp_path: Path) -> None:
    out = list(iter_json(_write(tmp_path, "t.json", '[{"a": 1}, {"a": "unfinish')))
    assert _summary(out) == [("t.json#0", {"a": 1}), ("t.json#1", "truncated")]
    assert isinstance(out[1], InvalidItem) and "byte 11" in out[1].detail
