"""Agreement (Cohen's kappa, Krippendorff's alpha) and progress figures for `annotate status`.

Both statistics are on the nominal verdict label (accept / accept_with_edits / reject) of tasks
that at least two annotators labelled; written out here (20 lines) rather than pulling a
statistics package into the dependency set.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from annotation.verdicts import Verdict


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Cohen's kappa for two raters; pairs = (rater A label, rater B label) per item."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    count_a = Counter(a for a, _ in pairs)
    count_b = Counter(b for _, b in pairs)
    expected = sum(count_a[k] * count_b[k] for k in set(count_a) | set(count_b)) / (n * n)
    if expected == 1.0:
        return 1.0 if observed == 1.0 else None
    return (observed - expected) / (1 - expected)


def krippendorff_alpha_nominal(units: list[list[str]]) -> float | None:
    """Krippendorff's alpha, nominal metric, any number of raters, missing values allowed."""
    coincidence: dict[tuple[str, str], float] = defaultdict(float)
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for i, a in enumerate(values):
            for j, b in enumerate(values):
                if i != j:
                    coincidence[(a, b)] += 1 / (m - 1)
    n_c: dict[str, float] = defaultdict(float)
    for (a, _), weight in coincidence.items():
        n_c[a] += weight
    n = sum(n_c.values())
    if n <= 1:
        return None
    disagree_observed = sum(w for (a, b), w in coincidence.items() if a != b)
    disagree_expected = sum(n_c[a] * n_c[b] for a in n_c for b in n_c if a != b) / (n - 1)
    if disagree_expected == 0:
        return 1.0 if disagree_observed == 0 else None
    return 1 - disagree_observed / disagree_expected


def agreement(verdicts: dict[str, list[Verdict]]) -> dict[str, Any]:
    """Kappa when exactly two annotators overlap, alpha always (the figure for 3+)."""
    units: list[list[str]] = []
    by_item: dict[str, dict[str, str]] = {}
    for record_id, vs in verdicts.items():
        latest = {v.annotator: v.verdict for v in sorted(vs, key=lambda v: (v.created_at, v.annotation_id))
                  if not v.reviewer}
        if len(latest) >= 2:
            units.append(list(latest.values()))
            by_item[record_id] = latest
    raters = sorted({a for labels in by_item.values() for a in labels})
    out: dict[str, Any] = {"overlapping_tasks": len(units), "annotators": raters,
                           "krippendorff_alpha": krippendorff_alpha_nominal(units), "cohen_kappa": None}
    if len(raters) == 2:
        a, b = raters
        out["cohen_kappa"] = cohen_kappa([(labels[a], labels[b]) for labels in by_item.values()])
    out["statistic"] = "cohen_kappa" if len(raters) == 2 else ("krippendorff_alpha" if raters else None)
    return out


def _when(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def progress(tasks: list[dict[str, Any]], verdicts: dict[str, list[Verdict]], *,
             now: datetime | None = None) -> dict[str, Any]:
    """Per-source and per-annotator progress, throughput and time left at the current rate."""
    per_source: dict[str, Counter[str]] = defaultdict(Counter)
    needed = 0
    for task in tasks:
        data = task.get("data") or {}
        source = str(data.get("src_name") or data.get("source") or "unknown")  # "source": tasks before v13
        n_done = len({v.annotator for v in verdicts.get(data.get("record_id") or "", []) if not v.reviewer})
        overlap = max(1, int(task.get("overlap") or 1))
        per_source[source]["tasks"] += 1
        per_source[source]["done"] += int(n_done >= overlap)
        per_source[source]["annotations"] += n_done
        needed += max(0, overlap - n_done)
    per_annotator: dict[str, Counter[str]] = defaultdict(Counter)
    lead: dict[str, list[float]] = defaultdict(list)
    stamps = []
    for vs in verdicts.values():
        for v in vs:
            per_annotator[v.annotator][v.verdict] += 1
            per_annotator[v.annotator]["total"] += 1
            if v.lead_time:
                lead[v.annotator].append(float(v.lead_time))
            if (ts := _when(v.created_at)) is not None:
                stamps.append(ts)
    rate = None
    if len(stamps) >= 2:
        span = (max(stamps) - min(stamps)).total_seconds()
        rate = (len(stamps) - 1) / span * 3600 if span > 0 else None
    eta_hours = (needed / rate) if rate else None
    total_tasks = sum(c["tasks"] for c in per_source.values())
    done = sum(c["done"] for c in per_source.values())
    return {
        "tasks": total_tasks,
        "done": done,
        "remaining_annotations": needed,
        "throughput_per_hour": round(rate, 2) if rate else None,
        "eta_hours": round(eta_hours, 2) if eta_hours is not None else None,
        "by_source": {s: dict(c) for s, c in sorted(per_source.items())},
        "by_annotator": {a: {**dict(c), "mean_lead_time_s": round(sum(lead[a]) / len(lead[a]), 1) if lead[a] else None}
                         for a, c in sorted(per_annotator.items())},
        "agreement": agreement(verdicts),
    }
