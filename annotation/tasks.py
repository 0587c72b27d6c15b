"""Record ↔ task mapping: what an annotator sees, the pre-annotation, and the change hash.

Every task carries the record id in `data.record_id` and `meta.cqia_id` (the server never
deduplicates, so the id is how push finds what exists) and a content hash, so a re-push can tell
"unchanged" from "changed, update in place".
"""

from __future__ import annotations

import difflib
import hashlib
import html
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import orjson

from annotation.configs import REJECT_REASON_LABELS, VERDICT_LABELS, choice_values, has_control, interface
from schemas import CuratedRecord
from schemas.verification import verification_state

MODEL_VERSION = "cqia-curation"
LLM_NOTE = "⚠ 本条回答由大模型生成 (answer_from=llm)：请重点核对事实与是否答非所问。"
HUMAN_NOTE = "回答来源：人工 (answer_from=human)"
UPSTREAM_NOTE = "；上游数据集标为人工核验 (upstream human_verified)，本项目尚未复核"
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


def task_data(record: CuratedRecord, config: str = "verification") -> dict[str, Any]:
    """What the annotator sees. Keys are configs.DATA_FIELDS (`src_name`, never `source`)."""
    rec = record.record
    note = LLM_NOTE if rec.answer_from == "llm" else HUMAN_NOTE
    if verification_state(rec.human_verified, record.provenance.extra) == "upstream_verified":
        note += UPSTREAM_NOTE
    data = {
        "record_id": record.id,
        "src_name": record.source,
        "instruction": rec.instruction,
        "input": rec.input or "（无）",
        "output": rec.output,
        "answer_from": rec.answer_from,
        "answer_note": note,
        "source_link": _link(record.provenance.url or ""),
        "evidence": evidence_text(record),
    }
    if config == "review":
        data["first_pass"] = first_pass_html(record)
    return data


_STATE_TEXT = {
    "verified_here": "首轮已接受 accepted in the first pass",
    "held": "有分歧，暂缓 held: first-pass annotators disagree",
    "upstream_verified": "上游数据集已核验，本项目尚未复核 upstream-verified, not reviewed here",
    "pending": "首轮尚无结论 no first-pass verdict yet",
    "unverified": "未经本项目审核 not reviewed here",
}
_FIELD_TEXT = {"instruction": "指令 instruction", "output": "回答 output"}


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _diff_html(before: str, after: str) -> str:
    """Before/after with the changed characters marked (deleted red, inserted green)."""
    old, new = [], []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            old.append(_esc(before[i1:i2]))
            new.append(_esc(after[j1:j2]))
            continue
        if i2 > i1:
            old.append(f'<del style="background:#fecaca">{_esc(before[i1:i2])}</del>')
        if j2 > j1:
            new.append(f'<ins style="background:#bbf7d0">{_esc(after[j1:j2])}</ins>')
    block = '<div style="white-space:pre-wrap;margin:2px 0 6px 12px">'
    return (f"{block}<b>修改前 before:</b> {''.join(old)}</div>"
            f"{block}<b>修改后 after:</b> {''.join(new)}</div>")


def first_pass_html(record: CuratedRecord) -> str:
    """The first pass as the reviewer must see it: status, who said what and why, and the edits."""
    extra = record.provenance.extra
    summary = extra.get("annotation") or {}
    state = verification_state(record.record.human_verified, extra)
    parts = [f"<p><b>状态 Status:</b> {_esc(_STATE_TEXT[state])}"]
    if summary.get("conflict"):
        parts.append(f" · 分歧裁决 conflict resolved by: {_esc(summary.get('policy_rule') or '-')}")
    parts.append("</p>")
    details = summary.get("details") or [{"annotator": who, "verdict": verdict}
                                         for who, verdict in (summary.get("verdicts") or {}).items()]
    if details:
        cell = 'style="text-align:left;padding:1px 14px 1px 0"'
        parts.append(f'<table style="border-collapse:collapse"><tr><th {cell}>标注员 annotator</th>'
                     f'<th {cell}>结论 verdict</th><th {cell}>原因 reasons</th><th {cell}>备注 note</th></tr>')
        for d in details:
            who = d["annotator"] + (" (复核 reviewer)" if d.get("reviewer") else "")
            verdict = VERDICT_LABELS.get(d["verdict"], d["verdict"])
            reasons = "、".join(REJECT_REASON_LABELS.get(r, r) for r in d.get("reasons") or []) or "-"
            row = "".join(f"<td {cell}>{_esc(value)}</td>" for value in (who, verdict, reasons, d.get("note") or "-"))
            parts.append(f"<tr>{row}</tr>")
        parts.append("</table>")
    else:
        parts.append("<p>首轮无人标注 nobody annotated this record in the first pass</p>")
    edits = summary.get("edits") or {}
    for name in ("instruction", "output"):  # applied by the first pass: the text above is the "after"
        if name in edits:
            parts.append(f"<p><b>首轮已采用的修改 applied edit of {_FIELD_TEXT[name]}</b> "
                         f"({edits[name].get('chars_changed', '?')} 字 chars)</p>")
            parts.append(_diff_html(edits[name]["before"], getattr(record.record, name)))
    for d in details:  # proposed but not applied (held, or a losing side)
        for name in ("instruction", "output"):
            proposed = d.get(f"{name}_edit")
            if proposed and name not in edits:
                parts.append(f"<p><b>{_esc(d['annotator'])} 提议的修改 proposed edit of {_FIELD_TEXT[name]}"
                             "</b> (未采用 not applied)</p>")
                parts.append(_diff_html(getattr(record.record, name), proposed))
    return "".join(parts)


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
    data = task_data(record, config)
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
