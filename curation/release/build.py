"""Assemble a run's final stage into a Hub-layout release: Parquet per config + dataset card.

Streaming: one ParquetWriter per config. Rows become Arrow tables every `batch_rows`; a row group
is written when a config's tables reach `datasets`' row-group size (100 MB uncompressed) or when
all configs together hold `buffer_bytes`, so memory is bounded by that budget, not by dataset
size. The stage's shards are converted into Arrow pieces by executor tasks and streamed here in
shard order, so the bytes do not depend on the executor. Parquet is written as `datasets` writes it for the Hub (content-defined chunking, page
index: release/parquet.py) but with zstd, which made releases ~21% smaller than Snappy with the
same re-upload share (docs/benchmarks.md). Per-config statistics for the card are kept as compact
integer arrays.

The release is written into a hidden staging folder beside OUT (`.OUT.build-<pid>-<random>`) and
renamed into place at the end, so OUT is never half-written. Every exit path through Python
removes the staging folder (the CLI turns SIGTERM/SIGHUP into one); after a SIGKILL the next build
of OUT removes folders whose process is gone.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import statistics
import tempfile
from array import array
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import chain
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

import orjson

from curation.pipeline.rundir import RunDir
from curation.release.assets import load_figure_code, released_stages, write_assets, write_figures
from curation.release.card import ALL_CONFIG, render_card
from curation.release.columns import arrow_table
from curation.release.parquet import max_row_group_bytes, open_writer
from schemas.features import release_arrow_schema
from schemas.record import (
    CLEANED_FIELDS,
    COIG_CQIA_FIELDS,
    RELEASE_METADATA_ENCODER,
    release_metadata,
    text_rule_violation,
)
from schemas.redact import env_secrets, redact_obj, redact_text, redact_url
from schemas.verification import STATES, verification_state

DEFAULT_SHARD_ROWS = 500_000
DEFAULT_BUFFER_BYTES = 256 * 1024 * 1024


class ReleaseBuildError(RuntimeError):
    pass


@dataclass
class ConfigStats:
    """What the card says about one config; filled while streaming."""

    name: str
    rows: int = 0
    human_verified: int = 0
    answer_from: Counter[str] = field(default_factory=Counter)
    licenses: Counter[str] = field(default_factory=Counter)
    domains: Counter[str] = field(default_factory=Counter)
    task_major: Counter[str] = field(default_factory=Counter)
    review_status: Counter[str] = field(default_factory=Counter)
    verification: Counter[str] = field(default_factory=Counter)
    verified_over_dissent: int = 0
    instruction_len: array = field(default_factory=lambda: array("I"))
    output_len: array = field(default_factory=lambda: array("I"))
    files: list[str] = field(default_factory=list)

    def merge(self, other: ConfigStats) -> None:
        """Add another part's statistics (parts merged in stream order give the one-pass result)."""
        self.rows += other.rows
        self.human_verified += other.human_verified
        for mine, theirs in ((self.answer_from, other.answer_from), (self.licenses, other.licenses),
                             (self.domains, other.domains), (self.task_major, other.task_major),
                             (self.review_status, other.review_status)):
            mine.update(theirs)
        self.instruction_len.extend(other.instruction_len)
        self.output_len.extend(other.output_len)
        self.verification.update(other.verification)
        self.verified_over_dissent += other.verified_over_dissent

    def add_verification(self, human_verified: bool, extra: dict[str, Any]) -> None:
        """Count the row's verification state (schemas/verification.py) for the card."""
        state = verification_state(human_verified, extra)
        self.verification[state] += 1
        if state == "verified_here" and (extra.get("annotation") or {}).get("conflict"):
            self.verified_over_dissent += 1

    def summary(self) -> dict[str, Any]:
        return {
            "config": self.name,
            "rows": self.rows,
            "human_verified": self.human_verified,
            "answer_from": dict(self.answer_from),
            "median_instruction_chars": statistics.median(self.instruction_len) if self.rows else 0,
            "median_output_chars": statistics.median(self.output_len) if self.rows else 0,
            "licenses": dict(self.licenses.most_common()),
            "domains": dict(self.domains.most_common(5)),
            "task_major": dict(self.task_major.most_common(5)),
            "review_status": dict(sorted(self.review_status.items())),
            "verification": {state: self.verification.get(state, 0) for state in STATES},
            "verified_over_dissent": self.verified_over_dissent,
            "files": self.files,
        }


