"""Idempotent push: import only what is missing, update changed tasks in place, never duplicate.

The server is the source of truth (a local ledger could miss an import whose response was lost
when the server died). So push lists the project's tasks once, diffs by record id + content
hash, and after any failed batch waits for the server, lists again and imports only what is
still missing — a restart in the middle of a push cannot duplicate or lose a task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from annotation.client import Client, LSError, TransientError, WrongURLError


@dataclass
class ExistingTask:
    task_id: int
    digest: str | None


@dataclass
class PushPlan:
    to_import: list[dict[str, Any]] = field(default_factory=list)
    to_update: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    unchanged: int = 0
    duplicated_ids: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class PushReport:
    project_id: int
    created_project: bool
    planned: int
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    recovered_batches: int = 0
    duplicated_ids: int = 0
    task_ids: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "task_ids"}


def existing_index(client: Client, project_id: int) -> dict[str, list[ExistingTask]]:
    """record id → the project's task(s) carrying it (more than one means someone duplicated)."""
    index: dict[str, list[ExistingTask]] = {}
    for task in client.iter_tasks(project_id):
        data = task.get("data") or {}
        meta = task.get("meta") or {}
        record_id = data.get("record_id") or meta.get("cqia_id")
        if record_id:
            index.setdefault(record_id, []).append(ExistingTask(int(task["id"]), data.get("cqia_hash")))
    return index


def plan_push(tasks: list[dict[str, Any]], existing: dict[str, list[ExistingTask]]) -> PushPlan:
    plan = PushPlan()
    for task in tasks:
        record_id = task["data"]["record_id"]
        have = existing.get(record_id)
        if not have:
            plan.to_import.append(task)
            continue
        if len(have) > 1:
            plan.duplicated_ids[record_id] = [t.task_id for t in have]
        first = min(have, key=lambda t: t.task_id)
        if first.digest == task["data"]["cqia_hash"]:
            plan.unchanged += 1
        else:
            plan.to_update.append((first.task_id, task))
    return plan


def push_tasks(
    client: Client,
    project_id: int,
    tasks: list[dict[str, Any]],
    *,
    created_project: bool = False,
    batch_size: int = 1000,
    max_recoveries: int = 5,
    on_progress: Callable[[int], None] | None = None,
    after_batch: Callable[[int], None] | None = None,
) -> PushReport:
    """Sync `tasks` into the project; returns counts. `after_batch(i)` exists for tests/benchmarks."""
    existing = {} if created_project else existing_index(client, project_id)
    plan = plan_push(tasks, existing)
    report = PushReport(project_id, created_project, planned=len(tasks), unchanged=plan.unchanged,
                        duplicated_ids=len(plan.duplicated_ids))
    advance = on_progress or (lambda n: None)
    advance(plan.unchanged)
    for record_id, have in existing.items():
        report.task_ids[record_id] = min(t.task_id for t in have)

    for number, start in enumerate(range(0, len(plan.to_import), batch_size)):
        batch = plan.to_import[start : start + batch_size]
        recoveries = 0
        while batch:
            try:
                ids = client.import_tasks(project_id, batch)
            except (TransientError, WrongURLError) as exc:
                recoveries += 1
                if recoveries > max_recoveries:
                    raise LSError(f"import batch {number} kept failing ({exc}); re-run push: it resumes "
                                  "without duplicates") from None
                client.wait_until_up()
                now = existing_index(client, project_id)  # did the lost request land?
                for task in batch:
                    rid = task["data"]["record_id"]
                    if rid in now:
                        report.task_ids[rid] = min(t.task_id for t in now[rid])
                landed = len([t for t in batch if t["data"]["record_id"] in now])
                report.imported += landed
                advance(landed)
                batch = [t for t in batch if t["data"]["record_id"] not in now]
                report.recovered_batches += 1
                continue
            for task, task_id in zip(batch, ids, strict=False):
                report.task_ids[task["data"]["record_id"]] = task_id
            report.imported += len(batch)
            advance(len(batch))
            batch = []
        if after_batch is not None:
            after_batch(number)

    for task_id, task in plan.to_update:
        client.update_task(task_id, task["data"], task["meta"])
        for prediction in task.get("predictions", []):
            client.add_prediction(task_id, prediction)
        report.updated += 1
        advance(1)
    return report
