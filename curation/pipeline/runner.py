"""The stage runner: shards, checkpoints, skip-if-complete, resume-after-kill, honest counts.

A stage yields one outcome per input unit (Kept, KeptRaw, Dropped or InvalidItem). Every `shard_size`
outcomes the runner atomically writes a kept shard, a rejects shard and then a checkpoint. After
a kill, the completed checkpoints say how many outcomes are durable; the stage is asked to resume
after them (`produce(skip)`), partial shards are overwritten, so the final output is identical to
an uninterrupted run as long as the stage is deterministic.

A stage that calls an outside service (an LLM) counts its calls in a `CallTally`. A failed call is
not a final answer: a checkpoint holding one is not resumed from, a manifest recording one does
not make the stage skippable (the next run retries; the client's cache makes the calls that did
succeed free), and when every call failed the stage is left incomplete (`ExternalCallsFailed`).
"""

from __future__ import annotations

import functools
import hashlib
import re
import reprlib
import shutil
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
from curation.pipeline.rundir import MANIFEST, PROGRESS, RunDir
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

    def summary(self, made: int, failed: int) -> dict[str, Any]:
        return {"service": self.service, "made": made, "failed": failed,
                "errors": dict(self.errors.most_common())}


class ExternalCallsFailed(RuntimeError):
    """Every call a stage made to an outside service failed: the stage is left incomplete."""


@dataclass
class Stage:
    """What to run: `produce(skip)` yields outcomes after the first `skip` ones."""

    name: str
    produce: Callable[[int], Iterable[Outcome | CuratedRecord]]
    inputs: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    shard_size: int = 20_000
    total: int | None = None
    calls: CallTally | None = None  # set by stages that call an outside service

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


def iter_upstream(run: RunDir, upstreams: list[str]) -> Iterator[CuratedRecord]:
    """Records of several completed stages, concatenated in the given order."""
    for upstream in upstreams:
        yield from run.iter_records(upstream)


