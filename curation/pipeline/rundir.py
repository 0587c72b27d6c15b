"""A run directory: one folder per stage with sharded JSONL output, rejects and a manifest.

Layout::

    RUN/run.json                             stages in the order they were run
    RUN/<stage>/part-00003.jsonl             kept records of task 3 (CuratedRecord JSON)
    RUN/<stage>/part-00003-00001.jsonl       its second chunk (tasks cut every shard_size outcomes)
    RUN/<stage>/rejects-00003.jsonl          dropped/invalid entries with reason and location
    RUN/<stage>/_progress/00003-00000.json   chunk checkpoint (how much of task 3's input it covers)
    RUN/<stage>/_progress/00003.json         task 3 is complete: its files and counts
    RUN/<stage>/_MANIFEST.json               written last: the stage is complete iff it exists

RUN is a local folder or an object-storage URL such as `s3://bucket/path` (see storage.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from curation.pipeline.atomic import read_json, write_json_atomic
from curation.pipeline.storage import AnyPath, as_path
from schemas import RAW_TEXT, CuratedRecord

MANIFEST = "_MANIFEST.json"
PROGRESS = "_progress"


class RunDirError(RuntimeError):
    pass


class RunDir:
    """Access to a run directory's stages; creation is cheap and idempotent."""

    def __init__(self, root: str | Path | AnyPath) -> None:
        self.root = as_path(root)

    def stage_dir(self, stage: str) -> AnyPath:
        return self.root / stage

    def manifest(self, stage: str) -> dict[str, Any] | None:
        path = self.stage_dir(stage) / MANIFEST
        return read_json(path) if path.exists() else None

    def require_manifest(self, stage: str) -> dict[str, Any]:
        manifest = self.manifest(stage)
        if manifest is None:
            done = self.completed_stages()
            raise RunDirError(f"{self.root}: stage {stage!r} is not complete (completed: {done})")
        return manifest

    def stage_order(self) -> list[str]:
        path = self.root / "run.json"
        return list(read_json(path).get("stages", [])) if path.exists() else []

    def register_stage(self, stage: str) -> None:
        path = self.root / "run.json"
        data = read_json(path) if path.exists() else {"stages": []}
        if stage not in data["stages"]:
            data["stages"].append(stage)
            write_json_atomic(path, data)

    def completed_stages(self) -> list[str]:
        return [s for s in self.stage_order() if (self.stage_dir(s) / MANIFEST).exists()]

    def latest_stage(self) -> str:
        done = self.completed_stages()
        if not done:
            raise RunDirError(f"{self.root}: no completed stage (is this a run directory?)")
        return done[-1]

    def shard_paths(self, stage: str, kind: str = "part") -> list[AnyPath]:
        manifest = self.require_manifest(stage)
        return [self.stage_dir(stage) / s["path"] for s in manifest["shards"] if s["kind"] == kind]

    def iter_rows(self, stage: str, kind: str = "part") -> Iterator[tuple[str, dict[str, Any]]]:
        """(location, parsed JSON) for every row of a completed stage's shards, in order."""
        for path in self.shard_paths(stage, kind):
            with path.open("rb") as handle:
                for line_no, line in enumerate(handle, start=1):
                    yield f"{path}:{line_no}", orjson.loads(line)

    def iter_records(self, stage: str, *, raw_text: bool = False) -> Iterator[CuratedRecord]:
        """Records of a completed stage, validated with the strict text rule (what releases and
        stages after `clean` rely on); `raw_text=True` accepts not-yet-cleaned text (ingest and
        validate output). A row that fails is an error naming its shard:line."""
        context = RAW_TEXT if raw_text else None
        for location, row in self.iter_rows(stage, "part"):
            try:
                yield CuratedRecord.model_validate(row, context=context)
            except ValidationError as exc:
                hint = "" if raw_text else " (strict text rule: records are strict-valid only from the clean stage on)"
                raise RunDirError(f"{location}: not a valid record{hint}: {exc}") from None

    def iter_rejects(self, stage: str) -> Iterator[dict[str, Any]]:
        for _, row in self.iter_rows(stage, "rejects"):
            yield row

    def count(self, stage: str) -> int:
        return int(self.require_manifest(stage)["counts"]["kept"])
