"""Scoring a PII detector the way the standard judges it: exact (start, end, type) spans per type,
plus the share of lookalike-only lines where anything at all is flagged.

Two input layouts are read:
- the evaluation layout (`tests/fixtures/pii_eval/cases.jsonl`): `{id, text, spans: [{start, end,
  type, value}], lookalike_only}`;
- the older layout (`{text, entities: [{type, value}]}`, the detector author's own set that
  used to live in tests/fixtures/pii/, removed: its labels contradict the standard), converted by
  locating each value in the text; a line without entities counts as lookalike-only.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from curation.stages.pii.detect import PiiMatch, find_pii

# The detector's type names are its placeholder names (`<IP>`); the standard calls that type ipv4.
STANDARD_TYPE = {"ip": "ipv4"}
TYPES = ("id_card", "bank_card", "mobile", "email", "landline", "ipv4", "qq", "wechat")
# (precision, recall) floors per type, and the most lookalike-only lines that may be touched.
TARGETS: dict[str, tuple[float, float]] = {
    **{t: (0.97, 0.99) for t in ("id_card", "bank_card", "mobile", "email")},
    **{t: (0.95, 0.95) for t in ("landline", "ipv4", "qq", "wechat")},
}
LOOKALIKE_MAX = 0.02

Span = tuple[int, int, str]


class CaseError(ValueError):
    """A labelled line that cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    text: str
    spans: tuple[Span, ...]
    lookalike_only: bool


def _standard(kind: str) -> str:
    return STANDARD_TYPE.get(kind, kind)


def _legacy_spans(text: str, entities: Sequence[dict], where: str) -> tuple[Span, ...]:
    """Place each (type, value) entity at its first unused occurrence in the text."""
    used: set[int] = set()
    spans: list[Span] = []
    for ent in entities:
        value, start = ent["value"], text.find(ent["value"])
        while start in used:
            start = text.find(value, start + 1)
        if start < 0:
            raise CaseError(f"{where}: entity value {value!r} is not in the text")
        used.add(start)
        spans.append((start, start + len(value), _standard(ent["type"])))
    return tuple(sorted(spans))


def parse_case(row: dict, where: str) -> Case:
    text = row.get("text")
    if not isinstance(text, str):
        raise CaseError(f"{where}: no 'text' string")
    if "spans" in row:
        spans = []
        for s in row["spans"]:
            if text[s["start"]:s["end"]] != s.get("value", text[s["start"]:s["end"]]):
                raise CaseError(f"{where}: span {s} does not match the text")
            spans.append((s["start"], s["end"], _standard(s["type"])))
        return Case(str(row.get("id", where)), text, tuple(sorted(spans)), bool(row.get("lookalike_only")))
    if "entities" in row:
        spans_ = _legacy_spans(text, row["entities"], where)
        return Case(str(row.get("id", where)), text, spans_, not spans_)
    raise CaseError(f"{where}: neither 'spans' (evaluation layout) nor 'entities' (regression layout)")


def load_cases(path: Path) -> list[Case]:
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CaseError(f"{path}:{n}: not JSON ({exc.msg})") from exc
            cases.append(parse_case(row, f"{path}:{n}"))
    return cases


def predicted_spans(text: str, detector: Callable[[str], list[PiiMatch]] = find_pii) -> tuple[Span, ...]:
    return tuple(sorted((m.start, m.end, _standard(m.type)) for m in detector(text)))


def score(cases: Iterable[Case], detector: Callable[[str], list[PiiMatch]] = find_pii) -> dict:
    """Per-type tp/fp/fn/precision/recall on exact spans, the lookalike false-alarm rate, and the
    per-line errors (for `--show-errors`)."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    lookalike_lines = touched = lines = 0
    errors = []
    for case in cases:
        lines += 1
        gold, pred = set(case.spans), set(predicted_spans(case.text, detector))
        for _, _, kind in gold & pred:
            tp[kind] += 1
        for _, _, kind in pred - gold:
            fp[kind] += 1
        for _, _, kind in gold - pred:
            fn[kind] += 1
        if case.lookalike_only:
            lookalike_lines += 1
            touched += bool(pred)
        if gold != pred:
            errors.append({"id": case.id, "text": case.text,
                           "missed": [_show(case.text, s) for s in sorted(gold - pred)],
                           "spurious": [_show(case.text, s) for s in sorted(pred - gold)]})
    per_type = {}
    for kind in [*TYPES, *sorted((set(tp) | set(fp) | set(fn)) - set(TYPES))]:
        t, p, n = tp[kind], fp[kind], fn[kind]
        per_type[kind] = {"tp": t, "fp": p, "fn": n,
                          "precision": round(t / (t + p), 4) if t + p else 1.0,
                          "recall": round(t / (t + n), 4) if t + n else 1.0}
    all_tp, all_fp, all_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    return {
        "lines": lines,
        "per_type": per_type,
        "micro": {"tp": all_tp, "fp": all_fp, "fn": all_fn,
                  "precision": round(all_tp / (all_tp + all_fp), 4) if all_tp + all_fp else 1.0,
                  "recall": round(all_tp / (all_tp + all_fn), 4) if all_tp + all_fn else 1.0},
        "lookalike_only": {"lines": lookalike_lines, "touched": touched,
                           "rate": round(touched / lookalike_lines, 4) if lookalike_lines else 0.0},
        "errors": errors,
    }


def _show(text: str, span: Span) -> dict:
    start, end, kind = span
    return {"start": start, "end": end, "type": kind, "value": text[start:end]}


def missed_targets(report: dict) -> list[str]:
    """Human-readable list of the targets this report misses (empty: all met)."""
    missed = []
    for kind, (p_min, r_min) in TARGETS.items():
        r = report["per_type"].get(kind)
        if r is None or r["tp"] + r["fn"] == 0:
            continue  # the set has no span of this type: nothing to judge
        if r["precision"] < p_min:
            missed.append(f"{kind} precision {r['precision']:.4f} < {p_min}")
        if r["recall"] < r_min:
            missed.append(f"{kind} recall {r['recall']:.4f} < {r_min}")
    rate = report["lookalike_only"]["rate"]
    if rate > LOOKALIKE_MAX:
        missed.append(f"lookalike-only lines touched {rate:.4f} > {LOOKALIKE_MAX}")
    return missed
