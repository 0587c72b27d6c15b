"""Parquet written the way `datasets` writes it for the Hub, so a re-release uploads only changes.

`datasets` (5.x, `arrow_writer.ParquetWriter`) writes with content-defined chunking (data pages cut
where the content says, not every N bytes, so an edited row changes only the pages around it and
Xet deduplicates the rest), a page index, dictionary encoding, Snappy, and row groups of at most
`config.MAX_ROW_GROUP_SIZE` (100 MB) uncompressed. The same settings are written here (importing
`datasets` for two constants cost a release build seconds of start-up);
tests/curation/release/test_parquet.py fails when the installed `datasets` changes them. CDC is used
only when the installed pyarrow has it. The
build defaults to zstd rather than Snappy: pages are compressed one by one either way, so chunk
dedup is the same, and the files are smaller (docs/benchmarks.md).
"""

from __future__ import annotations

import inspect
import json
from functools import cache
from pathlib import Path
from typing import Any

# datasets.config.DEFAULT_CDC_OPTIONS and MAX_ROW_GROUP_SIZE ("100MB") as of datasets 4.x-5.x
HUB_CDC_OPTIONS: dict[str, int] = {"min_chunk_size": 256 * 1024, "max_chunk_size": 1024 * 1024, "norm_level": 0}
HUB_ROW_GROUP_BYTES = 100_000_000


@cache
def cdc_options() -> dict[str, int] | None:
    """datasets' content-defined-chunking options, or None when pyarrow cannot write CDC."""
    import pyarrow.parquet as pq

    if "use_content_defined_chunking" not in inspect.signature(pq.ParquetWriter.__init__).parameters:
        return None  # pyarrow < 21
    return dict(HUB_CDC_OPTIONS)


def max_row_group_bytes() -> int:
    """Uncompressed bytes per row group `datasets` aims for (100 MB)."""
    return HUB_ROW_GROUP_BYTES


def writer_options(compression: str = "zstd", cdc: bool = True) -> dict[str, Any]:
    """Keyword arguments for `pyarrow.parquet.ParquetWriter`."""
    options: dict[str, Any] = {"compression": compression, "use_dictionary": True, "write_page_index": True}
    if cdc and (chunking := cdc_options()) is not None:
        options["use_content_defined_chunking"] = chunking
    return options


def open_writer(path: Path, schema: Any, *, compression: str = "zstd", cdc: bool = True) -> Any:
    """A ParquetWriter with the Hub settings; records the CDC options in the file metadata as
    `datasets` does (`content_defined_chunking`)."""
    import pyarrow.parquet as pq

    options = writer_options(compression, cdc)
    writer = pq.ParquetWriter(path, schema, **options)
    if "use_content_defined_chunking" in options:
        writer.add_key_value_metadata({"content_defined_chunking": json.dumps(options["use_content_defined_chunking"])})
    return writer
