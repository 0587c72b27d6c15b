"""The stage runner: partitioned stages, per-task markers, skip-if-complete, resume-after-kill.

A stage is a set of independent tasks, one per input partition (an upstream shard, a group of
input files). A task yields one outcome per input unit (Kept, KeptRaw, Dropped or InvalidItem);
every `shard_size` outcomes it atomically writes a kept chunk, a rejects chunk and a chunk
checkpoint, and at its end a task marker (`_progress/<task>.json`) listing its files and counts.
The manifest, written last, merges the markers in task order.

Files of task t: `part-TTTTT.jsonl` for its first chunk and `part-TTTTT-CCCCC.jsonl` for further
ones (a task over one upstream shard has one chunk; an ingestion task over a large dump has many),
the same for `rejects-`. A task's output depends only on its input, so the bytes are the same
whichever executor (curation.pipeline.executors) runs the tasks and with how many workers.

After a kill, finished tasks are skipped by their markers; an unfinished task resumes after its
last chunk checkpoint (`produce(skip)`) and overwrites partial chunks, so the final output is
identical to an uninterrupted run as long as the stage is deterministic. A task killed on a
cluster is simply run again (by Ray, or by the next run of the command).

A stage that calls an outside service (an LLM) counts its calls in a `CallTally`; each task's
marker carries its own calls (made, failed, error messages) and the manifest merges them, so the
count is the same whether the tasks ran on the driver or (`calls_on_workers`, Ray) on workers.
A failed call is not a final answer: a chunk checkpoint or task marker holding
one is not resumed from, a manifest recording one does not make the stage skippable (the next run
retries; the client's cache makes the calls that did succeed free), and when every call failed
the stage is left incomplete (`ExternalCallsFailed`).
"""

from __future__ import annotations

import functools
import hashlib
import re
import reprlib
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from curation import __version__
from curation.pipeline.atomic import atomic_writer, clean_temp_files, read_json, write_json_atomic
from curation.pipeline.executors import Executor, LocalExecutor
from curation.pipeline.rundir import MANIFEST, PROGRESS, RunDir
from curation.pipeline.storage import AnyPath, list_names, mkdirs, rmtree
from schemas import CuratedRecord, InvalidItem
from schemas.redact import env_secrets, redact_obj, redact_text

# A stage name is one folder under the run directory: nothing that could point outside it.
STAGE_NAME = re.compile(r"(?!\.{1,2}$)[A-Za-z0-9_.\-]+")
RAW_REPR_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Kept:
    record: CuratedRecord


@dataclass(frozen=True, slots=True)
class Dropped:
    record: CuratedRecord
    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class KeptRaw:
    """A kept record already serialised as one JSON line (no trailing newline), exactly as
    `CuratedRecord` serialises; written as is, so workers can skip a model round trip."""

    data: bytes
    source: str


Outcome = Kept | KeptRaw | Dropped | InvalidItem
Task = Callable[[int], Iterable[Outcome | CuratedRecord]]
"""A task: `task(skip)` yields its outcomes after the first `skip` ones."""

_MAX_ERROR_KINDS = 5
_URL_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)


@dataclass
class CallTally:
    """Calls a stage made to an outside service; the stage counts one per item that needed a call
    (answered from the cache or sent), so a failed call is never mistaken for a final answer."""

    service: str
    made: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def succeeded(self) -> None:
        self.made += 1

    def failed_with(self, error: str) -> None:
        """Count a failed call; `error` (keys already scrubbed by the client) goes to the manifest,
        with any user:password@ of a URL in it removed."""
        self.made += 1
        self.failed += 1
        error = _URL_USERINFO.sub(r"\1***@", error)
        # a few distinct messages are enough to say why; keep the tally small at any scale
        if error in self.errors or len(self.errors) < _MAX_ERROR_KINDS:
            self.errors[error] += 1
        else:
            self.errors["(other errors)"] += 1

    def summary(self, made: int, failed: int, errors: Counter[str] | None = None) -> dict[str, Any]:
        errors = self.errors if errors is None else errors
        return {"service": self.service, "made": made, "failed": failed, "errors": dict(errors.most_common())}


