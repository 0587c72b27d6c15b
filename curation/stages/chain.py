"""The curation chain over a run directory: clean (+ PII + metrics) -> [quality] -> filter -> plug-ins.

- `clean`: per-record pure function over JSON rows (no pydantic validation in the hot loop):
  cleans the text fields, detects/redacts PII and writes every metric into `stats`. One task per
  upstream shard, run by the executor (local process pool or Ray); a worker reads its shard and
  writes its own output, so no record passes through the main process. Its input is raw text
  (ingest and validate check structure only); its output holds the strict text rule: a record
  whose text still breaks it after cleaning (e.g. with cleaning steps switched off) becomes an
  invalid reject located at its input file:line.
- `quality` (only when `quality.enabled`): LLM 1-10 score into `stats.llm_quality`.
- `filter`: compares `stats` with the recipe thresholds, nothing else, so retuning thresholds
  re-runs only this cheap stage (its fingerprint holds only the filter settings).
- after `filter`: stages for the recipe's `dedup:` / `decontaminate:` sections, built by
  `curation.stages.dedup.build_stage` / `curation.stages.decontam.build_stage` (see PLUGIN_STAGES).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from curation.pipeline.executors import Executor, LocalExecutor
from curation.pipeline.recipe import Recipe
from curation.pipeline.rows import row_json, row_to_record, source_and_stats
from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import (
    Dropped,
    KeptRaw,
    LineTask,
    Outcome,
    Stage,
    StageResult,
    iter_shard_lines,
    run_stage,
    stage_input,
    upstream_shards,
)
from curation.pipeline.storage import AnyPath
from curation.stages.filters import FilterPlan, decide
from schemas import CLEANED_FIELDS, InvalidItem, text_rule_violation, truncate_raw

# Sections a later stage owns: name -> "module:function" building a Stage named like the section
# from (run, upstream_stage_name, recipe). Resolved lazily, only when the recipe has the section.
PLUGIN_STAGES: dict[str, str] = {
    "dedup": "curation.stages.dedup:build_stage",
    "decontaminate": "curation.stages.decontam:build_stage",
}
_CLEAN_SECTIONS = ("clean", "pii", "metrics")
# clean_row's reason for a record whose text is not strict-valid after cleaning (an invalid
# reject, not a drop: the record does not meet the schema the later stages rely on).
NOT_STRICT_AFTER_CLEAN = "not_strict_after_clean"


# ---- the clean stage (runs in worker processes) -----------------------------------------------
# The compiled metric kernels (curation.text.kernel) save ~25-55 us per record but cost a worker
# ~1.5 s to start (importing numba and loading the cached machine code, without bytecode caches):
# a stage uses them only when each worker has at least this many records to clean. The stats are
# the same either way (the kernels are tested equal to the Python metrics).
COMPILED_METRICS_MIN_RECORDS_PER_WORKER = 50_000


class _Tools:
    """Per-source cleaner + metrics, built once per process."""

    def __init__(self, recipe: Recipe, source: str, compiled: bool = False) -> None:
        from curation.stages.clean import Cleaner
        from curation.stages.metrics import Metrics

        view = recipe.for_source(source)
        self.cleaner = Cleaner(view.clean)
        self.metrics = Metrics(view.metrics, compiled=compiled)
        self.pii = view.pii


_WORKER_TOOLS: dict[tuple[bytes, str, bool], _Tools] = {}


def _tools(recipe_json: bytes, source: str, compiled: bool = False) -> _Tools:
    """Per-process cache: a worker builds each source's cleaner and metrics once per recipe."""
    key = (recipe_json, source, compiled)
    tools = _WORKER_TOOLS.get(key)
    if tools is None:
        if len(_WORKER_TOOLS) > 64:
            _WORKER_TOOLS.clear()
        tools = _WORKER_TOOLS[key] = _Tools(Recipe.model_validate_json(recipe_json), source, compiled)
    return tools


