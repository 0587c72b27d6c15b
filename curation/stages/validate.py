"""The validation stage: re-check every row against the schema and the release's promises.

It reads the upstream shards as raw JSON rather than as records, so a row that no longer
validates (a hand-edited shard, a stage that bypassed the models) becomes an InvalidItem with
its file:line instead of crashing the run. Text is checked as raw text (RAW_TEXT): the clean
stage repairs control characters and then enforces the strict text rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from pydantic import ValidationError

from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import Dropped, Kept, Outcome, Stage, stage_input
from schemas import RAW_TEXT, CuratedRecord, InvalidItem, truncate_raw

# Who may vouch for human_verified=true: a person in our annotation loop, or the upstream
# dataset's own verification (kept explicit so a release never carries an unjustified flag).
VERIFIERS = ("upstream", "annotation")


def validate_row(location: str, row: dict[str, Any]) -> Outcome:
    """Kept if the row is a valid record and its human_verified flag is justified."""
    try:
        record = CuratedRecord.model_validate(row, context=RAW_TEXT)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return InvalidItem(location=location, reason="schema", detail=detail,
                           source=row.get("source") if isinstance(row, dict) else None,
                           raw=truncate_raw(str(row)))
    if record.record.human_verified and record.provenance.extra.get("verified_by") not in VERIFIERS:
        return Dropped(
            record,
            "unjustified_human_verified",
            "human_verified is true but provenance.extra.verified_by names no verifier",
        )
    return Kept(record)


def validate_stage(run: RunDir, upstreams: list[str], *, shard_size: int = 20_000) -> Stage:
    """Stage `validate` over the given upstream stages, in order."""

    def rows() -> Iterator[tuple[str, dict[str, Any]]]:
        for upstream in upstreams:
            yield from run.iter_rows(upstream)

    def produce(skip: int) -> Iterator[Outcome]:
        for location, row in islice(rows(), skip, None):
            yield validate_row(location, row)

    return Stage(
        name="validate",
        produce=produce,
        inputs=[stage_input(run, u) for u in upstreams],
        params={"verifiers": list(VERIFIERS)},
        shard_size=shard_size,
        total=sum(run.count(u) for u in upstreams),
    )