@dataclass
class ReleaseSummary:
    out_dir: Path
    stage: str
    configs: list[dict[str, Any]]
    removed_leftovers: list[Path] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(c["rows"] for c in self.configs)


class _ConfigWriter:
    """Writes one config's rows into numbered Parquet shards, renamed `-of-N` at the end. Rows arrive
    as Arrow tables (one per input shard) and are cut into `batch_rows` batches whatever their size,
    so row groups fall in the same places however the stage was partitioned."""

    def __init__(self, directory: Path, schema: Any, shard_rows: int, batch_rows: int, row_group_bytes: int,
                 compression: str, cdc: bool = True) -> None:
        self.directory, self.schema, self.cdc = directory, schema, cdc
        self.shard_rows, self.batch_rows, self.row_group_bytes = shard_rows, batch_rows, row_group_bytes
        self.compression = compression
        self.pending: list[Any] = []
        self.pending_rows = 0
        self.tables: list[Any] = []
        self.buffered_bytes = 0
        self.buffered_rows = 0
        self.shards: list[Path] = []
        self.writer: Any = None
        self.rows_in_shard = 0

    def add_table(self, table: Any) -> int:
        """Queue an input shard's rows; returns how many batches were converted (the caller may then
        check the memory budget)."""
        self.pending.append(table)
        self.pending_rows += table.num_rows
        batches = 0
        while self.pending_rows >= self.batch_rows:
            self._convert(self._take(self.batch_rows))
            batches += 1
        return batches

    def _take(self, rows: int) -> Any:
        import pyarrow as pa

        table = pa.concat_tables(self.pending) if len(self.pending) > 1 else self.pending[0]
        head, rest = table.slice(0, rows), table.slice(rows)
        self.pending = [rest] if rest.num_rows else []
        self.pending_rows = rest.num_rows
        return head.combine_chunks()

    def _open(self) -> None:
        """Start the next shard file (`.partial` until the release is complete)."""
        if self.writer is None:
            path = self.directory / f"train-{len(self.shards):05d}.parquet.partial"
            self.directory.mkdir(parents=True, exist_ok=True)
            self.writer = open_writer(path, self.schema, compression=self.compression, cdc=self.cdc)
            self.shards.append(path)
            self.rows_in_shard = 0

    def _convert(self, table: Any) -> None:
        self._open()  # the shard exists from its first batch on, though its row group is written later
        self.tables.append(table)
        self.buffered_bytes += table.nbytes
        self.buffered_rows += table.num_rows
        if self.buffered_bytes >= self.row_group_bytes or self.rows_in_shard + self.buffered_rows >= self.shard_rows:
            self.flush()

    def flush(self) -> None:
        """Write the buffered tables as one row group (split where a shard fills up)."""
        import pyarrow as pa

        if not self.tables:
            return
        table = pa.concat_tables(self.tables)
        self.tables, self.buffered_bytes, self.buffered_rows = [], 0, 0
        offset = 0
        while offset < table.num_rows:
            self._open()
            chunk = table.slice(offset, self.shard_rows - self.rows_in_shard)
            self.writer.write_table(chunk, row_group_size=chunk.num_rows)
            offset += chunk.num_rows
            self.rows_in_shard += chunk.num_rows
            if self.rows_in_shard >= self.shard_rows:
                self.writer.close()
                self.writer = None

    def close(self) -> list[str]:
        if self.pending_rows:
            self._convert(self._take(self.pending_rows))
        self.flush()
        if self.writer is not None:
            self.writer.close()
        names = []
        for index, path in enumerate(self.shards):
            final = self.directory / f"train-{index:05d}-of-{len(self.shards):05d}.parquet"
            path.rename(final)
            names.append(final.name)
        return names


