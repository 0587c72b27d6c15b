"""Encoding decisions: BOMs, strict UTF-8, GB18030 only without UTF-8 evidence."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from sources.fileread import detect_bytes_encoding, detect_file_encoding

TEXT = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"


@pytest.mark.parametrize(("data", "name", "bom"), [
    (TEXT.encode(), "utf-8", 0),
    (codecs.BOM_UTF8 + TEXT.encode(), "utf-8-sig", 3),
    (TEXT.encode("utf-16"), "utf-16", 0),
    (TEXT.encode("utf-32"), "utf-32", 0),
    (TEXT.encode("gbk"), "gb18030", 0),
    (b"plain ascii", "utf-8", 0),
])
def test_detects(tmp_path: Path, data: bytes, name: str, bom: int) -> None:
    path = tmp_path / "f"
    path.write_bytes(data)
    for found in (detect_file_encoding(path), detect_bytes_encoding(data)):
        assert (found.name, found.bom, found.bad_utf8) == (name, bom, False)


def _only_gb18030(data: bytes) -> bool:
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True  # …so that the whole is valid GB18030 (as mojibake) and not UTF-8…
    return False


def test_utf8_with_one_bad_byte_stays_utf8_even_when_it_decodes_as_gb18030(tmp_path: Path) -> None:
    original = "床前明月光，疑是地上霜。".encode()
    data = next(d for i in range(len(original)) for b in range(0x80, 0x100)
                if _only_gb18030(d := original[:i] + bytes([b]) + original[i + 1 :]))  # one byte changed…
    path = tmp_path / "f"
    path.write_bytes(data)
    for found in (detect_file_encoding(path), detect_bytes_encoding(data)):  # …but UTF-8 evidence wins
        assert found.name == "utf-8" and found.bad_utf8


def test_shared_whole_file_decode_keeps_utf8_with_a_bad_byte() -> None:
    """filecommon.decode (logiqa, baike, idioms) used to return this as GB18030 mojibake."""
    from sources.filecommon import decode

    original = "床前明月光，疑是地上霜。".encode()
    data = original[:34] + bytes([192]) + original[35:]
    assert _only_gb18030(data)
    text, encoding = decode(data)
    assert encoding == "utf-8-replace" and text.startswith("床前明月光，疑是地上")
