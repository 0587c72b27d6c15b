"""Which encoding a local file is in, decided once per file, and its bytes as a UTF-8 stream.

Order: a BOM (UTF-8, UTF-16, UTF-32) wins; else the file is UTF-8 if it decodes strictly as
UTF-8; else GB18030 when the whole file decodes as GB18030 *and* it shows no UTF-8 evidence
(fewer valid multi-byte UTF-8 characters than invalid sequences). Much UTF-8 Chinese text also
decodes as GB18030 (as mojibake), so a UTF-8 file with one bad byte stays UTF-8: the reader then
rejects only the item holding that byte. Every check streams the file in chunks.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: FF FE 00 00 starts with the UTF-16 LE BOM
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True, slots=True)
class Encoding:
    """How to read one file: the codec, the BOM length to skip, and UTF-8 damage if any."""

    name: str  # 'utf-8', 'utf-8-sig', 'utf-16', 'utf-32' or 'gb18030'
    bom: int = 0
    bad_utf8: bool = False  # UTF-8 with invalid bytes: items holding them are rejected

    @property
    def transcoded(self) -> bool:
        """True when the reader sees a UTF-8 re-encoding, not the file's own bytes."""
        return self.name not in ("utf-8", "utf-8-sig")

    def note(self) -> str | None:
        """What provenance should say about the file's encoding (None for plain UTF-8)."""
        return None if self.name == "utf-8" else self.name


def _chunks(handle, size: int = CHUNK) -> Iterator[bytes]:
    while block := handle.read(size):
        yield block


def _decodes(path: Path, codec: str, skip: int = 0) -> bool:
    decoder = codecs.getincrementaldecoder(codec)("strict")
    try:
        with path.open("rb") as handle:
            handle.seek(skip)
            for block in _chunks(handle):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _utf8_evidence(path: Path) -> tuple[int, int]:
    """(valid non-ASCII characters, invalid sequences) when reading the file as UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    good = bad = 0
    with path.open("rb") as handle:
        for block in [*_chunks(handle), b""]:
            text = decoder.decode(block, final=not block)
            errors = text.count("\ufffd")
            bad += errors
            good += len(text) - len(text.encode("ascii", "ignore")) - errors
    return good, bad


def detect_file_encoding(path: Path) -> Encoding:
    """The encoding to read `path` with (raises OSError when the file cannot be read)."""
    with path.open("rb") as handle:
        head = handle.read(4)
    for bom, name in _BOMS:
        if head.startswith(bom):
            return Encoding(name, bom=len(bom) if name == "utf-8-sig" else 0)
    if _decodes(path, "utf-8"):
        return Encoding("utf-8")
    good, bad = _utf8_evidence(path)
    if good < bad and _decodes(path, "gb18030"):
        return Encoding("gb18030")
    return Encoding("utf-8", bad_utf8=True)


def detect_bytes_encoding(data: bytes) -> Encoding:
    """Same decision as `detect_file_encoding`, for bytes already in memory."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return Encoding(name, bom=len(bom) if name == "utf-8-sig" else 0)
    try:
        data.decode("utf-8")
        return Encoding("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", "ignore")) - bad
    if good < bad:
        try:
            data.decode("gb18030")
            return Encoding("gb18030")
        except UnicodeDecodeError:
            pass
    return Encoding("utf-8", bad_utf8=True)


def utf8_chunks(path: Path, encoding: Encoding, size: int = CHUNK) -> Iterator[bytes]:
    """The file's content as UTF-8 bytes, chunk by chunk, without its BOM.

    UTF-8 files are passed through untouched (invalid bytes included, for the reader to locate);
    other encodings are decoded strictly and re-encoded, so the stream is valid UTF-8.
    """
    with path.open("rb") as handle:
        handle.seek(encoding.bom)
        if not encoding.transcoded:
            yield from _chunks(handle, size)
            return
        decoder = codecs.getincrementaldecoder(encoding.name)("replace")
        for block in _chunks(handle, size):
            if text := decoder.decode(block):
                yield text.encode("utf-8", "surrogatepass")
        if text := decoder.decode(b"", final=True):
            yield text.encode("utf-8", "surrogatepass")