@dataclass(frozen=True)
class _ConvertJob:
    shards: list[Any]
    pieces: Any  # where workers put their Arrow pieces (inside the run directory: reachable by all)


_ROW_KEYS = ("id", "source", "record", "provenance", "stats", "drop_reason")
_RECORD_KEYS = tuple(COIG_CQIA_FIELDS)
_PROVENANCE_KEYS = ("source_id", "url", "fetched_at", "raw_sha256", "license", "author", "location", "extra")


def _fast_release_row(data: Any, secrets: list[str], memo: dict[Any, Any] | None = None,
                      ) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """(config, scrubbed release row, scrubbed provenance) built straight from a parsed stage line,
    or None when the line is not laid out as the runner writes records (the caller then validates it
    with the model, which also names what is wrong).

    A completed stage's records were validated when written, and only the strict text rule is
    stricter than what an earlier stage enforces (schemas/record.py), so that rule is checked here and
    anything breaking it takes the model path. The row is what `CuratedRecord.release_row` gives
    after the same scrubbing (tested byte-for-byte against it)."""
    if type(data) is not dict or tuple(data) != _ROW_KEYS:
        return None
    memo = {} if memo is None else memo  # scrubbing results by input (same secrets throughout)
    rec, prov = data["record"], data["provenance"]
    if (type(rec) is not dict or tuple(rec) != _RECORD_KEYS or type(prov) is not dict
            or tuple(prov) != _PROVENANCE_KEYS or type(rec["task_type"]) is not dict
            or tuple(rec["task_type"]) != ("major", "minor") or type(prov["extra"]) is not dict):
        return None
    for name in CLEANED_FIELDS:
        text = rec[name]
        if type(text) is not str or text_rule_violation(text) is not None:
            return None
    if type(rec["metadata"]) is not str or type(rec["human_verified"]) is not bool:
        return None  # not as a model writes them: the model says what is wrong or coerces as it did
    # `metadata` carries the provenance and is published: no credential may ride along. URL and
    # location scrub themselves when validated (again here: it costs nothing when there is nothing
    # to find); the free-form parts are scrubbed here.
    for name in ("url", "location"):
        if prov[name]:
            prov[name] = redact_url(prov[name])
    extra_json = None
    if prov["extra"]:
        prov["extra"], extra_json = _scrubbed_extra(prov["extra"], secrets, memo)
    metadata = memo.get(rec["metadata"])
    if metadata is None:
        metadata = redact_text(rec["metadata"], secrets, use_env=False)
        if len(metadata) <= _MEMO_CHARS:
            _remember(memo, rec["metadata"], metadata)
    row = dict(rec)
    row["metadata"] = _release_metadata(data["id"], data["source"], metadata, prov, extra_json)
    return data["source"], row, prov


# `release_metadata` sorts the keys: "cqia_id" < "provenance" < "source" < "source_metadata", and
# the provenance's keys (always exactly _PROVENANCE_KEYS here) in this order.
_SORTED_PROVENANCE = tuple((key, f'"{key}": ') for key in sorted(_PROVENANCE_KEYS))
assert [key for key, _ in _SORTED_PROVENANCE] == sorted(_PROVENANCE_KEYS)


