"""Small builders for annotation tests: records in a run dir, annotations as a user makes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from label_studio_sdk import LabelStudio

from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import Stage, run_stage
from schemas import CuratedRecord, InstructionRecord, Provenance, TaskType, make_record_id


def make_record(source: str, n: int, *, answer_from: str = "human", **stats: Any) -> CuratedRecord:
    rid = make_record_id(source, f"item-{n}")
    return CuratedRecord(
        id=rid, source=source,
        record=InstructionRecord(
            instruction=f"{source} 问题 {n}：为什么天空是蓝色的？", input="", output=f"因为瑞利散射。({n})",
            task_type=TaskType(major=["问答"], minor=["百科问答"]), domain=["百科"],
            answer_from=answer_from, human_verified=False),  # type: ignore[arg-type]
        provenance=Provenance(source_id=f"item-{n}", url=f"https://example.org/{source}/{n}"),
        stats={"llm_score": 0.75, "near_dup_cluster": n % 3, "char_len": 12, **stats},
    )


def make_stage(run: Path, name: str, records: list[CuratedRecord]) -> None:
    stage = Stage(name=name, produce=lambda skip: iter(records[skip:]), inputs=[],
                  params={"ids": [r.id for r in records], "h": [r.record.output for r in records]},
                  shard_size=1000)
    run_stage(RunDir(run), stage, progress=False)


def records_by_source(counts: dict[str, int]) -> list[CuratedRecord]:
    return [make_record(s, i, answer_from="llm" if s == "ruozhiba" else "human")
            for s, k in counts.items() for i in range(k)]


def as_user(url: str, token: str) -> LabelStudio:
    return LabelStudio(base_url=url, api_key=token, httpx_client=httpx.Client(timeout=60))


def annotate(sdk: LabelStudio, task_id: int, verdict: str, *, reasons: tuple[str, ...] = (), note: str = "",
             output: str | None = None, quality: int | None = None) -> None:
    """Submit an annotation through the API with the user's own token (as the UI would)."""
    result: list[dict[str, Any]] = [
        {"from_name": "verdict", "to_name": "instruction", "type": "choices", "value": {"choices": [verdict]}}]
    if reasons:
        result.append({"from_name": "reject_reason", "to_name": "output", "type": "choices",
                       "value": {"choices": list(reasons)}})
    if note:
        result.append({"from_name": "reject_note", "to_name": "output", "type": "textarea", "value": {"text": [note]}})
    if output is not None:
        result.append({"from_name": "output_edit", "to_name": "output", "type": "textarea",
                       "value": {"text": [output]}})
    if quality is not None:
        result.append({"from_name": "quality", "to_name": "output", "type": "rating", "value": {"rating": quality}})
    sdk.annotations.create(id=task_id, result=result, lead_time=3.5)
