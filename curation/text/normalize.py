"""Text normalization used only for duplicate keys and shingles (never written back).

Why strip punctuation and whitespace: Chinese near-duplicates mostly differ in full/half-width
punctuation, stray spaces from PDF extraction and zero-width characters. NFKC folds the widths,
then every punctuation, separator and format character is removed and Latin letters are lowercased.
"""

from __future__ import annotations

import functools
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_FIELDS: tuple[str, ...] = ("instruction", "input", "output")


@functools.cache
def _strip_table() -> dict[int, None]:
    """Codepoints to delete: punctuation (P*), separators (Z*), controls and format chars (Cc, Cf)."""
    drop: dict[int, None] = {}
    for cp in range(sys.maxunicode + 1):
        cat = unicodedata.category(chr(cp))
        if cat[0] in "PZ" or cat in ("Cc", "Cf"):
            drop[cp] = None
    return drop


def normalize_text(text: str) -> str:
    """NFKC, lowercase, then drop punctuation/whitespace/format characters."""
    return unicodedata.normalize("NFKC", text).lower().translate(_strip_table())


def record_text(record: Mapping[str, Any], fields: Sequence[str] = DEFAULT_FIELDS) -> str:
    """The raw text of a record's `record` dict over `fields`, newline-joined (empty fields skipped)."""
    return "\n".join(record[f] for f in fields if record.get(f))