def map_stage(
    name: str,
    run: RunDir,
    upstream: str | list[str],
    fn: Callable[[CuratedRecord], Outcome | CuratedRecord],
    *,
    params: dict[str, Any] | None = None,
    shard_size: int = 20_000,
) -> Stage:
    """A per-record stage over upstream stage(s); resuming skips input instead of recomputing."""
    upstreams = [upstream] if isinstance(upstream, str) else list(upstream)

    def produce(skip: int) -> Iterator[Outcome | CuratedRecord]:
        for record in islice(iter_upstream(run, upstreams), skip, None):
            yield fn(record)

    return Stage(
        name=name,
        produce=produce,
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

    def add(self, source: str, kind: str, reason: str | None = None) -> None:
        self.total["in"] += 1
        self.total[kind] += 1
        per = self.by_source[source]
        per["total"]["in"] += 1
        per["total"][kind] += 1
        if reason is not None:
            getattr(self, kind)[reason] += 1
            per[kind][reason] += 1

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


class _ShardWriter:
    """Buffers one shard's outcomes and writes kept/rejects files then the checkpoint."""

    def __init__(self, stage_dir: Path, fingerprint: str) -> None:
        self.stage_dir = stage_dir
        self.fingerprint = fingerprint

    def write(self, index: int, kept: list[bytes], rejects: list[bytes], outcomes: int, counts: _Counts,
              calls: dict[str, int] | None = None) -> dict:
        files = []
        for kind, rows in (("part", kept), ("rejects", rejects)):
            if not rows:
                continue
            name = f"{kind}-{index:05d}.jsonl"
            digest = hashlib.sha256()
            with atomic_writer(self.stage_dir / name) as handle:
                for row in rows:
                    handle.write(row)
                    digest.update(row)
            files.append({"path": name, "kind": kind, "records": len(rows), "sha256": digest.hexdigest()})
        checkpoint = {
            "fingerprint": self.fingerprint,
            "index": index,
            "outcomes": outcomes,
            "files": files,
            "counts": counts.to_dict(),
        }
        if calls is not None:
            checkpoint["calls"] = calls
        write_json_atomic(self.stage_dir / PROGRESS / f"{index:05d}.json", checkpoint)
        return checkpoint


def _load_checkpoints(stage_dir: Path, fingerprint: str) -> list[dict[str, Any]]:
    """Contiguous completed checkpoints from shard 0 that belong to this fingerprint; a shard with
    a failed outside call is not final, so resuming starts again from it."""
    done = []
    index = 0
    while (path := stage_dir / PROGRESS / f"{index:05d}.json").exists():
        checkpoint = read_json(path)
        if checkpoint.get("fingerprint") != fingerprint or checkpoint.get("calls", {}).get("failed"):
            break
        done.append(checkpoint)
        index += 1
    return done


def _remove_from(stage_dir: Path, first_index: int) -> None:
    """Delete shard files and checkpoints at or after `first_index` (left by a killed run)."""
    for path in list(stage_dir.glob("*-*.jsonl")) + list((stage_dir / PROGRESS).glob("*.json")):
        stem = path.stem.rsplit("-", 1)[-1]
        if stem.isdigit() and int(stem) >= first_index:
            path.unlink()


def run_stage(run: RunDir, stage: Stage, *, force: bool = False, progress: bool = True) -> StageResult:
    """Run `stage` into `run`, skipping it when complete and resuming it when interrupted."""
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
    if existing is not None or force:
        shutil.rmtree(stage_dir, ignore_errors=True)
    stage_dir.mkdir(parents=True, exist_ok=True)
    (stage_dir / PROGRESS).mkdir(exist_ok=True)
    clean_temp_files(stage_dir)
    run.register_stage(stage.name)

    checkpoints = _load_checkpoints(stage_dir, fingerprint)
    _remove_from(stage_dir, len(checkpoints))
    resumed_from = sum(c["outcomes"] for c in checkpoints)
    started = time.time()
    writer = _ShardWriter(stage_dir, fingerprint)
    index = len(checkpoints)
    kept: list[bytes] = []
    rejects: list[bytes] = []
    counts = _Counts()
    pending = 0
    secrets = env_secrets()
    tally = stage.calls
    calls_at_checkpoint = (tally.made, tally.failed) if tally else (0, 0)

    def shard_calls() -> dict[str, int] | None:
        nonlocal calls_at_checkpoint
        if tally is None:
            return None
        made, failed = tally.made - calls_at_checkpoint[0], tally.failed - calls_at_checkpoint[1]
        calls_at_checkpoint = (tally.made, tally.failed)
        return {"made": made, "failed": failed}

    with _progress(stage.name, stage.total, resumed_from, enabled=progress) as advance:
        for outcome in stage.produce(resumed_from):
            if isinstance(outcome, CuratedRecord):
                outcome = Kept(outcome)
            if isinstance(outcome, Kept):
                line = _kept_json(outcome.record)
                outcome = KeptRaw(line, outcome.record.source) if isinstance(line, bytes) else line
            if isinstance(outcome, KeptRaw):
                kept.append(outcome.data + b"\n")
                counts.add(outcome.source, "kept")
            elif isinstance(outcome, Dropped):
                rejects.append(_reject_json(outcome, secrets) + b"\n")
                counts.add(outcome.record.source, "dropped", outcome.reason)
            elif isinstance(outcome, InvalidItem):
                rejects.append(_reject_json(outcome, secrets) + b"\n")
                counts.add(outcome.source or "unknown", "invalid", outcome.reason)
            else:
                raise TypeError(f"stage {stage.name!r} yielded {type(outcome).__name__}, not an outcome")
            pending += 1
            advance(1)
            if pending >= stage.shard_size:
                checkpoints.append(writer.write(index, kept, rejects, pending, counts, shard_calls()))
                index, kept, rejects, counts, pending = index + 1, [], [], _Counts(), 0
        if pending or not checkpoints:
            checkpoints.append(writer.write(index, kept, rejects, pending, counts, shard_calls()))

    total = _Counts()
    for checkpoint in checkpoints:
        total.merge(checkpoint["counts"])
    manifest = {
        "stage": stage.name,
        "fingerprint": fingerprint,
        "inputs": stage.recorded_inputs(),
        "params": stage.recorded_params(),
        "shard_size": stage.shard_size,
        "code_version": code_version(),
        "counts": total.to_dict(),
        "shards": [f for c in checkpoints for f in c["files"]],
        "timings": {
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds_this_attempt": round(time.time() - started, 3),
            "resumed_from_outcome": resumed_from,
        },
    }
    counts_ok = manifest["counts"]
    assert counts_ok["in"] == counts_ok["kept"] + counts_ok["dropped_total"] + counts_ok["invalid_total"]
    if tally is not None:
        made = sum(c.get("calls", {}).get("made", 0) for c in checkpoints)
        failed = sum(c.get("calls", {}).get("failed", 0) for c in checkpoints)
        manifest["calls"] = tally.summary(made, failed)
        if failed and failed == made:
            raise ExternalCallsFailed(
                f"{stage.name}: all {made} {tally.service} calls failed, so the stage is left incomplete "
                f"(fix the cause and re-run; a re-run sends them again). {describe_errors(manifest['calls'])}"
            )
    write_json_atomic(stage_dir / MANIFEST, manifest)
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
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(
            TextColumn(f"[bold]{self.name}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            TimeElapsedColumn(), transient=False,
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
