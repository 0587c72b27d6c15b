"""Arrow columns from buffers: the same arrays `pa.array` and Arrow's JSON reader (the build's
earlier path) give, so the published Parquet bytes cannot change."""

from __future__ import annotations

import io

import orjson
import pyarrow as pa
import pyarrow.json as pj
import pytest

from curation.release.columns import arrow_array, arrow_table
from schemas.features import release_arrow_schema

_TEXT = ["", "a", "问答\n\t😀", "\x00\x1f\"\\", "\u2028" * 300, "x" * 70_000]


def _rows() -> list[dict]:
    rows = []
    for i, text in enumerate(_TEXT * 3):
        rows.append({"instruction": text, "input": _TEXT[-1 - i % 6], "output": f"答{i}",
                     "task_type": {"major": [text] * (i % 3), "minor": ["细分"] if i % 2 else []},
                     "domain": ["通用", text][: i % 3], "metadata": orjson.dumps({"i": i}).decode(),
                     "answer_from": "human" if i % 2 else "llm", "human_verified": i % 3 == 0,
                     "copyright": text[:5]})
    return rows


def test_table_equals_the_json_reader_and_pa_array() -> None:
    schema = release_arrow_schema()
    rows = _rows()
    columns = {f.name: [row[f.name] for row in rows] for f in schema}
    table = arrow_table(columns, schema)
    table.validate(full=True)
    data = b"\n".join(orjson.dumps(row) for row in rows)
    by_reader = pj.read_json(io.BytesIO(data), parse_options=pj.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior="error")).replace_schema_metadata(schema.metadata)
    by_pa_array = pa.Table.from_arrays([pa.array(columns[f.name], type=f.type) for f in schema], schema=schema)
    assert table.schema.equals(schema, check_metadata=True)
    assert table.equals(by_reader) and table.equals(by_pa_array)
    assert table.to_pylist() == rows  # and the values are the rows' own (checked against the input)


def test_booleans_pack_in_arrow_bit_order() -> None:
    values = [True, False, False, True, True, True, False, False, True]  # crosses a byte
    array = arrow_array(values, pa.bool_())
    assert array.to_pylist() == values and array.null_count == 0


def test_wrong_python_types_are_refused() -> None:
    with pytest.raises(TypeError):
        arrow_array([True, 1], pa.bool_())
    with pytest.raises(TypeError):
        arrow_array([["a"], "a"], pa.list_(pa.string()))
    with pytest.raises(AttributeError):
        arrow_array(["a", 1], pa.string())
    with pytest.raises(TypeError):
        arrow_array([1], pa.int64())


def test_a_column_past_the_offset_limit_is_built_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shard whose text passes 2 GiB in one column cannot be one array; with the limit lowered to
    a few bytes (instead of writing gigabytes) the table comes in chunks holding the same rows."""
    import curation.release.columns as columns_module

    schema = release_arrow_schema()
    rows = _rows()
    columns = {f.name: [row[f.name] for row in rows] for f in schema}
    whole = arrow_table(columns, schema)
    monkeypatch.setattr(columns_module, "MAX_OFFSET", 200_000)  # 3 rows of 70,000 chars: 2+ chunks
    chunked = arrow_table(columns, schema)
    assert chunked["instruction"].num_chunks > 1 and chunked.equals(whole)
    monkeypatch.setattr(columns_module, "MAX_OFFSET", 10)
    with pytest.raises(OverflowError):  # one row that does not fit: said, not cut
        arrow_table({name: values[-1:] for name, values in columns.items()}, schema)