def merge_errors(parts: Iterable[dict[str, int]]) -> Counter[str]:
    """Tasks' error messages as one tally, bounded like a CallTally's (a few kinds, then other)."""
    merged: Counter[str] = Counter()
    for part in parts:
        merged.update(part)
    if len(merged) <= _MAX_ERROR_KINDS:
        return merged
    kept = Counter(dict(merged.most_common(_MAX_ERROR_KINDS)))
    kept["(other errors)"] += sum(merged.values()) - sum(kept.values())
    return kept


class ExternalCallsFailed(RuntimeError):
    """Every call a stage made to an outside service failed: the stage is left incomplete."""


@dataclass
class Stage:
    """What to run: `tasks` (independent partitions), or one `produce(skip)` (a one-task stage).

    `on_driver`: the tasks hold something that must stay in this process (a polite crawler); they
    run here one after another. A stage with `calls` runs on the driver too, unless
    `calls_on_workers` and the executor is Ray: its `prepare` then gives the tasks a job-wide
    limiter (llm/stage_client.py) and `sync()`, called before every checkpoint, stores the
    answers a task received so far.
    `prepare(executor)`: shared work the tasks need, run (only when some task is pending) before
    them with the same executor (dedup's signature and clustering phases).
    `cleanup()`: after the manifest is written (remove scratch files).
    `workers`: processes for the default local executor when the caller passes none (0 = all cores).
    """

    name: str
    produce: Task | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    shard_size: int = 20_000
    total: int | None = None
    tasks: list[Task] | None = None
    on_driver: bool = False
    prepare: Callable[[Executor], None] | None = None
    cleanup: Callable[[], None] | None = None
    workers: int = 1
    calls: CallTally | None = None  # set by stages that call an outside service
    calls_on_workers: bool = False
    sync: Callable[[], None] | None = None

    def task_list(self) -> list[Task]:
        if self.tasks is not None:
            return list(self.tasks)
        if self.produce is None:
            raise ValueError(f"stage {self.name!r} has neither tasks nor produce")
        return [self.produce]

    def recorded_inputs(self) -> list[dict[str, Any]]:
        """Inputs as the manifest records them: a crawl URL's token or password never lands on disk."""
        return redact_obj(self.inputs)

    def recorded_params(self) -> dict[str, Any]:
        return redact_obj(self.params)

    def fingerprint(self) -> str:
        key = {"name": self.name, "inputs": self.recorded_inputs(), "params": self.recorded_params(),
               "shard_size": self.shard_size}
        return hashlib.sha256(orjson.dumps(key, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass
class StageResult:
    manifest: dict[str, Any]
    skipped: bool
    resumed_from: int = 0


@functools.cache
def code_version() -> str:
    """Package version plus the git commit of the checkout, when there is one."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        return f"{__version__}+g{sha}"
    except (OSError, subprocess.SubprocessError):
        return __version__


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_inputs(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Fingerprint entries for input files: resolved path, size and sha256."""
    return [
        {"path": str(Path(p).resolve()), "size": Path(p).stat().st_size, "sha256": sha256_file(Path(p))}
        for p in paths
    ]


def group_files(paths: list[Path], target_bytes: int = 64 << 20) -> list[list[Path]]:
    """Input files in order, grouped into ingestion tasks of about `target_bytes` each: a large
    dump is a task of its own, many small saved pages share one (no task per tiny file)."""
    groups: list[list[Path]] = []
    size = 0
    for path in paths:
        if not groups or size >= target_bytes:
            groups.append([])
            size = 0
        groups[-1].append(path)
        size += Path(path).stat().st_size if Path(path).exists() else 0
    return groups


def stage_input(run: RunDir, stage: str) -> dict[str, Any]:
    """Fingerprint entry for an upstream stage: changes whenever its output would.

    A stage that called an outside service can produce other output from the same fingerprint
    (a retried call now answers), so its entry also carries a digest of its shards."""
    manifest = run.require_manifest(stage)
    entry = {"stage": stage, "fingerprint": manifest["fingerprint"], "kept": manifest["counts"]["kept"]}
    if "calls" in manifest:
        shards = "".join(f["sha256"] for f in manifest["shards"]).encode()
        entry["output_sha256"] = hashlib.sha256(shards).hexdigest()
    return entry


def upstream_shards(run: RunDir, upstreams: str | list[str]) -> list[AnyPath]:
    """The kept shards of completed upstream stage(s), in order: one downstream task each."""
    names = [upstreams] if isinstance(upstreams, str) else list(upstreams)
    return [path for name in names for path in run.shard_paths(name)]


def iter_shard_lines(path: AnyPath) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from handle


@dataclass(frozen=True)
class RecordTask:
    """Task over one upstream shard: `fn(record)` per row (rows parsed into CuratedRecord)."""

    path: AnyPath
    fn: Callable[[CuratedRecord], Outcome | CuratedRecord]

    def __call__(self, skip: int) -> Iterator[Outcome | CuratedRecord]:
        for line in islice(iter_shard_lines(self.path), skip, None):
            yield self.fn(CuratedRecord.model_validate_json(line))


@dataclass(frozen=True)
class LineTask:
    """Task over one upstream shard: `fn(line, location)` per raw JSON line (no model parsing)."""

    path: AnyPath
    fn: Callable[[bytes, str], Outcome | CuratedRecord]

    def __call__(self, skip: int) -> Iterator[Outcome | CuratedRecord]:
        for line_no, line in enumerate(islice(iter_shard_lines(self.path), skip, None), start=skip + 1):
            yield self.fn(line, f"{self.path}:{line_no}")


def map_stage(
    name: str,
    run: RunDir,
    upstream: str | list[str],
    fn: Callable[[CuratedRecord], Outcome | CuratedRecord],
    *,
    params: dict[str, Any] | None = None,
    shard_size: int = 20_000,
) -> Stage:
    """A per-record stage over upstream stage(s): one task per upstream shard."""
    upstreams = [upstream] if isinstance(upstream, str) else list(upstream)
    return Stage(
        name=name,
        tasks=[RecordTask(path, fn) for path in upstream_shards(run, upstreams)],
        inputs=[stage_input(run, u) for u in upstreams],
        params=params or {},
        shard_size=shard_size,
        total=sum(run.count(u) for u in upstreams),
    )


def skip_outcomes(outcomes: Iterable[Outcome | CuratedRecord], skip: int) -> Iterator[Outcome | CuratedRecord]:
    """Resume helper for stages that cannot seek their input: recompute and discard."""
    return islice(outcomes, skip, None)


class _Counts:
    """Kept/dropped/invalid counters, overall and per source; in = kept + dropped + invalid."""

    def __init__(self) -> None:
        self.total: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.invalid: Counter[str] = Counter()
        self.by_source: dict[str, dict[str, Counter[str]]] = defaultdict(
            lambda: {"total": Counter(), "dropped": Counter(), "invalid": Counter()}
        )

    def add(self, source: str, kind: str, reason: str | None = None, n: int = 1) -> None:
        self.total["in"] += n
        self.total[kind] += n
        per = self.by_source[source]
        per["total"]["in"] += n
        per["total"][kind] += n
        if reason is not None:
            getattr(self, kind)[reason] += n
            per[kind][reason] += n

    def merge(self, data: dict[str, Any]) -> None:
        self.total.update(_counts_total(data))
        self.dropped.update(data["dropped"])
        self.invalid.update(data["invalid"])
        for source, per in data["by_source"].items():
            mine = self.by_source[source]
            mine["total"].update(_counts_total(per))
            mine["dropped"].update(per["dropped"])
            mine["invalid"].update(per["invalid"])

    def to_dict(self) -> dict[str, Any]:
        def block(total: Counter[str], dropped: Counter[str], invalid: Counter[str]) -> dict[str, Any]:
            return {
                "in": total["in"],
                "kept": total["kept"],
                "dropped_total": total["dropped"],
                "invalid_total": total["invalid"],
                "dropped": dict(sorted(dropped.items())),
                "invalid": dict(sorted(invalid.items())),
            }

        out = block(self.total, self.dropped, self.invalid)
        out["by_source"] = {
            s: block(p["total"], p["dropped"], p["invalid"]) for s, p in sorted(self.by_source.items())
        }
        return out


def _counts_total(data: dict[str, Any]) -> Counter[str]:
    return Counter(
        {"in": data["in"], "kept": data["kept"], "dropped": data["dropped_total"], "invalid": data["invalid_total"]}
    )


def _record_json(record: CuratedRecord) -> bytes:
    """Serialise with pydantic-core straight to bytes (the hot path of every stage)."""
    return record.__pydantic_serializer__.to_json(record)


def _reject_row(outcome: Dropped | InvalidItem, secrets: list[str]) -> dict[str, Any]:
    """A rejects line; InvalidItem scrubs itself (schemas), a drop's detail (an LLM error, say) here."""
    if isinstance(outcome, Dropped):
        return {
            "kind": "dropped",
            "reason": outcome.reason,
            "detail": redact_text(outcome.detail, secrets, use_env=False),
            "location": outcome.record.provenance.location,
            "source": outcome.record.source,
            "id": outcome.record.id,
            "record": outcome.record.model_dump(mode="json"),
        }
    return {"kind": "invalid", **outcome.model_dump(mode="json")}


def _short_repr() -> reprlib.Repr:
    short = reprlib.Repr()  # depth- and size-bounded: safe on any value
    short.maxlevel, short.maxstring, short.maxother, short.maxdict, short.maxlist = 4, RAW_REPR_CHARS, 200, 20, 20
    return short


_SHORT_REPR = _short_repr()


def _reject_json(outcome: Dropped | InvalidItem, secrets: list[str]) -> bytes:
    """One rejects-shard line. A reject must never stop the run: when its raw value or record
    cannot be written as JSON (bytes, decimals, nesting past the serialisers' limits), it is
    written as a bounded text rendering instead, saying so."""
    try:
        return orjson.dumps(_reject_row(outcome, secrets))
    except (TypeError, ValueError, RecursionError) as exc:  # orjson.JSONEncodeError is a TypeError
        note = f"{type(exc).__name__}: {exc}"
    if isinstance(outcome, Dropped):
        row = {"kind": "dropped", "reason": outcome.reason,
               "detail": redact_text(outcome.detail, secrets, use_env=False),
               "location": outcome.record.provenance.location, "source": outcome.record.source,
               "id": outcome.record.id, "record": None, "record_unwritable": note}
    else:
        row = {"kind": "invalid", "location": outcome.location, "reason": outcome.reason, "detail": outcome.detail,
               "source": outcome.source, "raw": _SHORT_REPR.repr(outcome.raw), "raw_unwritable": note}
    return orjson.dumps(row)


def _kept_json(record: CuratedRecord) -> bytes | InvalidItem:
    """A kept record's line, or the InvalidItem saying it cannot be serialised (never a crash)."""
    try:
        return _record_json(record)
    except (TypeError, ValueError, RecursionError) as exc:  # PydanticSerializationError is a ValueError
        return InvalidItem(location=record.provenance.location or record.id, reason="unserializable",
                           detail=f"record {record.id} cannot be written as JSON: {type(exc).__name__}: {exc}"[:2000],
                           source=record.source)


_CHUNK_FILE = re.compile(r"^(?:part|rejects)-(\d{5,})(?:-(\d{5,}))?\.jsonl$")
_CHUNK_MARK = re.compile(r"^(\d{5,})-(\d{5,})\.json$")


def chunk_name(kind: str, task: int, chunk: int) -> str:
    return f"{kind}-{task:05d}.jsonl" if chunk == 0 else f"{kind}-{task:05d}-{chunk:05d}.jsonl"


def _task_marker(stage_dir: AnyPath, task: int) -> AnyPath:
    return stage_dir / PROGRESS / f"{task:05d}.json"


def _chunk_marker(stage_dir: AnyPath, task: int, chunk: int) -> AnyPath:
    return stage_dir / PROGRESS / f"{task:05d}-{chunk:05d}.json"


@dataclass
class TaskJob:
    """What a worker needs to run the tasks of one stage (shipped once per stage to each worker)."""

    name: str
    tasks: list[Task]
    stage_dir: AnyPath
    fingerprint: str
    shard_size: int
    calls: CallTally | None = None  # this process's copy; a task's share of it goes in its marker
    sync: Callable[[], None] | None = None


def _write_chunk(job: TaskJob, task: int, chunk: int, kept: list[bytes], rejects: list[bytes],
                 outcomes: int, counts: _Counts) -> dict[str, Any]:
    files = []
    for kind, rows in (("part", kept), ("rejects", rejects)):
        if not rows:
            continue
        name = chunk_name(kind, task, chunk)
        digest = hashlib.sha256()
        with atomic_writer(job.stage_dir / name) as handle:
            handle.writelines(rows)  # no joined copy of the chunk: memory stays one chunk
        for row in rows:
            digest.update(row)
        files.append({"path": name, "kind": kind, "records": len(rows), "sha256": digest.hexdigest()})
    return {"chunk": chunk, "outcomes": outcomes, "files": files, "counts": counts.to_dict()}


def _resume_point(job: TaskJob, task: int) -> list[dict[str, Any]]:
    """This task's contiguous chunk checkpoints from chunk 0; files of later chunks are removed."""
    done = []
    while (path := _chunk_marker(job.stage_dir, task, len(done))).exists():
        checkpoint = read_json(path)
        if checkpoint.get("fingerprint") != job.fingerprint or checkpoint.get("calls", {}).get("failed"):
            break
        done.append(checkpoint)
    for name in list_names(job.stage_dir):
        match = _CHUNK_FILE.match(name)
        if match and int(match.group(1)) == task and int(match.group(2) or 0) >= len(done):
            (job.stage_dir / name).unlink()
    for name in list_names(job.stage_dir / PROGRESS):
        match = _CHUNK_MARK.match(name)
        if match and int(match.group(1)) == task and int(match.group(2)) >= len(done):
            (job.stage_dir / PROGRESS / name).unlink()
    return done


def execute_task(job: TaskJob, task: int, advance: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run task `task` of a stage into its files and write its marker; returns the marker.

    Safe to run again after a kill (or twice at once after a lost worker): it resumes after its
    last chunk checkpoint, rewrites the chunks after it, and writes the marker last."""
    marker_path = _task_marker(job.stage_dir, task)
    if marker_path.exists():
        marker = read_json(marker_path)
        if marker.get("fingerprint") == job.fingerprint and not marker.get("calls", {}).get("failed"):
            return marker
    chunks = _resume_point(job, task)
    resumed_from = sum(c["outcomes"] for c in chunks)
    secrets = env_secrets()
    kept: list[bytes] = []
    rejects: list[bytes] = []
    counts = _Counts()
    pending = 0
    tally = job.calls
    calls_at_checkpoint = (tally.made, tally.failed) if tally else (0, 0)
    errors_at_start = Counter(tally.errors) if tally else Counter()

    def flush(final: bool = False) -> None:
        nonlocal kept, rejects, counts, pending, calls_at_checkpoint
        for source, n in kept_from.items():  # counted here, not per record (the hot path)
            counts.add(source, "kept", n=n)
        kept_from.clear()
        if job.sync is not None:  # the answers behind this checkpoint are stored before it
            job.sync()
        checkpoint = _write_chunk(job, task, len(chunks), kept, rejects, pending, counts)
        checkpoint["fingerprint"] = job.fingerprint
        if tally is not None:
            made, failed = tally.made - calls_at_checkpoint[0], tally.failed - calls_at_checkpoint[1]
            calls_at_checkpoint = (tally.made, tally.failed)
            checkpoint["calls"] = {"made": made, "failed": failed}
        if not final:  # the last chunk is covered by the task marker written next
            write_json_atomic(_chunk_marker(job.stage_dir, task, checkpoint["chunk"]), checkpoint)
        chunks.append(checkpoint)
        kept, rejects, counts, pending = [], [], _Counts(), 0

    kept_from: dict[str, int] = {}  # kept rows per source since the last flush
    for outcome in job.tasks[task](resumed_from):
        if type(outcome) is KeptRaw:  # the common case first (bytes a stage serialised itself)
            # `+` copies: orjson's bytes keep their ~8 KB buffer, 20k of them held would be 160 MB
            kept.append(outcome.data + b"\n")
            kept_from[outcome.source] = kept_from.get(outcome.source, 0) + 1
            pending += 1
            if advance is not None:
                advance(1)
            if pending >= job.shard_size:
                flush()
            continue
        if isinstance(outcome, CuratedRecord):
            outcome = Kept(outcome)
        if isinstance(outcome, Kept):
            line = _kept_json(outcome.record)
            outcome = KeptRaw(line, outcome.record.source) if isinstance(line, bytes) else line
        if isinstance(outcome, KeptRaw):
            kept.append(outcome.data + b"\n")
            kept_from[outcome.source] = kept_from.get(outcome.source, 0) + 1
        elif isinstance(outcome, Dropped):
            rejects.append(_reject_json(outcome, secrets) + b"\n")
            counts.add(outcome.record.source, "dropped", outcome.reason)
        elif isinstance(outcome, InvalidItem):
            rejects.append(_reject_json(outcome, secrets) + b"\n")
            counts.add(outcome.source or "unknown", "invalid", outcome.reason)
        else:
            raise TypeError(f"stage {job.name!r} yielded {type(outcome).__name__}, not an outcome")
        pending += 1
        if advance is not None:
            advance(1)
        if pending >= job.shard_size:
            flush()
    if pending:
        flush(final=True)
    total = _Counts()
    for checkpoint in chunks:
        total.merge(checkpoint["counts"])
    marker = {
        "fingerprint": job.fingerprint,
        "task": task,
        "outcomes": sum(c["outcomes"] for c in chunks),
        "resumed_from": resumed_from,
        "files": [f for c in chunks for f in c["files"]],
        "counts": total.to_dict(),
    }
    if tally is not None:
        marker["calls"] = {k: sum(c.get("calls", {}).get(k, 0) for c in chunks) for k in ("made", "failed")}
        marker["calls"]["errors"] = dict(tally.errors - errors_at_start)
    write_json_atomic(marker_path, marker)
    return marker


def _load_markers(stage_dir: AnyPath, fingerprint: str, tasks: int) -> dict[int, dict[str, Any]] | None:
    """Finished tasks' markers, or None when a marker belongs to another fingerprint (left by a
    run of different inputs or parameters: the directory is stale). Chunk checkpoints are checked
    by their task when it resumes."""
    markers: dict[int, dict[str, Any]] = {}
    for name in sorted(list_names(stage_dir / PROGRESS)):
        stem = name[: -len(".json")] if name.endswith(".json") else ""
        if not stem.isdigit():
            continue
        data = read_json(stage_dir / PROGRESS / name)
        if data.get("fingerprint") != fingerprint or int(stem) >= tasks:
            return None
        if not data.get("calls", {}).get("failed"):  # a task with a failed outside call runs again
            markers[int(stem)] = data
    return markers


def _prepare_dir(run: RunDir, stage: Stage, fingerprint: str, force: bool, tasks: int) -> dict[int, dict[str, Any]]:
    stage_dir = run.stage_dir(stage.name)
    existing = run.manifest(stage.name)
    if existing is not None or force:
        rmtree(stage_dir)
    markers = _load_markers(stage_dir, fingerprint, tasks)
    if markers is None:
        rmtree(stage_dir)
        markers = {}
    mkdirs(stage_dir / PROGRESS)
    clean_temp_files(stage_dir)
    return markers


def run_stage(run: RunDir, stage: Stage, *, force: bool = False, progress: bool = True,
              executor: Executor | None = None) -> StageResult:
    """Run `stage` into `run`, skipping it when complete and resuming it when interrupted.

    Tasks run on `executor` (default: a local process pool of `stage.workers`), except for
    `on_driver` stages, whose tasks run here."""
    if not STAGE_NAME.fullmatch(stage.name):
        raise ValueError(f"stage name {stage.name!r} must be one folder name inside the run directory "
                         "(letters, digits, '_', '-', '.'; no path separators, not '.' or '..')")
    stage_dir = run.stage_dir(stage.name)
    fingerprint = stage.fingerprint()
    existing = run.manifest(stage.name)
    retry_calls = existing is not None and bool(existing.get("calls", {}).get("failed"))
    if existing is not None and existing.get("fingerprint") == fingerprint and not force and not retry_calls:
        run.register_stage(stage.name)
        return StageResult(existing, skipped=True)
    tasks = stage.task_list()
    markers = _prepare_dir(run, stage, fingerprint, force, len(tasks))
    run.register_stage(stage.name)
    done_before = sum(m["outcomes"] for m in markers.values())
    pending = [i for i in range(len(tasks)) if i not in markers]
    executor = executor or LocalExecutor(stage.workers)
    started = time.time()
    on_driver = stage.on_driver or (stage.calls is not None and not (stage.calls_on_workers and executor.name == "ray"))
    job = TaskJob(stage.name, tasks, stage_dir, fingerprint, stage.shard_size, stage.calls, stage.sync)
    resumed_in_tasks = 0

    with _progress(stage.name, stage.total, done_before, enabled=progress) as advance:
        if pending and stage.prepare is not None:
            stage.prepare(executor)
        inline = on_driver or (executor.name == "local" and (executor.workers <= 1 or len(pending) <= 1))
        if inline:
            results: Iterable[dict[str, Any]] = (execute_task(job, i, advance) for i in pending)
        else:
            results = executor.map_unordered(execute_task, job, pending)
        for marker in results:
            markers[marker["task"]] = marker
            resumed_in_tasks += marker["resumed_from"]
            if not inline:
                advance(marker["outcomes"] - marker["resumed_from"])
    clean_temp_files(stage_dir)

    ordered = [markers[i] for i in range(len(tasks))]
    total = _Counts()
    for marker in ordered:
        total.merge(marker["counts"])
    resumed_from = done_before + resumed_in_tasks
    manifest = {
        "stage": stage.name,
        "fingerprint": fingerprint,
        "inputs": stage.recorded_inputs(),
        "params": stage.recorded_params(),
        "shard_size": stage.shard_size,
        "code_version": code_version(),
        "counts": total.to_dict(),
        "tasks": len(tasks),
        "shards": [f for m in ordered for f in m["files"]],
        "timings": {
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds_this_attempt": round(time.time() - started, 3),
            "resumed_from_outcome": resumed_from,
            "executor": "driver" if on_driver else executor.name,
        },
    }
    counts_ok = manifest["counts"]
    assert counts_ok["in"] == counts_ok["kept"] + counts_ok["dropped_total"] + counts_ok["invalid_total"]
    if stage.calls is not None:
        made = sum(m.get("calls", {}).get("made", 0) for m in ordered)
        failed = sum(m.get("calls", {}).get("failed", 0) for m in ordered)
        errors = merge_errors(m.get("calls", {}).get("errors", {}) for m in ordered)
        manifest["calls"] = stage.calls.summary(made, failed, errors)
        if failed and failed == made:
            raise ExternalCallsFailed(
                f"{stage.name}: all {made} {stage.calls.service} calls failed, so the stage is left incomplete "
                f"(fix the cause and re-run; a re-run sends them again). {describe_errors(manifest['calls'])}"
            )
    write_json_atomic(stage_dir / MANIFEST, manifest)
    if stage.cleanup is not None:
        stage.cleanup()
    return StageResult(manifest, skipped=False, resumed_from=resumed_from)


def describe_errors(calls: dict[str, Any]) -> str:
    """'Errors: <message> (×n); ...' for a manifest's `calls` entry (messages carry no secrets:
    the LLM client scrubs keys from them)."""
    errors = calls.get("errors") or {}
    if not errors:
        return ""
    return "Errors: " + "; ".join(f"{message} (x{n})" for message, n in errors.items())


def failed_calls_note(manifest: dict[str, Any]) -> str | None:
    """A sentence for the person running the command when some outside calls failed, else None."""
    calls = manifest.get("calls") or {}
    if not calls.get("failed"):
        return None
    return (f"{manifest['stage']}: {calls['failed']} of {calls['made']} {calls['service']} calls failed; "
            "their items are recorded with the error and are retried when the same command runs again "
            f"(calls that succeeded are cached). {describe_errors(calls)}")


class _progress:
    """A rich progress bar that costs nothing when disabled."""

    def __init__(self, name: str, total: int | None, completed: int, *, enabled: bool) -> None:
        self.name, self.total, self.completed, self.enabled = name, total, completed, enabled
        self._bar: Any = None
        self._pending = 0

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda n: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        # stderr: stdout carries results (`--json` output must parse)
        self._bar = Progress(
            TextColumn(f"[bold]{self.name}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            TimeElapsedColumn(), transient=False, console=Console(stderr=True),
        )
        self._bar.start()
        self._task = self._bar.add_task(self.name, total=self.total, completed=self.completed)

        def advance(n: int) -> None:
            self._pending += n
            if self._pending >= 2000:
                self._bar.advance(self._task, self._pending)
                self._pending = 0

        return advance

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, self._pending)
            self._bar.stop()
