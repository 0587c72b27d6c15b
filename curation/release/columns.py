"""Python column lists -> Arrow arrays, built from buffers.

`pa.array` over Python lists imports pandas on first use (pyarrow's pandas shim asks whether
the list is a pandas object): seconds in every release worker here, where bytecode is compiled at
each start. The release schema has only strings, booleans, lists of strings and structs of those,
so the arrays are assembled from their buffers instead (UTF-8 bytes + int32 offsets; a bit-packed
boolean buffer); the values are the same (tested equal to `pa.array`).
"""

from __future__ import annotations

from array import array
from itertools import accumulate, chain
from typing import Any

MAX_OFFSET = 2**31 - 1  # int32 offsets: one string or list array holds at most this many bytes/items


def arrow_table(columns: dict[str, list[Any]], schema: Any) -> Any:
    """An Arrow table of `schema` from one Python list per field (no nulls); a column too big for
    one array (past `MAX_OFFSET`) is built in halves, giving a table of several chunks."""
    import pyarrow as pa

    try:
        return pa.Table.from_arrays([arrow_array(columns[f.name], f.type) for f in schema], schema=schema)
    except OverflowError:
        rows = len(columns[schema[0].name])
        if rows < 2:
            raise
        half = rows // 2
        return pa.concat_tables([arrow_table({name: values[:half] for name, values in columns.items()}, schema),
                                 arrow_table({name: values[half:] for name, values in columns.items()}, schema)])


def arrow_array(values: list[Any], dtype: Any) -> Any:
    """`pa.array(values, type=dtype)` for string, bool, list and struct types without nulls."""
    import pyarrow as pa

    if pa.types.is_string(dtype):
        encoded = [value.encode() for value in values]  # str only: bytes have no .encode
        offsets = _offsets(map(len, encoded))
        return pa.Array.from_buffers(dtype, len(values), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])
    if pa.types.is_boolean(dtype):
        import numpy as np

        if not all(type(value) is bool for value in values):
            raise TypeError("a boolean column holds a value that is not a bool")
        bits = np.packbits(np.fromiter(values, dtype=bool, count=len(values)), bitorder="little")
        return pa.Array.from_buffers(dtype, len(values), [None, pa.py_buffer(bits)])
    if pa.types.is_list(dtype):
        if not all(type(value) is list for value in values):
            raise TypeError("a list column holds a value that is not a list")
        offsets = _offsets(map(len, values))
        items = arrow_array(list(chain.from_iterable(values)), dtype.value_type)
        return pa.Array.from_buffers(dtype, len(values), [None, pa.py_buffer(offsets)], children=[items])
    if pa.types.is_struct(dtype):
        return pa.StructArray.from_arrays([arrow_array([value[f.name] for value in values], f.type) for f in dtype],
                                          fields=list(dtype))
    raise TypeError(f"no column builder for Arrow type {dtype}")


def _offsets(lengths: Any) -> array:
    offsets = array("q", accumulate(lengths, initial=0))
    if offsets[-1] > MAX_OFFSET:
        raise OverflowError(f"{offsets[-1]} bytes or items do not fit one Arrow array")
    return array("i", offsets)
