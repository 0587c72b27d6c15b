"""Figures for the report and the dataset card, drawn with matplotlib from a report summary.

Every figure is built from the summary dict alone (never from records), so the card, the HTML page
and the JSON agree. Output is PNG and SVG bytes; SVG text is drawn as paths and metadata dates are
off, so the files render anywhere (no fonts needed) and the same summary gives the same bytes.
Labels are English (and ASCII config names); a CJK font is registered as a fallback for labels
that carry Chinese (benchmark file names, domains).
"""

from __future__ import annotations

import functools
import io
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

KEPT_COLOR = "#2a9d8f"
DROP_COLORS = ["#e76f51", "#f4a261", "#e9c46a", "#8d99ae", "#b5838d", "#6d597a", "#bc4749", "#457b9d", "#a3b18a"]
OTHER_COLOR = "#cccccc"
FIELD_COLORS = {"instruction": "#264653", "input": "#e9c46a", "output": "#2a9d8f"}
TOP_REASONS = 9


@dataclass(frozen=True)
class Figure:
    name: str
    title: str
    alt: str
    png: bytes
    svg: bytes


@functools.cache
def _pyplot() -> Any:
    """pyplot on the Agg backend, with a CJK fallback font when the system has one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    families = ["DejaVu Sans"]
    keys = ("notosanscjk", "notosanssc", "wqy", "sourcehansans", "droidsansfallback")
    fonts = [p for p in font_manager.findSystemFonts() if any(k in p.rsplit("/", 1)[-1].lower() for k in keys)]
    for path in sorted(fonts, key=lambda p: ("regular" not in p.lower(), p)):  # regular weight first
        try:
            font_manager.fontManager.addfont(path)
            families.append(font_manager.FontProperties(fname=path).get_name())
            break
        except (OSError, RuntimeError):  # pragma: no cover - unreadable font file
            continue
    matplotlib.rcParams.update({
        "font.family": families, "font.size": 9, "axes.titlesize": 10, "axes.spines.top": False,
        "axes.spines.right": False, "svg.fonttype": "path", "svg.hashsalt": "cqia", "figure.dpi": 100,
    })
    return plt


def load_pyplot() -> None:
    """Import matplotlib and pick the fonts now (about a second here, where bytecode is compiled at
    each start): a caller with other work under way can do it in a thread before drawing."""
    _pyplot()


def _render(fig: Any, name: str, title: str, alt: str) -> Figure:
    plt = _pyplot()
    fig.tight_layout()
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=100, metadata={"Software": None})
    fig.savefig(svg, format="svg", metadata={"Date": None})
    plt.close(fig)
    return Figure(name, title, alt, png.getvalue(), svg.getvalue())


def _reason_colors(reasons: list[str]) -> dict[str, str]:
    return {r: DROP_COLORS[i % len(DROP_COLORS)] for i, r in enumerate(reasons)}


def _top_reasons(counters: list[Counter[str]]) -> list[str]:
    total: Counter[str] = Counter()
    for c in counters:
        total.update(c)
    return [r for r, _ in total.most_common(TOP_REASONS)]


def _stacked_losses(ax: Any, y: list[int], losses: list[Counter[str]], top: list[str], colors: dict[str, str],
                    scale: list[float] | None = None, start: list[float] | None = None) -> None:
    """Horizontal stacked bars of losses per row, by reason (top reasons, then `other`)."""
    used: set[str] = set()
    for i, (yi, loss) in enumerate(zip(y, losses, strict=True)):
        left = start[i] if start else 0.0
        factor = scale[i] if scale else 1.0
        for reason in [*top, "other"]:
            n = loss.get(reason, 0) if reason != "other" else sum(v for k, v in loss.items() if k not in top)
            if n:
                ax.barh(yi, n * factor, left=left, color=colors.get(reason, OTHER_COLOR),
                        label=None if reason in used else reason)
                used.add(reason)
                left += n * factor


def funnel_figure(summary: dict[str, Any]) -> Figure:
    """Records entering each stage and kept (left), and what each stage lost, by reason (right)."""
    plt = _pyplot()
    steps = summary["funnel"]["overall"]
    losses = [Counter({**s["dropped"], **s["invalid"]}) for s in steps]
    top = _top_reasons(losses)
    colors = _reason_colors(top)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 0.42 * len(steps) + 1.6), sharey=True,
                                 gridspec_kw={"width_ratios": [1.1, 1]})
    y = list(range(len(steps)))[::-1]
    a1.barh(y, [s["in"] for s in steps], color="#d9e7e5", label="in")
    a1.barh(y, [s["kept"] for s in steps], color=KEPT_COLOR, height=0.55, label="kept")
    for yi, s in zip(y, steps, strict=True):
        a1.text(s["in"], yi, f" {s['kept']:,} / {s['in']:,}", va="center", fontsize=8)
    a1.set_yticks(y, [s["stage"] for s in steps])
    a1.set_xlim(0, max((s["in"] for s in steps), default=1) * 1.35)
    a1.set_xlabel("records")
    a1.set_title("Kept (dark) of records in (light), per stage")
    _stacked_losses(a2, y, losses, top, colors)
    for yi, loss in zip(y, losses, strict=True):
        if loss:
            a2.text(sum(loss.values()), yi, f" {sum(loss.values()):,}", va="center", fontsize=8)
    a2.set_xlim(0, max((sum(v.values()) for v in losses), default=0) * 1.25 or 1)
    a2.set_xlabel("records lost at this stage")
    a2.set_title("Dropped or invalid, by reason")
    if any(losses):
        a2.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    alt = "; ".join(f"{s['stage']}: {s['kept']} of {s['in']} kept" for s in steps)
    return _render(fig, "funnel", "Funnel: records through each stage", alt)


def drops_by_source_figure(summary: dict[str, Any]) -> Figure:
    """Per source: share of input items released and lost at any stage, by reason."""
    plt = _pyplot()
    by_source = summary["funnel"]["by_source"]
    sources = sorted(by_source)
    losses, released, totals = [], [], []
    for s in sources:
        loss: Counter[str] = Counter()
        for step in by_source[s]:
            loss.update(step["dropped"])
            loss.update(step["invalid"])
        losses.append(loss)
        released.append(by_source[s][-1]["kept"] if by_source[s] else 0)
        totals.append(released[-1] + sum(loss.values()))
    top = _top_reasons(losses)
    colors = _reason_colors(top)
    fig, ax = plt.subplots(figsize=(10, 0.3 * len(sources) + 1.6))
    y = list(range(len(sources)))[::-1]
    scale = [100 / t if t else 0.0 for t in totals]
    ax.barh(y, [r * f for r, f in zip(released, scale, strict=True)], color=KEPT_COLOR, label="released")
    _stacked_losses(ax, y, losses, top, colors, scale=scale,
                    start=[r * f for r, f in zip(released, scale, strict=True)])
    for yi, r, t in zip(y, released, totals, strict=True):
        ax.text(101, yi, f"{r:,} / {t:,}", va="center", fontsize=7)
    ax.set_yticks(y, sources)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of the source's input items (released / in)")
    ax.set_title("Released and lost per source config, by reason")
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.12, 1.0))
    alt = "; ".join(f"{s}: {r} of {t} released" for s, r, t in zip(sources, released, totals, strict=True))
    return _render(fig, "drops_by_source", "Released and lost records per source", alt)


def _hist_bars(ax: Any, hist: dict[str, list], color: str, label: str | None = None, log: bool = True,
               alpha: float = 1.0, step: bool = False) -> None:
    edges, counts = hist.get("edges") or [], hist.get("counts") or []
    if not counts:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#888")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    finite = [e for e in edges if e is not None]
    right = finite[-1] * 1.33 if finite[-1] else 1.0
    edges = [e if e is not None else right for e in edges]
    if log:
        edges = [max(e, 0.5) for e in edges]  # the 0 bin is drawn from 0.5 on a log axis
    lefts, widths = edges[:-1], [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
    if step:
        ax.stairs(counts, edges, color=color, label=label, linewidth=1.4)
    else:
        ax.bar(lefts, counts, width=widths, align="edge", color=color, label=label, alpha=alpha,
               edgecolor="white", linewidth=0.3)
    if log:
        ax.set_xscale("log")


def lengths_figure(profile: dict[str, Any], name: str = "lengths", scope: str = "all released records") -> Figure:
    """Length distributions of instruction, input and output: characters and words."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(10, 5))
    alt = []
    for col, field in enumerate(("instruction", "input", "output")):
        for row, unit in enumerate(("chars", "words")):
            ax = axes[row][col]
            s = profile[unit][field]
            _hist_bars(ax, s.get("hist") or {}, FIELD_COLORS[field])
            med = s.get("p50")
            hist = s.get("hist") or {}
            empty = hist["counts"][0] / s["n"] if hist.get("counts") and s.get("n") else 0.0
            note = f"median {med:g}" if med is not None else ""
            if empty >= 0.01:
                note += f", {empty:.0%} empty"
            ax.set_title(f"{field}: {unit}" + (f" ({note})" if note else ""))
            ax.set_xlabel(f"{unit} per record (log)")
            if col == 0:
                ax.set_ylabel("records")
            if med is not None:
                alt.append(f"{field} {unit} median {med:g}, p95 {s.get('p95'):g}")
    fig.suptitle(f"Length distributions ({scope})", fontsize=10)
    return _render(fig, name, f"Lengths ({scope})", "; ".join(alt) or "no records")