def clean_row(row: dict[str, Any], tools: _Tools) -> tuple[str, str] | None:
    """Clean `row` in place and write its stats; (reason, detail) if nothing usable is left."""
    from curation.stages.pii import detect_and_redact, may_hold_pii

    rec = row["record"]
    instruction, input_, output, report = tools.cleaner.clean(rec["instruction"], rec["input"], rec["output"])
    pii_counts: dict[str, int] = {}
    if tools.pii.detect and may_hold_pii(instruction, input_, output):
        fields = []
        for text in (instruction, input_, output):
            new, counts = detect_and_redact(text, tools.pii.types, tools.pii.placeholder, do_redact=tools.pii.redact)
            fields.append(new)
            for kind, n in counts.items():
                pii_counts[kind] = pii_counts.get(kind, 0) + n
        instruction, input_, output = fields
    rec["instruction"], rec["input"], rec["output"] = instruction, input_, output
    stats = tools.metrics.compute(instruction, input_, output, row.get("provenance", {}).get("extra", {}))
    stats["pii"] = pii_counts
    stats["truncated"] = report.pop("truncated", None)
    stats["clean"] = report
    row["stats"] = {**row.get("stats", {}), **stats}
    if not instruction.strip() or not output.strip():
        empty = "instruction" if not instruction.strip() else "output"
        return "empty_after_clean", f"{empty} is empty after cleaning"
    for name in CLEANED_FIELDS:
        problem = text_rule_violation(rec[name])
        if problem is not None:
            return NOT_STRICT_AFTER_CLEAN, f"record.{name} {problem} after cleaning"
    return None


def clean_line(line: bytes, recipe_json: bytes, compiled: bool = False) -> Outcome:
    """One upstream line cleaned: kept rows go out already serialised as the record (what the
    runner writes), dropped rows are rebuilt into a model (rare)."""
    row = orjson.loads(line)
    source = row["source"]
    verdict = clean_row(row, _tools(recipe_json, source, compiled))
    if verdict is None:
        return KeptRaw(row_json(row), source)
    reason, detail = verdict
    if reason == NOT_STRICT_AFTER_CLEAN:
        location = row.get("provenance", {}).get("location") or f"record {row['id']}"
        return InvalidItem(location=location, reason=reason, detail=detail, source=source,
                           raw=truncate_raw(orjson.dumps(row["record"]).decode()))
    return Dropped(row_to_record(row), reason, detail)


@dataclass(frozen=True)
class CleanTask:
    """The clean stage's task over one upstream shard (runs in a worker process)."""

    path: AnyPath
    recipe_json: bytes
    compiled: bool = False  # compiled metric kernels (same stats; see COMPILED_METRICS_MIN_RECORDS_PER_WORKER)

    def __call__(self, skip: int) -> Iterator[Outcome]:
        for line in islice(iter_shard_lines(self.path), skip, None):
            yield clean_line(line, self.recipe_json, self.compiled)


def _section_params(recipe: Recipe, sections: tuple[str, ...]) -> dict[str, Any]:
    """The parts of the recipe a stage's output depends on (its fingerprint)."""
    data = recipe.fingerprint_params()
    params = {s: data[s] for s in sections}
    per_source = {
        name: {s: v for s, v in override.items() if s in sections and v is not None}
        for name, override in data["sources"].items()
    }
    params["sources"] = {name: values for name, values in per_source.items() if values}
    return params


def clean_stage(run: RunDir, upstream: str, recipe: Recipe, name: str = "clean") -> Stage:
    """Clean + PII + metrics: one task per upstream shard, in worker processes."""
    recipe_json = recipe.model_dump_json().encode()
    shards = upstream_shards(run, upstream)
    total = run.count(upstream)
    workers = max(1, min(recipe.workers if recipe.workers > 0 else (os.cpu_count() or 1), len(shards)))
    compiled = total >= COMPILED_METRICS_MIN_RECORDS_PER_WORKER * workers
    return Stage(name=name, tasks=[CleanTask(path, recipe_json, compiled) for path in shards],
                 inputs=[stage_input(run, upstream)], params=_section_params(recipe, _CLEAN_SECTIONS),
                 total=total, workers=recipe.workers)