def _release_metadata(record_id: Any, source: Any, source_metadata: str, prov: dict[str, Any],
                      extra_json: str | None) -> str:
    """`release_metadata(...)` for a provenance laid out as `_PROVENANCE_KEYS`, composed from the
    pieces its encoder writes (3x faster): the same string escaping (`json.encoder.encode_basestring`,
    which `JSONEncoder(ensure_ascii=False)` applies to every string), the same separators and
    sorted key order, and `extra_json` (the encoder's own output for `prov["extra"]`). Any value that
    is not a string takes the encoder whole. Tested equal to `release_metadata`."""
    quote = encode_basestring
    parts: list[str] | None = []
    for key, head in _SORTED_PROVENANCE:
        value = prov[key]
        if type(value) is str:
            parts.append(head + quote(value))
        elif key == "extra":
            if value:
                parts.append(head + extra_json)
        elif value is not None:
            parts = None
            break
    if parts is None or not (type(record_id) is str and type(source) is str and type(source_metadata) is str):
        return release_metadata(record_id, source, source_metadata,
                                {k: v for k, v in prov.items() if v is not None and (k != "extra" or v)})
    return (f'{{"cqia_id": {quote(record_id)}, "provenance": {{{", ".join(parts)}}}, '
            f'"source": {quote(source)}, "source_metadata": {quote(source_metadata)}}}')


_MEMO_ENTRIES, _MEMO_CHARS = 4096, 1024  # bounded: at most ~4096 short values kept per task


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= _MEMO_ENTRIES:
        memo.clear()
    memo[key] = value


def _scrubbed_extra(extra: dict[str, Any], secrets: list[str], memo: dict[Any, Any]) -> tuple[dict[str, Any], str]:
    """`redact_obj(extra)` and its JSON as `release_metadata`'s encoder writes it inside the
    provenance, remembered for flat all-string extras (most rows of a source share a few, e.g. the
    import format): both depend only on those strings."""
    if not all(type(v) is str for v in extra.values()) or sum(map(len, extra.values())) > _MEMO_CHARS:
        scrubbed = redact_obj(extra, secrets, use_env=False)
        return scrubbed, RELEASE_METADATA_ENCODER.encode(scrubbed)
    key = ("extra", *extra.items())
    known = memo.get(key)
    if known is None:
        scrubbed = redact_obj(extra, secrets, use_env=False)
        known = scrubbed, RELEASE_METADATA_ENCODER.encode(scrubbed)
        _remember(memo, key, known)
    return dict(known[0]), known[1]