def lengths_by_source_figure(summary: dict[str, Any]) -> Figure:
    """Instruction and output characters per source: box = p25-p75, whiskers p5-p95."""
    plt = _pyplot()
    by_source = summary["records"]["by_source"]
    sources = [s for s in sorted(by_source) if by_source[s]["rows"]]
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.3 * len(sources) + 1.8), sharey=True)
    for ax, field in zip(axes, ("instruction", "output"), strict=True):
        stats = []
        for s in reversed(sources):  # first source at the top
            q = by_source[s]["chars"][field]
            stats.append({"label": f"{s} ({by_source[s]['rows']:,})", "med": q["p50"], "q1": q["p25"], "q3": q["p75"], "whislo": q["p5"],
                          "whishi": q["p95"], "fliers": []})
        if stats:
            parts = ax.bxp(stats, orientation="horizontal", showfliers=False, patch_artist=True,
                           widths=0.6)
            for box in parts["boxes"]:
                box.set(facecolor=FIELD_COLORS[field], alpha=0.6)
        ax.set_xscale("log")
        ax.set_xlabel(f"{field} characters (log)")
        ax.set_title(f"{field} length per source")
    alt = "; ".join(f"{s}: median output {by_source[s]['chars']['output']['p50']} chars" for s in sources)
    return _render(fig, "lengths_by_source", "Lengths per source", alt or "no records")


