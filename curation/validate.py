"""The validation stage: re-check every record against the schema and the release's promises."""

from __future__ import annotations

from pydantic import ValidationError

from curation.runner import Dropped, Kept, Outcome
from schemas import CuratedRecord

# Who may vouch for human_verified=true: a person in our annotation loop, or the upstream
# dataset's own verification (kept explicit so a release never carries an unjustified flag).
VERIFIERS = ("upstream", "annotation")


def validate_record(record: CuratedRecord) -> Outcome:
    """Kept if the record is schema-valid and its human_verified flag is justified."""
    try:
        record = CuratedRecord.model_validate(record.model_dump())
    except ValidationError as exc:  # a hand-edited shard or a stage that bypassed the models
        return Dropped(record, "schema", str(exc))
    if record.record.human_verified and record.provenance.extra.get("verified_by") not in VERIFIERS:
        return Dropped(
            record,
            "unjustified_human_verified",
            "human_verified is true but provenance.extra.verified_by names no verifier",
        )
    return Kept(record)