class _ConfigColumns:
    """One config's release rows of a shard, kept as columns (one list per field, in
    `COIG_CQIA_FIELDS` order) plus what the card counts per row, so the Arrow piece and the
    statistics are each built in one call per column instead of once per row."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in COIG_CQIA_FIELDS}
        self.licenses: list[str] = []
        self.review_statuses: list[str] = []
        self.verification = ConfigStats("")

    def add(self, row: dict[str, Any], license_: str | None, extra: dict[str, Any], human_verified: bool) -> None:
        for name, column in self.columns.items():
            column.append(row[name])
        self.licenses.append(license_ or "unknown")
        if review_status := extra.get("review_status"):
            self.review_statuses.append(review_status)
        self.verification.add_verification(human_verified, extra)

    def table(self, schema: Any) -> Any:
        """The rows as an Arrow table of `schema`, built column by column from buffers."""
        return arrow_table(self.columns, schema)

    def stats(self, config: str) -> ConfigStats:
        """The config's statistics, computed per column: what counting row by row gave (Counter
        insertion order included: Counter counts an iterable in order; tested equal)."""
        cols = self.columns
        stats = ConfigStats(config, rows=len(cols["instruction"]), human_verified=sum(cols["human_verified"]),
                            answer_from=Counter(cols["answer_from"]), licenses=Counter(self.licenses),
                            domains=Counter(chain.from_iterable(cols["domain"])),
                            task_major=Counter(chain.from_iterable(t["major"] for t in cols["task_type"])),
                            review_status=Counter(self.review_statuses),
                            instruction_len=array("I", map(len, cols["instruction"])),
                            output_len=array("I", map(len, cols["output"])))
        stats.verification, stats.verified_over_dissent = (self.verification.verification,
                                                           self.verification.verified_over_dissent)
        return stats


def convert_shard(job: _ConvertJob, index: int) -> dict[str, Any]:
    """Executor task: one stage shard's records -> release rows (scrubbed), an Arrow piece per
    config and that config's statistics for the card."""
    import pyarrow as pa
    from pydantic import ValidationError

    from curation.pipeline.atomic import atomic_writer
    from curation.pipeline.rundir import RunDirError
    from schemas import CuratedRecord

    schema = release_arrow_schema()
    secrets = env_secrets()
    memo: dict[Any, Any] = {}
    rows: dict[str, _ConfigColumns] = {}
    with job.shards[index].open("rb") as handle:
        for line_no, line in enumerate(handle, start=1):
            try:
                fast = _fast_release_row(orjson.loads(line), secrets, memo)
            except orjson.JSONDecodeError:
                fast = None
            if fast is not None:
                config, row, prov = fast
                license_, extra, human_verified = prov["license"], prov["extra"], row["human_verified"]
            else:
                try:
                    record = CuratedRecord.model_validate_json(line)
                except ValidationError as exc:
                    raise RunDirError(f"{job.shards[index]}:{line_no}: not a valid record (strict text rule: "
                                      f"records are strict-valid only from the clean stage on): {exc}") from None
                config = record.source
                # the same scrubbing as the fast path
                if record.provenance.extra:
                    record.provenance.extra = redact_obj(record.provenance.extra, secrets, use_env=False)
                record.record.metadata = redact_text(record.record.metadata, secrets, use_env=False)
                row = record.release_row()
                license_, extra = record.provenance.license, record.provenance.extra
                human_verified = record.record.human_verified
            if config not in rows:
                rows[config] = _ConfigColumns()
            rows[config].add(row, license_, extra, human_verified)
    pieces, stats = {}, {}
    for k, (config, columns) in enumerate(rows.items()):
        path = job.pieces / f"{index:05d}-{k:03d}.arrow"
        table = columns.table(schema)
        with atomic_writer(path) as out, pa.ipc.new_file(out, schema) as writer:
            writer.write_table(table)
        pieces[config], stats[config] = path, columns.stats(config)
    return {"shard": index, "configs": list(rows), "pieces": pieces, "stats": stats}


def _read_piece(path: Any) -> Any:
    import pyarrow as pa

    with path.open("rb") as handle:
        return pa.ipc.open_file(pa.BufferReader(handle.read())).read_all()


