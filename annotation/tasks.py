"""Record ↔ task mapping: what an annotator sees, the pre-annotation, and the change hash.

Every task carries the record id in `data.record_id` and `meta.cqia_id` (the server never
deduplicates, so the id is how push finds what exists) and a content hash, so a re-push can tell
"unchanged" from "changed, update in place".
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import orjson

from annotation.configs import choice_values, has_control, interface
from schemas import CuratedRecord

MODEL_VERSION = "cqia-curation"
LLM_NOTE = "⚠ 本条回答由大模型生成 (answer_from=llm)：请重点核对事实与是否答非所问。"
HUMAN_NOTE = "回答来源：人工 (answer_from=human)"
_EVIDENCE_HINTS = ("llm", "score", "dup", "cluster", "ppl", "perplexity", "len", "ratio")


class PredictionError(ValueError):
    """A pre-annotation does not fit the labeling config: refused before anything is sent."""


def evidence_text(record: CuratedRecord, limit: int = 14) -> str:
    """Key filter evidence in one readable block: scores first, then other scalar stats."""
    scalars = {k: v for k, v in record.stats.items() if isinstance(v, str | int | float | bool) and v is not None}
    ranked = sorted(scalars, key=lambda k: (not any(h in k.lower() for h in _EVIDENCE_HINTS), k))
    parts = []
    for key in ranked[:limit]:
        value = scalars[key]
        parts.append(f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}")
    return "过滤证据 evidence: " + ("; ".join(parts) if parts else "(no stats)")


def task_data(record: CuratedRecord) -> dict[str, Any]:
    rec = record.record
    return {
        "record_id": record.id,
        "source": record.source,
        "instruction": rec.instruction,
        "input": rec.input or "（无）",
        "output": rec.output,
        "answer_from": rec.answer_from,
        "answer_note": LLM_NOTE if rec.answer_from == "llm" else HUMAN_NOTE,
        "source_link": _link(record.provenance.url or ""),
        "evidence": evidence_text(record),
    }


def _link(url: str) -> str:
    if not url:
        return "<span>(no source link)</span>"
    safe = url.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return f'<a href="{safe}" target="_blank" rel="noopener noreferrer">{safe}</a>'


def _quality_from_stats(stats: dict[str, Any]) -> int | None:
    """An LLM quality score mapped to the 1–5 rating: `llm_quality` is curation.stages.quality's 1–10
    score; `llm_score` / `quality_score` are on a 0–1 or 1–5 scale."""
    value = stats.get("llm_quality")
    if isinstance(value, int | float) and math.isfinite(value) and 1 <= value <= 10:
        return round(1 + 4 * (value - 1) / 9)
    for key in ("llm_score", "quality_score"):
        value = stats.get(key)
        if isinstance(value, int | float) and math.isfinite(value):
            if 0 <= value <= 1:
                return max(1, min(5, round(1 + 4 * value)))
            if 1 <= value <= 5:
                return round(value)
    return None


def prediction_for(record: CuratedRecord, config: str) -> dict[str, Any] | None:
    """Pre-annotation from curation: task type/domain labels, quality, editable texts."""
    result: list[dict[str, Any]] = []

    def choices(control: str, to_name: str, values: Iterable[str]) -> None:
        allowed = choice_values(config, control)
        picked = [v for v in values if v in allowed]
        if picked:
            result.append({"from_name": control, "to_name": to_name, "type": "choices",
                           "value": {"choices": picked}})

    choices("task_type", "instruction", record.record.task_type.major)
    choices("domain", "instruction", record.record.domain)
    quality = _quality_from_stats(record.stats)
    if quality is not None and has_control(config, "quality"):
        result.append({"from_name": "quality", "to_name": "output", "type": "rating", "value": {"rating": quality}})
    for control, to_name, text in (("instruction_edit", "instruction", record.record.instruction),
                                   ("output_edit", "output", record.record.output)):
        if has_control(config, control):
            result.append({"from_name": control, "to_name": to_name, "type": "textarea", "value": {"text": [text]}})
    if not result:
        return None
    return {"model_version": MODEL_VERSION, "score": 0.0, "result": result}


def validate_prediction(prediction: dict[str, Any], config: str, record_id: str = "?") -> None:
    errors = interface(config).validate_prediction(prediction, return_errors=True)
    if errors:
        raise PredictionError(f"prediction for record {record_id} does not fit config {config!r}: {errors[0]}")


def content_hash(data: dict[str, Any], prediction: dict[str, Any] | None) -> str:
    payload = orjson.dumps({"data": data, "prediction": prediction}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).hexdigest()[:20]


def build_task(record: CuratedRecord, config: str, prediction: dict[str, Any] | None = None,
               *, validate: bool = True) -> dict[str, Any]:
    """The import payload for one record; the prediction is validated against the config."""
    data = task_data(record)
    if prediction is None:
        prediction = prediction_for(record, config)
    if prediction is not None and validate:
        validate_prediction(prediction, config, record.id)
    digest = content_hash(data, prediction)
    data["cqia_hash"] = digest
    task: dict[str, Any] = {"data": data, "meta": {"cqia_id": record.id, "cqia_hash": digest}}
    if prediction is not None:
        task["predictions"] = [prediction]
    return task


def stratified_sample(records: list[CuratedRecord], n: int, *, stratify: str | None = "source",
                      seed: str = "cqia") -> list[CuratedRecord]:
    """A deterministic sample (same input, same n → same records, so re-push stays idempotent).

    Allocation is proportional per stratum (largest remainder), each stratum getting at least one
    when n allows; inside a stratum records are ranked by a hash of seed + id.
    """
    if n >= len(records):
        return list(records)

    def rank(r: CuratedRecord) -> bytes:
        return hashlib.sha256(f"{seed}\x00{r.id}".encode()).digest()

    if not stratify:
        return sorted(records, key=rank)[:n]
    groups: dict[str, list[CuratedRecord]] = defaultdict(list)
    for record in records:
        groups[str(getattr(record, stratify))].append(record)
    total = len(records)
    quotas = {k: n * len(v) / total for k, v in groups.items()}
    alloc = {k: int(q) for k, q in quotas.items()}
    if n >= len(groups):
        for k in alloc:
            alloc[k] = max(alloc[k], 1)
    while sum(alloc.values()) > n:  # the at-least-one rule overshot: trim the largest
        biggest = max(alloc, key=lambda k: (alloc[k], k))
        alloc[biggest] -= 1
    leftovers = sorted(groups, key=lambda k: (-(quotas[k] - int(quotas[k])), k))
    for k in leftovers:
        if sum(alloc.values()) >= n:
            break
        if alloc[k] < len(groups[k]):
            alloc[k] += 1
    chosen = {r.id for k, rs in groups.items() for r in sorted(rs, key=rank)[: alloc[k]]}
    return [r for r in records if r.id in chosen]