# ---- the filter stage (cheap) --------------------------------------------------------------------
def filter_row(row: dict[str, Any], recipe: Recipe) -> tuple[str, str] | None:
    return decide(row.get("stats", {}), recipe.for_source(row["source"]).filter)


@dataclass(frozen=True)
class FilterLine:
    recipe: Recipe
    plans: dict[str, FilterPlan] = field(default_factory=dict, compare=False, repr=False)

    def _plan(self, source: str) -> FilterPlan:
        plan = self.plans.get(source)
        if plan is None:
            plan = self.plans[source] = FilterPlan(self.recipe.for_source(source).filter)
        return plan

    def __call__(self, line: bytes, location: str) -> Outcome:
        # A kept row needs only its source and stats: read just those (rows.source_and_stats).
        quick = source_and_stats(line)
        if quick is not None:
            source, stats = quick
            if self._plan(source).decide(stats) is None:
                # The upstream line is this record as the runner serialised it: write it as is.
                return KeptRaw(line[:-1] if line.endswith(b"\n") else line, source)
        row = orjson.loads(line)
        verdict = self._plan(row["source"]).decide(row.get("stats", {}))
        if verdict is None:
            return KeptRaw(line[:-1] if line.endswith(b"\n") else line, row["source"])
        return Dropped(row_to_record(row), *verdict)


def filter_stage(run: RunDir, upstream: str, recipe: Recipe, name: str = "filter") -> Stage:
    fn = FilterLine(recipe)
    return Stage(name=name, tasks=[LineTask(path, fn) for path in upstream_shards(run, upstream)],
                 inputs=[stage_input(run, upstream)], params=_section_params(recipe, ("filter",)),
                 total=run.count(upstream), workers=recipe.workers)


# ---- the chain ---------------------------------------------------------------------------------
StageBuilder = Callable[[RunDir, str, Recipe], Stage]


def plugin_builder(section: str) -> StageBuilder:
    target = PLUGIN_STAGES[section]
    module_name, func = target.split(":")
    try:
        return getattr(import_module(module_name), func)
    except (ImportError, AttributeError) as exc:
        raise RuntimeError(
            f"recipe section {section!r} needs {target}, which is not available: {exc}"
        ) from exc


def chain(recipe: Recipe) -> list[tuple[str, StageBuilder]]:
    """(stage name, builder) in run order for this recipe."""
    stages: list[tuple[str, StageBuilder]] = [("clean", clean_stage)]
    if recipe.quality.enabled or any((o.quality or {}).get("enabled") for o in recipe.sources.values()):
        from curation.stages.quality import quality_stage

        stages.append(("quality", quality_stage))
    stages.append(("filter", filter_stage))
    for section in PLUGIN_STAGES:
        if getattr(recipe, section) is not None or any(getattr(o, section) for o in recipe.sources.values()):
            stages.append((section, plugin_builder(section)))
    return stages


def curate_run(
    run_dir: Path | str, recipe: Recipe, *, upstream: str = "validate", force: bool = False, progress: bool = True,
    until: str | None = None, executor: Executor | None = None,
) -> list[StageResult]:
    """Run the recipe's chain on `upstream`'s output; each stage skips itself when complete.
    Tasks run on `executor` (default: a local pool of the recipe's `workers`)."""
    run = RunDir(run_dir)
    run.require_manifest(upstream)
    executor = executor or LocalExecutor(recipe.workers)
    results = []
    previous = upstream
    for name, builder in chain(recipe):
        results.append(run_stage(run, builder(run, previous, recipe), force=force, progress=progress,
                                 executor=executor))
        previous = name
        if name == until:
            break
    return results
