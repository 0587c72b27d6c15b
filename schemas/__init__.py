"""The contract between every stage: Pydantic models only, importing nothing else of ours."""

from schemas.outcome import InvalidItem, truncate_raw
from schemas.record import (
    CLEANED_FIELDS,
    COIG_CQIA_FIELDS,
    RAW_TEXT,
    AnswerFrom,
    CuratedRecord,
    InstructionRecord,
    Provenance,
    TaskType,
    make_record_id,
    text_rule_violation,
)

__all__ = [
    "CLEANED_FIELDS",
    "COIG_CQIA_FIELDS",
    "RAW_TEXT",
    "AnswerFrom",
    "CuratedRecord",
    "InstructionRecord",
    "InvalidItem",
    "Provenance",
    "TaskType",
    "make_record_id",
    "text_rule_violation",
    "truncate_raw",
]