def cjk_lang_figure(profile: dict[str, Any]) -> Figure:
    """CJK share of instruction+output, and detected language."""
    plt = _pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.2))
    _hist_bars(a1, profile["cjk_ratio"].get("hist") or {}, "#264653", log=False)
    a1.set_xlabel("share of CJK ideographs (instruction + output, no spaces)")
    a1.set_ylabel("records")
    med = profile["cjk_ratio"].get("p50")
    a1.set_title("CJK share" + (f" (median {med:.2f})" if med is not None else ""))
    langs = list(profile["lang"].items())[:10]
    methods = ", ".join(f"{k}: {v:,}" for k, v in profile.get("lang_method", {}).items())
    _bar_counts(a2, dict(langs), "#457b9d", "Detected language" + (f" (by {methods})" if methods else ""))
    a2.set_xscale("symlog", linthresh=10)
    alt = "languages: " + ", ".join(f"{k} {v}" for k, v in langs)
    return _render(fig, "cjk_lang", "CJK share and language", alt)


def quality_figure(summary: dict[str, Any]) -> Figure | None:
    """Metric distributions of released records, against the records the filter dropped."""
    plt = _pyplot()
    kept = summary["records"]["overall"]["quality"]
    dropped = (summary.get("filter_dropped") or {}).get("quality") or {}
    metrics = [m for m in kept if kept[m].get("n")]
    if not metrics:
        return None
    cols = 3
    rows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.4 * rows + 0.4), squeeze=False)
    for ax, metric in zip([a for r in axes for a in r], metrics, strict=False):
        _hist_bars(ax, kept[metric].get("hist") or {}, KEPT_COLOR, label="released", log=False)
        if dropped.get(metric, {}).get("n"):
            _hist_bars(ax, dropped[metric]["hist"], "#e76f51", label="dropped by filter", log=False, step=True)
        ax.set_title(f"{metric} (median {kept[metric]['p50']:g})")
        ax.set_yscale("symlog", linthresh=1)
    for ax in [a for r in axes for a in r][len(metrics):]:
        ax.axis("off")
    axes[0][0].legend(fontsize=7, frameon=False)
    fig.suptitle("Quality metrics (stats written before filtering)", fontsize=10)
    alt = "; ".join(f"{m} median {kept[m]['p50']:g}" for m in metrics)
    return _render(fig, "quality", "Quality metrics", alt)


