"""Audit an existing dataset in flag-only mode: every check runs, nothing is dropped or changed.

The items (already read by the CLI from JSONL/JSON/Parquet, local or from a Hub repo) go into a
work run directory as stage `ingest-audit`, with the fields as found. Stage `audit` then records,
per record, what each check would do, as defects in `stats.defects`:

- `schema.<field>`: the record breaks the COIG-CQIA schema (wrong answer_from, control characters,
  empty labels, unknown fields); `parse.<reason>` when an item cannot be read at all;
- `clean.<kind>`: the cleaner, run one step at a time, would change a field (control characters,
  zero-width, mojibake, full-width letters, whitespace, spaces between CJK characters, HTML,
  dangling option letters, boilerplate, repeated sentences) or flags it (truncated output);
- `pii.<type>`: personal information found; `filter.<reason>`: the default recipe's filter
  (with the config's overrides) would drop it; `decontam.<test set>`: it overlaps a benchmark
  question (with `against` test sets);
- `dedup.exact_duplicate` / `dedup.near_duplicate`: the dedup stage (run on the audit stage, in
  the work directory only) would remove it; its cluster is in `dedup/clusters.jsonl`.

Metrics land in `stats` as in a curation run, so the curation report describes the dataset; the
defects table adds defects per 10k records per kind and config, with record ids and examples.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from curation.pipeline.atomic import atomic_writer
from curation.pipeline.recipe import CleanConfig, Recipe
from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import KeptRaw, Outcome, Stage, iter_shard_lines, run_stage, stage_input
from curation.stages.clean import Cleaner
from curation.stages.dedup import DedupConfig, dedup_stage
from curation.stages.filters import failed_checks
from curation.stages.metrics import Metrics
from curation.stages.pii import find_pii
from schemas import COIG_CQIA_FIELDS, RAW_TEXT, InstructionRecord, InvalidItem, make_record_id, truncate_raw

INPUT_STAGE, AUDIT_STAGE, DEDUP_STAGE = "ingest-audit", "audit", "dedup"
# defect kind -> the CleanConfig step that finds it (each run alone, on the raw text)
CLEAN_KINDS: dict[str, str] = {
    "control_chars": "control_chars", "zero_width": "zero_width", "mojibake": "mojibake",
    "fullwidth_ascii": "fullwidth_ascii", "whitespace": "whitespace", "cjk_spaces": "cjk_spaces",
    "html": "html", "dangling_option": "dangling_options", "boilerplate": "boilerplate",
    "dup_sentences": "dedup_sentences", "truncated": "flag_truncated",
}
TEXT_FIELDS = ("instruction", "input", "output")
SNIPPET = 60
# Rows per shard of the audit stages: the dedup scan holds one shard's texts and MinHash arrays at
# a time, and COIG-CQIA answers are long (~1.7k characters), so smaller shards bound its memory.
AUDIT_SHARD_ROWS = 5_000


@dataclass(frozen=True)
class AuditItem:
    """One input item as the CLI read it: fields as found (COIG-CQIA) or mapped (Alpaca, ShareGPT)."""

    location: str
    config: str
    format: str
    fields: dict[str, Any] | None
    extra: dict[str, Any] = field(default_factory=dict)
    error: tuple[str, str] | None = None  # (reason, detail) when the item could not be read
    raw: str | None = None


# ---- helpers -----------------------------------------------------------------------------------
def visible(text: str) -> str:
    """Control, format and odd space characters made visible (`\\u000c`), newlines as ⏎."""
    out = []
    for ch in text:
        if ch == "\n":
            out.append("⏎")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or (ch.isspace() and ch != " "):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def diff_snippet(before: str, after: str, width: int = SNIPPET) -> str:
    """`…before… → …after…` around the first difference, invisible characters shown."""
    i = next((k for k, (a, b) in enumerate(zip(before, after, strict=False)) if a != b), min(len(before), len(after)))
    j_b, j_a = len(before), len(after)
    while j_b > i and j_a > i and before[j_b - 1] == after[j_a - 1]:  # common tail
        j_b, j_a = j_b - 1, j_a - 1
    start = max(0, i - width // 3)

    def cut(s: str, end: int) -> str:
        piece = s[start:min(len(s), max(end, i + 1) + width // 3)]
        piece = piece if len(piece) <= width * 2 else piece[: width * 2] + "…"
        return ("…" if start else "") + visible(piece)

    return f"{cut(before, j_b)} → {cut(after, j_a)}"


def mask(value: str) -> str:
    """A PII value with its middle hidden (the report must not republish it)."""
    return value[:3] + "*" * max(3, len(value) - 5) + value[-2:] if len(value) > 6 else "*" * len(value)


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def schema_defects(fields: dict[str, Any], fmt: str) -> list[dict[str, str]]:
    """What the COIG-CQIA record model says about the fields (Alpaca/ShareGPT: text fields only).
    Text is checked as raw text (`RAW_TEXT`): characters the cleaner repairs are `clean.*` defects."""
    out = []
    if fmt == "coig-cqia":
        for key in sorted(set(fields) - set(COIG_CQIA_FIELDS)):
            out.append({"kind": "schema.unknown_field", "field": key, "example": f"unexpected field {key!r}"})
        candidate = {k: v for k, v in fields.items() if k in COIG_CQIA_FIELDS}
    else:  # the other formats have no labels: check only what they carry
        candidate = {**{k: fields.get(k, "") for k in TEXT_FIELDS}, "task_type": {"major": ["-"], "minor": ["-"]},
                     "domain": ["-"], "answer_from": "human", "human_verified": False}
    try:
        InstructionRecord.model_validate(candidate, context=RAW_TEXT)
    except ValidationError as exc:
        seen = set()
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            top = str(err["loc"][0]) if err["loc"] else "record"
            if top in seen:
                continue
            seen.add(top)
            value = err.get("input")
            shown = visible(repr(value))[:80] if not isinstance(value, dict) else ""
            out.append({"kind": f"schema.{top}", "field": loc, "example": f"{err['msg']}" + (f": {shown}" if shown else "")})
    return out


def working_row(item: AuditItem) -> dict[str, Any]:
    """The item as a run-directory row: the nine fields as found where they have the right type,
    empty where they do not (the schema defect already names them), so every check can run."""
    f = item.fields or {}

    def text(key: str) -> str:
        value = f.get(key)
        return value if isinstance(value, str) else ""

    task = f.get("task_type") if isinstance(f.get("task_type"), dict) else {}
    record = {
        "instruction": text("instruction"), "input": text("input"), "output": text("output"),
        "task_type": {"major": _strings(task.get("major")), "minor": _strings(task.get("minor"))},
        "domain": _strings(f.get("domain")), "metadata": text("metadata"),
        "answer_from": text("answer_from") or ("(none)" if item.format == "coig-cqia" else f"({item.format})"),
        "human_verified": f.get("human_verified") is True, "copyright": text("copyright"),
    }
    location = item.location
    return {
        "id": make_record_id(item.config, location), "source": item.config, "record": record,
        "provenance": {"location": location, "extra": {"import_format": item.format, **item.extra}},
        "stats": {"defects": schema_defects(f, item.format)}, "drop_reason": None,
    }


# ---- the checks --------------------------------------------------------------------------------
class AuditChecks:
    """Every flag-only check, built once (cleaners per step, metrics models, benchmark index)."""

    def __init__(self, recipe: Recipe, against: list[str] | None = None) -> None:
        off = {flag: False for flag in CleanConfig.model_fields if isinstance(CleanConfig.model_fields[flag].default,
                                                                             bool)}
        self.recipe = recipe
        self.cleaners = {kind: Cleaner(CleanConfig(**{**off, flag: True})) for kind, flag in CLEAN_KINDS.items()}
        self.metrics = Metrics(recipe.metrics)
        self.index = None
        if against:
            from curation.stages.decontam import ContaminationIndex, DecontamConfig, load_questions

            config = DecontamConfig(against=list(against), action="flag")
            self.index = ContaminationIndex(load_questions(config.against), config)

    def clean_defects(self, rec: dict[str, Any]) -> list[dict[str, str]]:
        out = []
        for kind, cleaner in self.cleaners.items():
            before = tuple(rec[f] for f in TEXT_FIELDS)
            *after, report = cleaner.clean(*before)
            if kind == "truncated":
                if report.get("truncated"):
                    tail = visible(rec["output"].rstrip()[-SNIPPET:])
                    out.append({"kind": "clean.truncated", "field": "output",
                                "example": f"{report['truncated']}: …{tail}"})
                continue
            for name, old, new in zip(TEXT_FIELDS, before, after, strict=True):
                if old != new:
                    out.append({"kind": f"clean.{kind}", "field": name, "example": diff_snippet(old, new)})
                    break  # one example per kind and record is enough
        return out

    def check(self, row: dict[str, Any]) -> dict[str, Any]:
        """Defects and metrics for one working row (mutated and returned)."""
        rec, stats = row["record"], row["stats"]
        defects: list[dict[str, str]] = stats["defects"]
        defects += self.clean_defects(rec)
        view = self.recipe.for_source(row["source"])
        pii: Counter[str] = Counter()
        first: dict[str, tuple[str, str]] = {}
        if view.pii.detect:
            for name in TEXT_FIELDS:
                for match in find_pii(rec[name], view.pii.types):
                    pii[match.type] += 1
                    first.setdefault(match.type, (name, match.value))
        for kind, (name, value) in first.items():
            defects.append({"kind": f"pii.{kind}", "field": name, "example": f"{mask(value)} ({pii[kind]} found)"})
        stats.update(self.metrics.compute(rec["instruction"], rec["input"], rec["output"], {}))
        stats["pii"] = dict(pii)
        for reason, detail in failed_checks(stats, view.filter):
            defects.append({"kind": f"filter.{reason}", "field": "", "example": detail})
        if self.index is not None:
            found = self.index.match(f"{rec['instruction']}\n{rec['input']}")
            if found is not None:
                question, overlap = found
                stats["contamination"] = {"question": question.ref, "overlap": round(overlap, 4)}
                bench = question.ref.split("#")[0]
                defects.append({"kind": f"decontam.{bench}", "field": "instruction",
                                "example": f"{question.ref} overlap={overlap:.2f}: {question.text[:SNIPPET]}"})
        return row


# ---- stages ------------------------------------------------------------------------------------
def input_stage(items: Callable[[], Iterable[AuditItem]], inputs: list[dict[str, Any]]) -> Stage:
    def produce(skip: int) -> Iterator[Outcome]:
        for item in islice(items(), skip, None):
            if item.error is not None or item.fields is None:
                reason, detail = item.error or ("unreadable", "no fields")
                yield InvalidItem(location=item.location, reason=reason, detail=detail, source=item.config,
                                  raw=truncate_raw(item.raw or ""))
                continue
            yield KeptRaw(orjson.dumps(working_row(item)), item.config)

    return Stage(name=INPUT_STAGE, produce=produce, inputs=inputs, params={"mode": "flag-only"})


def audit_stage(run: RunDir, checks: AuditChecks, params: dict[str, Any]) -> Stage:
    def produce(skip: int) -> Iterator[Outcome]:
        lines = (line for path in run.shard_paths(INPUT_STAGE) for line in iter_shard_lines(path))
        for line in islice(lines, skip, None):
            row = checks.check(orjson.loads(line))
            yield KeptRaw(orjson.dumps(row), row["source"])

    return Stage(name=AUDIT_STAGE, produce=produce, inputs=[stage_input(run, INPUT_STAGE)], params=params,
                 total=run.count(INPUT_STAGE), shard_size=AUDIT_SHARD_ROWS)


# ---- the defects table -------------------------------------------------------------------------
@dataclass
class DefectTable:
    """Records with each defect kind, per config; per 10k records of the config."""

    records: dict[str, int]  # config -> items (readable or not)
    counts: dict[str, Counter[str]]  # kind -> config -> records with the defect
    examples: dict[str, list[dict[str, str]]]

    def per_10k(self, kind: str, config: str | None = None) -> float:
        if config is None:
            n, total = sum(self.counts[kind].values()), sum(self.records.values())
        else:
            n, total = self.counts[kind].get(config, 0), self.records.get(config, 0)
        return round(n * 10_000 / total, 1) if total else 0.0

    def kinds(self) -> list[str]:
        return sorted(self.counts, key=lambda k: (-sum(self.counts[k].values()), k))

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "kinds": {k: {"records": sum(self.counts[k].values()), "per_10k": self.per_10k(k),
                          "by_config": {c: {"records": n, "per_10k": self.per_10k(k, c)}
                                        for c, n in sorted(self.counts[k].items())},
                          "examples": self.examples[k]} for k in self.kinds()},
        }

    def markdown(self) -> str:
        configs = sorted(self.records)
        head = "| defect | " + " | ".join(configs) + " | all |"
        sep = "|---|" + "---:|" * (len(configs) + 1)
        lines = [head, sep, "| records | " + " | ".join(f"{self.records[c]:,}" for c in configs)
                 + f" | {sum(self.records.values()):,} |"]
        for kind in self.kinds():
            cells = [f"{self.per_10k(kind, c):,.0f}" if self.counts[kind].get(c) else "·" for c in configs]
            lines.append(f"| `{kind}` | " + " | ".join(cells) + f" | {self.per_10k(kind):,.0f} |")
        return "\n".join(lines) + "\n"


def collect_defects(run: RunDir, out_path: Path, examples: int = 3) -> DefectTable:
    """Stream the audit, input-rejects and dedup-rejects rows into defects.jsonl and the table."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    samples: dict[str, list[dict[str, str]]] = defaultdict(list)
    by_source = run.require_manifest(INPUT_STAGE)["counts"]["by_source"]
    records = {c: v["in"] for c, v in by_source.items()}

    def add(handle: Any, row_id: str, location: str, config: str, defect: dict[str, str]) -> None:
        entry = {"id": row_id, "location": location, "config": config, **defect}
        handle.write(orjson.dumps(entry) + b"\n")
        counts[defect["kind"]][config] += 1
        if len(samples[defect["kind"]]) < examples:
            samples[defect["kind"]].append(entry)

    locations: dict[str, str] = {}
    with atomic_writer(out_path) as handle:
        for _, rej in run.iter_rows(INPUT_STAGE, "rejects"):
            add(handle, "", rej["location"], rej.get("source") or "unknown",
                {"kind": f"parse.{rej['reason']}", "field": "", "example": rej.get("detail", "")})
        for _, row in run.iter_rows(AUDIT_STAGE):
            location = row["provenance"]["location"]
            locations[row["id"]] = location
            seen = set()
            for defect in row["stats"].get("defects", []):
                if defect["kind"] not in seen:  # a record counts once per kind
                    seen.add(defect["kind"])
                    add(handle, row["id"], location, row["source"], defect)
        if run.manifest(DEDUP_STAGE) is not None:
            for _, rej in run.iter_rows(DEDUP_STAGE, "rejects"):
                kept_id = rej["detail"].split()[0].removeprefix("kept=")
                example = f"{rej['detail']} (kept at {locations.get(kept_id, '?')})"
                add(handle, rej["id"], rej["location"], rej["source"],
                    {"kind": f"dedup.{rej['reason']}", "field": "", "example": example})
    out_path.chmod(0o644)
    return DefectTable(records, dict(counts), dict(samples))


@dataclass
class AuditResult:
    run: RunDir
    table: DefectTable
    defects_path: Path


def run_audit(items: Callable[[], Iterable[AuditItem]], work_dir: Path, *, recipe: Recipe,
              inputs: list[dict[str, Any]], against: list[str] | None = None, dedup: DedupConfig | None = None,
              progress: bool = True) -> AuditResult:
    """Run the flag-only stages into `work_dir` (a run directory) and write `defects.jsonl` beside it."""
    run = RunDir(work_dir)
    run_stage(run, input_stage(items, inputs), progress=progress)
    checks = AuditChecks(recipe, against)
    params = {"recipe": recipe.fingerprint_params(), "against": [str(a) for a in against or []],
              "clean_kinds": list(CLEAN_KINDS)}
    run_stage(run, audit_stage(run, checks, params), progress=progress)
    if run.count(AUDIT_STAGE):
        run_stage(run, dedup_stage(run, AUDIT_STAGE, dedup or DedupConfig(), name=DEDUP_STAGE), progress=progress)
    defects_path = work_dir.parent / "defects.jsonl"
    table = collect_defects(run, defects_path)
    return AuditResult(run, table, defects_path)
