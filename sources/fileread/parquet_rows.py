"""Rows of a Parquet file as JSON-safe dicts, one row group and batch at a time.

A corrupt page costs the rows of the row group it sits in (each a located reject, so counts still
add up); a cell that is not valid text (binary that is not UTF-8, a string column with bad bytes)
costs its row. A string column whose bytes are not UTF-8 costs that row; binary cells holding
UTF-8 become text, other binary cells a {"$binary": {bytes, sha256}} note (never their content),
decimals their exact string, dates and times ISO strings, so later JSON serialisation never meets
a type it cannot write.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from schemas import InvalidItem
from sources.fileread.item import MAX_ITEM_DEPTH, Item, reject

BATCH_ROWS = 2048


class _CellError(ValueError):
    pass


def _json_safe(value: Any, column: str, text_column: bool = False) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            if text_column:  # a string column promises text: bad bytes are damage, the row a reject
                raise _CellError(f"string column {column!r} holds {len(value)} bytes that are not UTF-8 "
                                 f"(bad byte 0x{value[exc.start]:02X} at {exc.start})") from None
            # real binary (an image, a blob): described by size and hash, never copied
            return {"$binary": {"bytes": len(value), "sha256": hashlib.sha256(value).hexdigest()}}
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): _json_safe(v, column) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # map columns arrive as [(key, value), ...]
        return [_json_safe(v, column) for v in value]
    return str(value)


def _type_depth(arrow_type: Any) -> int:
    import pyarrow.types as pt

    if pt.is_struct(arrow_type):
        return 1 + max((_type_depth(arrow_type.field(i).type) for i in range(arrow_type.num_fields)), default=0)
    if pt.is_map(arrow_type):
        return 2 + max(_type_depth(arrow_type.key_type), _type_depth(arrow_type.item_type))
    if pt.is_list(arrow_type) or pt.is_large_list(arrow_type) or pt.is_fixed_size_list(arrow_type):
        return 1 + _type_depth(arrow_type.value_type)
    return 0


def _needs_conversion(arrow_type: Any) -> bool:
    import pyarrow.types as pt

    if pt.is_string(arrow_type) or pt.is_large_string(arrow_type) or pt.is_integer(arrow_type) \
            or pt.is_floating(arrow_type) or pt.is_boolean(arrow_type) or pt.is_null(arrow_type):
        return False
    if pt.is_dictionary(arrow_type):
        return _needs_conversion(arrow_type.value_type)
    return True


def _column_values(column: Any, name: str) -> list[Any]:
    """Python values of one column; cells that cannot be read become _CellError instances."""
    import pyarrow as pa
    import pyarrow.types as pt

    raw_text = False
    try:
        values = column.to_pylist()
    except UnicodeDecodeError:  # a string column holding bytes that are not UTF-8: find the rows
        if not (pt.is_string(column.type) or pt.is_large_string(column.type)):
            raise
        values = column.cast(pa.large_binary() if pt.is_large_string(column.type) else pa.binary()).to_pylist()
        raw_text = True
    if not raw_text and not _needs_conversion(column.type):
        return values
    out = []
    for value in values:
        try:
            out.append(_json_safe(value, name, raw_text))
        except _CellError as exc:
            out.append(exc)
    return out


def _batch_rows(batch: Any) -> Iterator[dict[str, Any] | str]:
    """Rows of a record batch as dicts, or an error message for a row holding an unreadable cell."""
    names = batch.schema.names
    columns = []
    for i, name in enumerate(names):
        try:
            columns.append(_column_values(batch.column(i), name))
        except Exception as exc:  # pyarrow has no common base for conversion failures
            message = f"column {name!r} cannot be read: {type(exc).__name__}: {exc}"
            columns.append([_CellError(message)] * batch.num_rows)
    for r in range(batch.num_rows):
        row = {}
        error = None
        for name, values in zip(names, columns, strict=True):
            value = values[r]
            if isinstance(value, _CellError):
                error = error or str(value)
            row[name] = value
        yield error if error else row


def iter_parquet_file(path: Path, source: str | None) -> Iterator[Item | InvalidItem]:
    """Rows (`file#row`) of a Parquet file; unreadable row groups and cells become located rejects."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        groups = [parquet.metadata.row_group(g).num_rows for g in range(parquet.num_row_groups)]
    except Exception as exc:  # ArrowInvalid, OSError, ...: not a readable Parquet file
        yield reject(str(path), "parquet_unreadable", f"not a readable Parquet file: {type(exc).__name__}: {exc}",
                     source)
        return
    too_deep = [f.name for f in parquet.schema_arrow if _type_depth(f.type) + 1 > MAX_ITEM_DEPTH]
    row = 0
    for group, size in enumerate(groups):
        done = 0
        try:
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, row_groups=[group]):
                for values in _batch_rows(batch):
                    yield _row_item(path, source, row, values, too_deep)
                    row += 1
                    done += 1
        except Exception as exc:  # corrupt page, bad compression, truncated column chunk
            detail = f"row group {group} cannot be read after {done} of its {size} rows: {type(exc).__name__}: {exc}"
            for _ in range(size - done):
                yield reject(f"{path}#{row}", "parquet_corrupt", detail, source)
                row += 1


def _row_item(path: Path, source: str | None, row: int, values: dict[str, Any] | str,
              too_deep: list[str]) -> Item | InvalidItem:
    location = f"{path}#{row}"
    if isinstance(values, str):
        return reject(location, "parquet_cell", values, source)
    if too_deep:
        return reject(location, "too_deep", f"columns {too_deep} nest more than {MAX_ITEM_DEPTH} levels", source)
    try:
        raw = orjson.dumps(values, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError as exc:
        return reject(location, "parquet_cell", f"row cannot be written as JSON: {exc}", source)
    return Item(location=location, index=row, value=values, raw=raw, encoding="parquet")