def _staging_prefix(out_dir: Path) -> str:
    return f".{out_dir.name}.build-{os.getpid()}-"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale_staging(out_dir: Path) -> list[Path]:
    """Remove staging folders of earlier builds of `out_dir` whose process is gone (a killed build),
    including the unnamed `.OUT.xxxxxxxx` folders older versions left; returns what was removed.
    Folders of a build still running, and anything not named like a staging folder, stay."""
    removed = []
    head = f".{out_dir.name}."
    if not out_dir.parent.is_dir():
        return removed
    for path in out_dir.parent.iterdir():
        if not path.name.startswith(head) or not path.is_dir():
            continue
        rest = path.name[len(head):]
        owner = re.fullmatch(r"build-(\d+)-[A-Za-z0-9_]+", rest)
        legacy = re.fullmatch(r"[a-z0-9_]{8}", rest)
        if owner and not _process_alive(int(owner.group(1))) or legacy:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def build_release(
    run_dir: Path,
    out_dir: Path,
    *,
    stage: str | None = None,
    pretty_name: str = "COIG-CQIA (cqia build)",
    dataset_license: str = "other",
    shard_rows: int = DEFAULT_SHARD_ROWS,
    batch_rows: int = 10_000,
    overwrite: bool = False,
    compression: str = "zstd",
    row_group_bytes: int | None = None,
    buffer_bytes: int = DEFAULT_BUFFER_BYTES,
    cdc: bool = True,
    figures: bool = True,
    executor: Any = None,
) -> ReleaseSummary:
    """Build `out_dir/<config>/train-*.parquet`, `out_dir/README.md` (card), `out_dir/assets/*.png`
    (key report figures), `out_dir/cqia_pipeline.yaml` (stage parameters) and, for `license: other`,
    `out_dir/LICENSE.md` from a run's stage.

    The stage's shards are converted by `executor` tasks (default: in this process) into Arrow
    pieces under RUN/_release/; this process streams them, in shard order and as soon as each is
    next, into each config's Parquet files, so the bytes do not depend on the executor."""
    from curation.pipeline.executors import LocalExecutor
    from curation.pipeline.storage import rmtree

    run = RunDir(run_dir)
    stage = stage or run.latest_stage()
    run.require_manifest(stage)
    removed = remove_stale_staging(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise ReleaseBuildError(f"{out_dir} exists and is not empty (use --overwrite to replace it)")
    schema = release_arrow_schema()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(out_dir), dir=out_dir.parent))
    pieces_dir = run.root / "_release" / hashlib.sha256(str(out_dir.resolve()).encode()).hexdigest()[:12]
    try:
        writers: dict[str, _ConfigWriter] = {}
        stats: dict[str, ConfigStats] = {}
        rmtree(pieces_dir)
        shards = run.shard_paths(stage)
        job = _ConvertJob(shards, pieces_dir)
        waiting: dict[int, dict[str, Any]] = {}
        next_shard = 0
        load_figures = figures
        import pyarrow.ipc  # noqa: F401  (imported once here, not again in each forked worker)

        for result in (executor or LocalExecutor(1)).map_unordered(convert_shard, job, list(range(len(shards)))):
            if load_figures:  # once the workers run: the import overlaps their work, not the end
                load_figure_code()
                load_figures = False
            waiting[result["shard"]] = result
            # shard order: the same stream whatever ran the tasks; written as soon as it is next
            while next_shard in waiting:
                result = waiting.pop(next_shard)
                next_shard += 1
                for config in result["configs"]:
                    if config not in writers:
                        if config == ALL_CONFIG:
                            raise ReleaseBuildError(
                                f"source {ALL_CONFIG!r} clashes with the card's `{ALL_CONFIG}` config")
                        writers[config] = _ConfigWriter(staging / config, schema, shard_rows, batch_rows,
                                                        row_group_bytes or max_row_group_bytes(), compression, cdc)
                        stats[config] = ConfigStats(config)
                    if (writers[config].add_table(_read_piece(result["pieces"][config]))
                            and sum(w.buffered_bytes for w in writers.values()) > buffer_bytes):
                        max(writers.values(), key=lambda w: w.buffered_bytes).flush()
                    stats[config].merge(result["stats"][config])
        rmtree(pieces_dir)
        if not writers:
            raise ReleaseBuildError(f"{run_dir}: stage {stage!r} has no records to release")
        lengths = {c: {"instruction": s.instruction_len, "output": s.output_len} for c, s in stats.items()}
        # The figures need only the statistics, so they are drawn while the last row groups are
        # written and the files closed (Arrow writes Parquet without holding the GIL).
        with ThreadPoolExecutor(1) as drawing:
            drawn = drawing.submit(write_figures, staging, run, stage, lengths) if figures else None
            for config, writer in writers.items():
                stats[config].files = writer.close()
        card_figures = drawn.result() if drawn else {}
        summaries = [stats[c].summary() for c in sorted(stats)]
        manifests = [run.require_manifest(s) for s in released_stages(run, stage)]
        write_assets(staging, manifests, summaries, stage=stage, dataset_license=dataset_license)
        card = render_card(
            summaries, manifests, pretty_name=pretty_name, dataset_license=dataset_license, stage=stage,
            figures=card_figures,
        )
        (staging / "README.md").write_text(card, encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        rmtree(pieces_dir)
        raise
    return ReleaseSummary(out_dir=out_dir, stage=stage, configs=summaries, removed_leftovers=removed)
