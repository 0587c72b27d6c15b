"""Collect a run's report summary in one streaming pass (JSON-able, bounded memory).

Reads the manifests (the funnel: records in/kept/dropped per reason for every stage and source),
then streams the described stage's records (distributions per source and overall), every stage's
rejects (samples per reason, what the filter cut, decontamination hits, PII found in records
dropped later), `dedup/clusters.jsonl` (cluster sizes and example clusters) and the `verified`
stage (annotation progress, verdicts, agreement units, edit sizes). Nothing is loaded whole: the
rows pass through counters and fixed-size samples.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import code_version
from curation.report.stats import FIELDS, Profile, Reservoir, Values, count_words
from curation.stages.metrics import cjk_ratio

TEXT_CHARS = 600  # characters of each field shown in samples
DEDUP_STAGE, VERIFIED_STAGE, FILTER_STAGE = "dedup", "verified", "filter"
CONTAMINATION = "benchmark_contamination"

# Agreement over verdict labels: units (label lists of records with 2+ annotators) -> figures.
AgreementFn = Callable[[list[list[str]]], dict[str, Any]]


def _clip(text: str | None, n: int = TEXT_CHARS) -> str:
    text = text or ""
    return text if len(text) <= n else text[:n] + f"… [+{len(text) - n} chars]"


def _sample_record(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    rec = row.get("record") or {}
    prov = row.get("provenance") or {}
    return {
        "id": row.get("id"), "source": row.get("source"), "location": prov.get("location"),
        **{f: _clip(rec.get(f)) for f in FIELDS}, **extra,
    }


def funnel(run: RunDir, stages: list[str]) -> dict[str, Any]:
    """Records through each stage, overall and per source; ingest-* stages are one step."""

    def step(name: str, manifests: list[dict[str, Any]], source: str | None) -> dict[str, Any]:
        out = {"stage": name, "in": 0, "kept": 0, "dropped": Counter(), "invalid": Counter()}
        for m in manifests:
            c = m["counts"] if source is None else m["counts"]["by_source"].get(source)
            if c is None:
                continue
            out["in"] += c["in"]
            out["kept"] += c["kept"]
            out["dropped"].update(c["dropped"])
            out["invalid"].update(c["invalid"])
        out["dropped"], out["invalid"] = dict(out["dropped"].most_common()), dict(out["invalid"].most_common())
        return out

    groups: list[tuple[str, list[dict[str, Any]]]] = []
    ingest = [run.require_manifest(s) for s in stages if s.startswith("ingest")]
    if ingest:
        groups.append(("ingest", ingest))
    groups += [(s, [run.require_manifest(s)]) for s in stages if not s.startswith("ingest")]
    sources = sorted({src for _, ms in groups for m in ms for src in m["counts"]["by_source"]})
    return {
        "overall": [step(name, ms, None) for name, ms in groups],
        "by_source": {src: [step(name, ms, src) for name, ms in groups] for src in sources},
    }


class _Clusters:
    """dedup/clusters.jsonl: size distribution, reasons, and a few example clusters."""

    def __init__(self, examples: int) -> None:
        self.sizes: Counter[int] = Counter()
        self.reasons: Counter[str] = Counter()
        self.cross_source = 0
        self.script_folded = 0
        self.clusters = 0
        self._largest: list[tuple[int, int, dict[str, Any]]] = []
        self._folded: list[dict[str, Any]] = []
        self._near: list[dict[str, Any]] = []
        self.examples = examples

    def read(self, path: Path) -> None:
        with path.open("rb") as handle:
            for n, line in enumerate(handle):
                c = orjson.loads(line)
                self.clusters += 1
                self.sizes[int(c["size"])] += 1
                members = [c["kept"], *c["removed"]]
                self.reasons.update(m["reason"] for m in c["removed"])
                self.cross_source += len({m["source"] for m in members}) > 1
                folded = any(m.get("script_folded") for m in c["removed"])
                self.script_folded += sum(bool(m.get("script_folded")) for m in c["removed"])
                heapq.heappush(self._largest, (int(c["size"]), -n, c))
                if len(self._largest) > self.examples:
                    heapq.heappop(self._largest)
                if folded and len(self._folded) < self.examples:
                    self._folded.append(c)
                elif any(m["reason"] == "near_duplicate" for m in c["removed"]) and len(self._near) < self.examples:
                    self._near.append(c)

    def example_clusters(self) -> list[dict[str, Any]]:
        seen, out = set(), []
        largest = [c for _, _, c in sorted(self._largest, reverse=True)]
        for why, group in (("script_folded", self._folded), ("near_duplicate", self._near), ("largest", largest)):
            for c in group:
                if c["cluster"] not in seen:
                    seen.add(c["cluster"])
                    out.append({**c, "why_shown": why})
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "clusters": self.clusters,
            "size_hist": {str(k): v for k, v in sorted(self.sizes.items())},
            "removed_by_reason": dict(self.reasons.most_common()),
            "cross_source_clusters": self.cross_source,
            "script_folded_removals": self.script_folded,
        }


class _Annotation:
    """The verified stage: review status, verdicts, agreement units and edit sizes."""

    def __init__(self) -> None:
        self.status: Counter[str] = Counter()
        self.status_by_source: dict[str, Counter[str]] = defaultdict(Counter)
        self.verdicts: Counter[str] = Counter()
        self.units: Counter[tuple[str, ...]] = Counter()
        self.edit_size = Values("edit_size")
        self.edited = 0
        self.reject_reasons: Counter[str] = Counter()
        self.annotators: set[str] = set()

    def add(self, row: dict[str, Any], rejected: bool) -> None:
        extra = (row.get("provenance") or {}).get("extra") or {}
        ann = extra.get("annotation") or {}
        if rejected:
            status = "rejected"
        elif extra.get("verified_by") == "annotation":
            status = "verified"
        else:
            status = str(extra.get("review_status") or "not_reviewed")
        self.status[status] += 1
        self.status_by_source[str(row.get("source"))][status] += 1
        labels = []
        for who, verdict in (ann.get("verdicts") or {}).items():
            self.verdicts[verdict] += 1
            if not who.endswith("(reviewer)"):
                labels.append(verdict)
                self.annotators.add(who)
        if len(labels) >= 2:
            self.units[tuple(sorted(labels))] += 1
        if ann.get("edited"):
            self.edited += 1
            self.edit_size.add(ann.get("edit_size"))
        self.reject_reasons.update(ann.get("reject_reasons") or [])

    def summary(self, agreement: AgreementFn | None) -> dict[str, Any]:
        units = [list(k) for k, n in self.units.items() for _ in range(n)]
        total = sum(self.status.values())
        return {
            "records": total,
            "status": dict(self.status.most_common()),
            "status_by_source": {s: dict(c.most_common()) for s, c in sorted(self.status_by_source.items())},
            "reviewed_share": round((self.status["verified"] + self.status["rejected"]) / total, 4) if total else 0.0,
            "verdicts": dict(self.verdicts.most_common()),
            "annotators": len(self.annotators),
            "overlapping_records": len(units),
            "agreement": agreement(units) if agreement and units else None,
            "edited": self.edited,
            "edit_size": self.edit_size.summary(),
            "reject_reasons": dict(self.reject_reasons.most_common()),
        }


class _Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done = total, enabled, 0
        self._bar: Any = None

    @contextmanager
    def running(self) -> Iterator[Callable[[int], None]]:
        if not self.enabled:
            yield lambda n: None
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("[bold]report"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       console=Console(stderr=True))
        task = bar.add_task("report", total=self.total)
        pending = 0

        def advance(n: int) -> None:
            nonlocal pending
            pending += n
            if pending >= 5000:
                bar.advance(task, pending)
                pending = 0

        with bar:
            yield advance
            bar.advance(task, pending)


def _shard_rows(run: RunDir, stage: str, kind: str) -> int:
    return sum(int(s.get("records", 0)) for s in run.require_manifest(stage)["shards"] if s["kind"] == kind)


def collect_run(
    run_dir: Path,
    *,
    stage: str | None = None,
    samples: int = 3,
    kept_samples: int = 2,
    example_clusters: int = 4,
    segmenter: str | None = "rjieba",
    agreement: AgreementFn | None = None,
    progress: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """The report summary of a run: funnel, distributions, dedup, decontamination, annotation, samples
    (`kept_samples` per source, `samples` per stage and reject reason)."""
    run = RunDir(run_dir)
    stages = run.completed_stages()
    described = stage or run.latest_stage()
    run.require_manifest(described)
    cut = None
    if segmenter:
        from curation.text.segment import get_segmenter

        cut = get_segmenter(segmenter).cut

    clusters = None
    if DEDUP_STAGE in stages and (run.stage_dir(DEDUP_STAGE) / "clusters.jsonl").exists():
        clusters = _Clusters(example_clusters)
        clusters.read(run.stage_dir(DEDUP_STAGE) / "clusters.jsonl")
    examples = clusters.example_clusters() if clusters else []
    wanted_kept = {c["kept"]["id"] for c in examples}
    wanted_removed = {m["id"] for c in examples for m in c["removed"]}
    texts: dict[tuple[str, str], dict[str, Any]] = {}

    overall, by_source = Profile(), defaultdict(Profile)
    filter_dropped = Profile()
    pii_all: Counter[str] = Counter()
    pii_records_all: Counter[str] = Counter()
    kept_sample: dict[str, Reservoir] = defaultdict(lambda: Reservoir(kept_samples, seed))
    reject_samples: dict[tuple[str, str], Reservoir] = {}
    decontam: Counter[str] = Counter()
    decontam_examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    order = {s: i for i, s in enumerate(stages)}
    annotation = _Annotation() if VERIFIED_STAGE in stages else None
    annotation_from_described = annotation is not None and order.get(described, -1) >= order[VERIFIED_STAGE]

    def measure(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, int], float]:
        rec, stats = row.get("record") or {}, row.get("stats") or {}
        words = {f: count_words(cut, rec.get(f) or "") if cut else 0 for f in FIELDS}
        cjk = stats.get("cjk_ratio")
        if not isinstance(cjk, int | float):
            cjk = cjk_ratio((rec.get("instruction") or "") + (rec.get("output") or ""))
        return rec, stats, words, float(cjk)

    def count_pii(stats: dict[str, Any]) -> None:
        for kind, n in (stats.get("pii") or {}).items():
            if n:
                pii_all[kind] += int(n)
                pii_records_all[kind] += 1

    def contamination(row: dict[str, Any], detail: str | None, dropped: bool) -> None:
        hit = (row.get("stats") or {}).get("contamination") or {}
        ref = hit.get("question") or (detail or "").split(" ")[0]
        bench = ref.split("#")[0] or "unknown"
        decontam[bench] += 1
        if len(decontam_examples[bench]) < samples:
            decontam_examples[bench].append(_sample_record(row, question=ref, overlap=hit.get("overlap"),
                                                           dropped=dropped))

    total = run.count(described) + sum(_shard_rows(run, s, "rejects") for s in stages)
    if annotation is not None and not annotation_from_described:
        total += run.count(VERIFIED_STAGE)
    started = time.time()
    with _Progress(total, progress).running() as advance:
        for _, row in run.iter_rows(described):
            rec, stats, words, cjk = measure(row)
            overall.add(rec, stats, words, cjk)
            by_source[str(row.get("source"))].add(rec, stats, words, cjk)
            count_pii(stats)
            if stats.get("contamination"):
                contamination(row, None, dropped=False)
            kept_sample[str(row.get("source"))].offer(lambda row=row: _sample_record(row))
            if row.get("id") in wanted_kept:
                texts.setdefault((row["id"], "kept"), _sample_record(row))
            if annotation_from_described and annotation is not None:
                annotation.add(row, rejected=False)
            advance(1)
        if annotation is not None and not annotation_from_described:
            for _, row in run.iter_rows(VERIFIED_STAGE):
                annotation.add(row, rejected=False)
                advance(1)
        for s in stages:
            for _, rej in run.iter_rows(s, "rejects"):
                advance(1)
                reason = str(rej.get("reason"))
                row = rej.get("record") or {}
                key = (s, reason)
                if key not in reject_samples:
                    reject_samples[key] = Reservoir(samples, seed)
                if rej.get("kind") == "invalid":
                    reject_samples[key].offer(lambda rej=rej, s=s, reason=reason: {
                        "stage": s, "reason": reason, "detail": _clip(rej.get("detail"), 300),
                        "location": rej.get("location"), "source": rej.get("source"),
                        "raw": _clip(str(rej.get("raw") or ""), 800)})
                    continue
                reject_samples[key].offer(lambda rej=rej, row=row, s=s, reason=reason: {
                    "stage": s, "reason": reason, "detail": _clip(rej.get("detail"), 300),
                    **_sample_record(row)})
                stats = row.get("stats") or {}
                count_pii(stats)
                if s == FILTER_STAGE:
                    filter_dropped.add(*measure(row))
                if reason == CONTAMINATION:
                    contamination(row, rej.get("detail"), dropped=True)
                if s == DEDUP_STAGE and row.get("id") in wanted_removed:
                    texts.setdefault((row["id"], "removed"), _sample_record(row, detail=rej.get("detail")))
                if s == VERIFIED_STAGE and annotation is not None:
                    annotation.add(row, rejected=True)

    for c in examples:
        c["kept"]["text"] = texts.get((c["kept"]["id"], "kept"))
        for m in c["removed"]:
            m["text"] = texts.get((m["id"], "removed"))

    rejected: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (s, reason), res in sorted(reject_samples.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])):
        rejected[f"{s}: {reason}"] = res.items
    return {
        "run": str(Path(run_dir).resolve()),
        "described_stage": described,
        "stages": stages,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "code_version": code_version(),
        "seconds": round(time.time() - started, 2),
        "funnel": funnel(run, stages),
        "records": {"overall": overall.summary(),
                    "by_source": {s: p.summary() for s, p in sorted(by_source.items())}},
        "filter_dropped": filter_dropped.summary() if filter_dropped.rows else None,
        "pii_found": {"occurrences": dict(pii_all.most_common()), "records": dict(pii_records_all.most_common())},
        "dedup": {**clusters.summary(), "examples": examples} if clusters else None,
        "decontamination": {"hits_by_benchmark": dict(decontam.most_common()),
                            "examples": dict(decontam_examples)} if decontam else None,
        "annotation": annotation.summary(agreement) if annotation else None,
        "samples": {"kept": [x for src in sorted(kept_sample) for x in kept_sample[src].items],
                    "rejected": dict(rejected)},
    }
