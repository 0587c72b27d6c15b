"""From exported annotations to decisions on records: parse, resolve conflicts, apply.

`human_verified=True` is set ONLY here and ONLY for a record a person accepted, with
`provenance.extra["verified_by"] = "annotation"` (the release validation checks that marker).
Records nobody decided on pass through unchanged with a `review_status` note, or are dropped,
per the caller's choice — they are never marked verified by us. The rule of
schemas/verification.py holds here: a record a person here rejected, or that is held because
people here disagree, loses an upstream `human_verified=true` (kept as `upstream_verified` in
provenance for the record's history); an upstream-verified record nobody here reviewed keeps it,
with `verified_by=upstream`, and the card counts it apart.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from schemas import CuratedRecord, TaskType

Policy = Literal["majority", "reviewer-wins", "hold"]
POLICIES: tuple[str, ...] = ("majority", "reviewer-wins", "hold")
UNREVIEWED: tuple[str, ...] = ("pass", "drop")


@dataclass(frozen=True)
class Verdict:
    """One annotator's decision on one record."""

    record_id: str
    annotator: str
    verdict: str  # accept | accept_with_edits | reject
    reasons: tuple[str, ...] = ()
    note: str = ""
    instruction: str | None = None
    output: str | None = None
    task_type: tuple[str, ...] = ()
    domain: tuple[str, ...] = ()
    quality: int | None = None
    reviewer: bool = False
    annotation_id: int = 0
    created_at: str = ""
    lead_time: float | None = None

    @property
    def accepts(self) -> bool:
        return self.verdict in ("accept", "accept_with_edits")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _first_text(value: dict[str, Any]) -> str:
    text = value.get("text") or []
    return str(text[0]) if isinstance(text, list) and text else str(text or "")


def parse_annotation(record_id: str, annotation: dict[str, Any], annotator: str, *,
                     reviewer: bool = False) -> Verdict | None:
    """A Verdict from one exported annotation; None when skipped/cancelled or no verdict given."""
    if annotation.get("was_cancelled"):
        return None
    fields: dict[str, Any] = {}
    for item in annotation.get("result") or []:
        name, value = item.get("from_name"), item.get("value") or {}
        if name in ("verdict", "reject_reason", "task_type", "domain"):
            fields[name] = tuple(value.get("choices") or ())
        elif name == "reject_note":
            fields[name] = _first_text(value)
        elif name in ("instruction_edit", "output_edit"):  # Enter in the edit box leaves a trailing newline
            fields[name] = _first_text(value).rstrip()
        elif name == "quality":
            fields["quality"] = value.get("rating")
    verdict = (fields.get("verdict") or (None,))[0]
    if verdict is None:
        return None
    return Verdict(
        record_id=record_id, annotator=annotator, verdict=verdict,
        reasons=fields.get("reject_reason", ()), note=fields.get("reject_note", ""),
        instruction=fields.get("instruction_edit"), output=fields.get("output_edit"),
        task_type=fields.get("task_type", ()), domain=fields.get("domain", ()),
        quality=fields.get("quality"), reviewer=reviewer, annotation_id=int(annotation.get("id") or 0),
        created_at=str(annotation.get("created_at") or ""), lead_time=annotation.get("lead_time"),
    )


def verdicts_from_export(tasks: list[dict[str, Any]], users: dict[int, str], *,
                         reviewer: bool = False) -> dict[str, list[Verdict]]:
    """record id → verdicts, from a snapshot export (several tasks per id are merged)."""
    out: dict[str, list[Verdict]] = {}
    for task in tasks:
        record_id = (task.get("data") or {}).get("record_id") or (task.get("meta") or {}).get("cqia_id")
        if not record_id:
            continue
        for annotation in task.get("annotations") or []:
            who = annotation.get("completed_by")
            if isinstance(who, dict):
                who = who.get("email") or who.get("id")
            annotator = users.get(who, str(who)) if isinstance(who, int) else str(who)
            verdict = parse_annotation(record_id, annotation, annotator, reviewer=reviewer)
            if verdict is not None:
                out.setdefault(record_id, []).append(verdict)
    return out


@dataclass
class Resolution:
    """The outcome for one record: accept, reject, held (unresolved conflict) or none."""

    decision: Literal["accept", "reject", "held", "none"]
    winner: Verdict | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    conflict: bool = False
    rule: str = ""


