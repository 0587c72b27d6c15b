"""Rows <-> records: the row helper every stage shares.

Rows that come out of a validated stage are rebuilt without re-validation (`model_construct`),
which keeps the hot loops cheap; the clean stage keeps strings free of control characters.
"""

from __future__ import annotations

from typing import Any

from schemas import CuratedRecord, InstructionRecord, Provenance, TaskType


def row_to_record(row: dict[str, Any]) -> CuratedRecord:
    """Build a CuratedRecord from a row that came out of a validated stage (no re-validation:
    the clean stage only rewrites strings, which it keeps free of control characters)."""
    rec = row["record"]
    return CuratedRecord.model_construct(
        id=row["id"],
        source=row["source"],
        record=InstructionRecord.model_construct(**{**rec, "task_type": TaskType.model_construct(**rec["task_type"])}),
        provenance=Provenance.model_construct(**row.get("provenance", {})),
        stats=row.get("stats", {}),
        drop_reason=row.get("drop_reason"),
    )
