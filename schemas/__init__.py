"""The contract between every stage: Pydantic models only, importing nothing else of ours."""

from schemas.outcome import InvalidItem, truncate_raw
from schemas.record import (
    COIG_CQIA_FIELDS,
    AnswerFrom,
    CuratedRecord,
    InstructionRecord,
    Provenance,
    TaskType,
    make_record_id,
)

__all__ = [
    "COIG_CQIA_FIELDS",
    "AnswerFrom",
    "CuratedRecord",
    "InstructionRecord",
    "InvalidItem",
    "Provenance",
    "TaskType",
    "make_record_id",
    "truncate_raw",
]
