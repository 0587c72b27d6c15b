"""Build small upstream stages of Chinese records for dedup/decontam tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import Stage, run_stage
from schemas import CuratedRecord, InstructionRecord, Provenance, TaskType, make_record_id


def make_record(instruction: str, output: str, *, source: str = "demo", input: str = "",
                votes: float | None = None, key: str | None = None) -> CuratedRecord:
    extra: dict[str, Any] = {} if votes is None else {"votes": votes}
    return CuratedRecord(
        id=make_record_id(source, key or f"{instruction}|{input}|{output}"),
        source=source,
        record=InstructionRecord(
            instruction=instruction, input=input, output=output,
            task_type=TaskType(major=["问答"], minor=["百科问答"]), domain=["通用"],
            answer_from="human", human_verified=False,
        ),
        provenance=Provenance(extra=extra),
    )


def upstream_run(run_dir: Path, records: list[CuratedRecord], name: str = "filter",
                 shard_size: int = 20_000) -> RunDir:
    run = RunDir(run_dir)

    def produce(skip: int):
        return iter(records[skip:])

    run_stage(run, Stage(name, produce, inputs=[{"n": len(records)}], shard_size=shard_size), progress=False)
    return run
