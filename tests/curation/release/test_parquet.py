"""The Hub writing settings written in release/parquet.py are the installed `datasets`' own."""

from __future__ import annotations

from curation.release.parquet import HUB_CDC_OPTIONS, max_row_group_bytes


def test_settings_match_the_installed_datasets() -> None:
    from datasets import config
    from datasets.utils.py_utils import convert_file_size_to_int

    assert HUB_CDC_OPTIONS == config.DEFAULT_CDC_OPTIONS
    assert max_row_group_bytes() == convert_file_size_to_int(config.MAX_ROW_GROUP_SIZE)