def resolve(verdicts: list[Verdict], policy: Policy) -> Resolution:
    """Apply the conflict policy. One annotator's latest verdict counts once."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    if not verdicts:
        return Resolution("none")
    latest: dict[tuple[str, bool], Verdict] = {}
    for v in sorted(verdicts, key=lambda v: (v.created_at, v.annotation_id)):
        latest[(v.annotator, v.reviewer)] = v
    vs = list(latest.values())
    accepts = [v for v in vs if v.accepts]
    rejects = [v for v in vs if not v.accepts]
    conflict = bool(accepts) and bool(rejects)
    if not conflict:
        side = accepts or rejects
        return Resolution("accept" if accepts else "reject", _pick(side), vs, False, "unanimous")
    reviewers = [v for v in vs if v.reviewer]
    if policy == "reviewer-wins" and reviewers:
        last = max(reviewers, key=lambda v: (v.created_at, v.annotation_id))
        side = [v for v in reviewers if v.accepts == last.accepts]
        return Resolution("accept" if last.accepts else "reject", _pick(side, last), vs, True, "reviewer")
    if policy == "hold":
        return Resolution("held", None, vs, True, "hold")
    if len(accepts) == len(rejects):
        return Resolution("held", None, vs, True, "tie")
    side = accepts if len(accepts) > len(rejects) else rejects
    return Resolution("accept" if side is accepts else "reject", _pick(side), vs, True, "majority")


def _pick(side: list[Verdict], prefer: Verdict | None = None) -> Verdict:
    """The verdict whose edits/reasons are applied: preferred, else the latest with edits."""
    if prefer is not None:
        return prefer
    ordered = sorted(side, key=lambda v: (v.created_at, v.annotation_id))
    edited = [v for v in ordered if v.verdict == "accept_with_edits"]
    return (edited or ordered)[-1]


def edit_size(before: str, after: str) -> int:
    """Characters inserted, deleted or replaced (max of both sides per changed block)."""
    if before == after:
        return 0
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal")


@dataclass
class Decision:
    """What the verified stage does with a record: keep (maybe verified) or drop with a reason."""

    kind: Literal["keep", "drop"]
    record: CuratedRecord
    reason: str = ""
    detail: str = ""
    status: str = ""  # verified | rejected | held | pending | not_pushed


def _detail(verdict: Verdict, record: CuratedRecord) -> dict[str, Any]:
    """One verdict as the review pass shows it: who, what, why, and the text they proposed."""
    out: dict[str, Any] = {"annotator": verdict.annotator, "reviewer": verdict.reviewer, "verdict": verdict.verdict}
    if verdict.reasons:
        out["reasons"] = list(verdict.reasons)
    if verdict.note:
        out["note"] = verdict.note
    if verdict.accepts:
        for name in ("instruction", "output"):
            after = getattr(verdict, name)
            if after is not None and after.strip() and after != getattr(record.record, name):
                out[f"{name}_edit"] = after
    return out


def _revoke_upstream(new: CuratedRecord) -> None:
    """A person here rejected or disputed the record: the upstream flag no longer stands."""
    extra = new.provenance.extra
    if new.record.human_verified and extra.get("verified_by") == "upstream":
        new.record.human_verified = False
        extra.pop("verified_by")
        extra["upstream_verified"] = True


def apply_resolution(record: CuratedRecord, resolution: Resolution, *, pushed: bool = True,
                     unreviewed: str = "pass", project: str = "") -> Decision:
    """Turn a resolution into a new record (never mutates the input)."""
    new = record.model_copy(deep=True)
    extra = new.provenance.extra
    annotators = sorted({v.annotator for v in resolution.verdicts})
    summary = {"project": project, "annotators": annotators, "policy_rule": resolution.rule,
               "conflict": resolution.conflict,
               "verdicts": {v.annotator + (" (reviewer)" if v.reviewer else ""): v.verdict for v in resolution.verdicts},
               "details": [_detail(v, record) for v in sorted(resolution.verdicts,
                                                              key=lambda v: (v.created_at, v.annotation_id))]}
    if resolution.decision == "accept":
        winner = resolution.winner
        assert winner is not None
        rec = new.record
        edits: dict[str, Any] = {}
        for name in ("instruction", "output"):
            after = getattr(winner, name)
            before = getattr(rec, name)
            if after is not None and after.strip() and after != before:
                edits[name] = {"before": before, "chars_changed": edit_size(before, after)}
                setattr(rec, name, after)
        if winner.task_type and set(winner.task_type) != set(rec.task_type.major):
            rec.task_type = TaskType(major=list(winner.task_type), minor=rec.task_type.minor)
            edits["task_type_major"] = {"before": list(record.record.task_type.major)}
        if winner.domain and set(winner.domain) != set(rec.domain):
            edits["domain"] = {"before": list(rec.domain)}
            rec.domain = list(winner.domain)
        if rec.human_verified and extra.get("verified_by") == "upstream":
            extra["upstream_verified"] = True
        rec.human_verified = True
        extra["verified_by"] = "annotation"
        extra["annotation"] = {**summary, "edited": bool(edits), "edits": edits,
                               "edit_size": sum(e.get("chars_changed", 0) for e in edits.values())}
        extra.pop("review_status", None)
        qualities = [v.quality for v in resolution.verdicts if v.accepts and v.quality]
        if qualities:
            new.stats["human_quality"] = round(sum(qualities) / len(qualities), 3)
        new = CuratedRecord.model_validate(new.model_dump())  # edits must still be a valid record
        return Decision("keep", new, status="verified")
    if resolution.decision == "reject":
        winner = resolution.winner
        assert winner is not None
        reasons = list(winner.reasons) or sorted(
            Counter(r for v in resolution.verdicts if not v.accepts for r in v.reasons))
        _revoke_upstream(new)
        extra["annotation"] = {**summary, "reject_reasons": reasons, "note": winner.note}
        detail = f"reasons={','.join(reasons) or 'unspecified'}; by={winner.annotator}"
        if winner.note:
            detail += f"; note={winner.note}"
        return Decision("drop", new, reason=f"rejected_{reasons[0]}" if reasons else "rejected", detail=detail,
                        status="rejected")
    status = "held" if resolution.decision == "held" else ("pending" if pushed else "not_pushed")
    if status == "held":
        _revoke_upstream(new)
    note = {"held": "conflicting verdicts held for review",
            "pending": "pending review: pushed for annotation, no verdict yet",
            "not_pushed": "pending review: not selected for annotation"}[status]
    extra["review_status"] = status
    extra["review_note"] = note
    if resolution.verdicts:
        extra["annotation"] = summary
    if unreviewed == "drop":
        reason = "annotation_conflict" if status == "held" else "not_reviewed"
        return Decision("drop", new, reason=reason, detail=note, status=status)
    return Decision("keep", new, status=status)