def llm_score_figure(profile: dict[str, Any]) -> Figure | None:
    scores = profile.get("llm_score") or {}
    if not scores:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3))
    xs = list(range(1, 11))
    ax.bar(xs, [scores.get(str(x), 0) for x in xs], color="#6d597a")
    ax.set_xticks(xs)
    ax.set_xlabel("LLM quality score (1-10)")
    ax.set_ylabel("records")
    ax.set_title(f"LLM quality scores ({profile.get('llm_score_missing', 0)} without a score)")
    alt = ", ".join(f"score {k}: {v}" for k, v in scores.items())
    return _render(fig, "llm_score", "LLM quality scores", alt)


def _bar_counts(ax: Any, counts: dict[str, int], color: str, title: str) -> None:
    items = list(counts.items())
    if not items:
        ax.text(0.5, 0.5, "none", transform=ax.transAxes, ha="center", va="center", color="#888")
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    y = list(range(len(items)))[::-1]
    ax.barh(y, [v for _, v in items], color=color)
    ax.set_yticks(y, [k for k, _ in items])
    for yi, (_, v) in zip(y, items, strict=True):
        ax.text(v, yi, f" {v:,}", va="center", fontsize=7)
    ax.set_title(title)


def pii_figure(summary: dict[str, Any]) -> Figure:
    plt = _pyplot()
    pii = summary["pii_found"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 2.8))
    _bar_counts(a1, pii["occurrences"], "#bc4749", "PII found (occurrences, redacted)")
    _bar_counts(a2, pii["records"], "#e76f51", "Records with PII, by type")
    alt = "PII: " + (", ".join(f"{k} {v}" for k, v in pii["occurrences"].items()) or "none found")
    return _render(fig, "pii", "PII found per type", alt)


def dedup_figure(summary: dict[str, Any]) -> Figure | None:
    d = summary.get("dedup")
    if not d:
        return None
    plt = _pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 2.8))
    sizes = d["size_hist"]
    a1.bar(list(sizes), list(sizes.values()), color="#457b9d")
    a1.set_xlabel("records per cluster")
    a1.set_ylabel("clusters")
    a1.set_title(f"Duplicate cluster sizes ({d['clusters']} clusters)")
    reasons = dict(d["removed_by_reason"])
    if d.get("script_folded_removals"):
        reasons["of which needed script folding"] = d["script_folded_removals"]
    _bar_counts(a2, reasons, "#e9c46a", "Removed records")
    alt = f"{d['clusters']} clusters; removed: " + ", ".join(f"{k} {v}" for k, v in reasons.items())
    return _render(fig, "dedup", "Near-duplicate clusters", alt)


def decontam_figure(summary: dict[str, Any]) -> Figure | None:
    d = summary.get("decontamination")
    if not d:
        return None
    plt = _pyplot()
    hits = d["hits_by_benchmark"]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(hits) + 1.4))
    _bar_counts(ax, hits, "#6d597a", "Benchmark contamination hits per test set")
    alt = "; ".join(f"{k}: {v}" for k, v in hits.items())
    return _render(fig, "decontam", "Decontamination hits", alt)


def annotation_figure(summary: dict[str, Any]) -> Figure | None:
    a = summary.get("annotation")
    if not a:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(10, 2.8))
    _bar_counts(axes[0], a["status"], "#2a9d8f", "Review status")
    _bar_counts(axes[1], a["verdicts"], "#457b9d", "Verdicts (all annotators)")
    _hist_bars(axes[2], a["edit_size"].get("hist") or {}, "#e9c46a")
    axes[2].set_title(f"Edit size, characters ({a['edited']} edited)")
    alt = "status: " + ", ".join(f"{k} {v}" for k, v in a["status"].items())
    return _render(fig, "annotation", "Human verification", alt)


FIGURES: list[Callable[[dict[str, Any]], Figure | None]] = [
    funnel_figure,
    drops_by_source_figure,
    lambda s: lengths_figure(s["records"]["overall"]),
    lengths_by_source_figure,
    lambda s: cjk_lang_figure(s["records"]["overall"]),
    quality_figure,
    lambda s: llm_score_figure(s["records"]["overall"]),
    pii_figure,
    dedup_figure,
    decontam_figure,
    annotation_figure,
]


def all_figures(summary: dict[str, Any]) -> list[Figure]:
    """Every figure the summary has data for, in report order."""
    return [f for make in FIGURES if (f := make(summary)) is not None]
