"""A report a researcher can keep: tables across models (Markdown + CSV) and charts, from the score files.

What it shows: which target, judge and reference models and which prompts (version + sha256)
produced every number; every ICE score with its Wilson 95% interval and which models cannot be told
apart at that level; the per-language split; RSE per pool; the ICE-vs-RSE scatter of the paper; and,
for imported paper data, the comparison with the published figures. A score that was not computed is
shown as missing, never as 0.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson

from curation.distill.stats import distinguishable

IDENTITY_COLS = ("loose", "strict", "hard")


def collect(run_dirs: list[Path]) -> list[dict[str, Any]]:
    """One score document per (run, target) from `scores/*.json`, with its run directory."""
    rows = []
    for run in run_dirs:
        files = sorted((Path(run) / "scores").glob("*.json"))
        if not files:
            raise FileNotFoundError(f"{run}/scores: no score files (run `cqia distill score` first)")
        for path in files:
            data = orjson.loads(path.read_bytes())
            data["run"] = str(run)
            rows.append(data)
    return rows


def _fmt(v: Any, places: int = 3) -> str:
    if v is None:
        return "missing"
    if isinstance(v, float):
        return f"{v:.{places}f}"
    return str(v)


def _ci_cell(ident: dict[str, Any], name: str) -> str:
    value, ci = ident.get(name), ident.get(f"{name}_ci95")
    if value is None:
        return "missing"
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{value:.3f}"


def _judge_cell(meta: dict[str, Any] | None, extra: str = "") -> str:
    """`model · prompt version · sha256[:12]` (+ scope/reference), or `missing` when the judge never ran."""
    if not meta:
        return "missing"
    sha = meta.get("prompt_sha256")
    parts = [f"`{meta.get('model', '?')}`", meta.get("prompt_version") or "", f"sha256 `{sha[:12]}`" if sha else "",
             f"{extra}={meta.get(extra)}" if extra and meta.get(extra) else ""]
    return " · ".join(p for p in parts if p)


def _published_rse(doc: dict[str, Any]) -> float | None:
    paper = doc.get("paper") or {}
    avg = (paper.get("rse") or {}).get("avg")
    return float(avg) if avg is not None else None


def flat_row(doc: dict[str, Any]) -> dict[str, Any]:
    """The CSV row of one target: every number, its interval bounds, models and prompt hashes (missing = empty)."""
    ident = doc.get("identity") or {}
    row: dict[str, Any] = {"target": doc["target"], "run": doc.get("run"), "model": doc.get("model"), "n": ident.get("n")}
    for col in IDENTITY_COLS:
        ci = ident.get(f"{col}_ci95") or [None, None]
        row.update({col: ident.get(col), f"{col}_positive": ident.get(f"{col}_positive") if ident.get(col) is not None else None,
                    f"{col}_ci_low": ci[0], f"{col}_ci_high": ci[1]})
    row["strict_scope"] = ident.get("strict_scope")
    for lang, vals in sorted((ident.get("by_language") or {}).items()):
        row[f"n_{lang}"] = vals.get("n")
        for col in IDENTITY_COLS:
            row[f"{col}_{lang}"] = vals.get(col)
    rse = doc.get("rse") or {}
    for pool, vals in (rse.get("pools") or {}).items():
        row[f"rse:{pool}"] = vals["overall"]
        row[f"rse_n:{pool}"] = vals["n"]
    row["rse:avg"] = rse.get("average")
    row["rse_reference"] = rse.get("reference")
    sim = doc.get("similarity") or {}
    for pool, vals in (sim.get("pools") or {}).items():
        row[f"sim:{pool}"] = vals["cosine"]
    row["sim:avg"] = sim.get("average")
    row["sim_method"] = sim.get("method") if sim.get("pools") else None
    row["sim_reference"] = sim.get("reference")
    for kind, meta in (doc.get("judges") or {}).items():
        row[f"{kind}_judge_model"] = meta.get("model")
        row[f"{kind}_prompt_version"] = meta.get("prompt_version")
        row[f"{kind}_prompt_sha256"] = meta.get("prompt_sha256")
    row["published_rse_avg"] = _published_rse(doc)
    row["cost_usd"] = (doc.get("usage") or {}).get("cost_usd")
    return row


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def indistinguishable(docs: list[dict[str, Any]], metric: str) -> list[tuple[str, list[str]]]:
    """Per target (in score order), the other targets whose `metric` it cannot be told apart from at 95%."""
    have = [(d["target"], d["identity"][f"{metric}_positive"], d["identity"]["n"]) for d in docs
            if (d.get("identity") or {}).get(metric) is not None and d["identity"].get("n")]
    have.sort(key=lambda t: -t[1] / t[2])
    out = []
    for name, k, n in have:
        same = [o for o, k2, n2 in have if o != name and distinguishable(k, n, k2, n2) is False]
        out.append((name, same))
    return out


def markdown(docs: list[dict[str, Any]], scatter_y: str, scatter_note: str) -> str:
    md = ["# Distillation report", "",
          "Scores are recomputed from stored judgements. ICE scores are shares of the answered identity probes (n)",
          "with Wilson 95% intervals; at n = 1000 an interval is about ±0.03, so scores closer than that are usually",
          "not distinguishable (see below). `missing` means the score was not computed (no judge ran, or the data",
          "lacks it), never 0.", ""]
    md += ["## Models and prompts", ""]
    rows = []
    for d in docs:
        j = d.get("judges") or {}
        sim = d.get("similarity") or {}
        rows.append([d["target"], f"`{d.get('model') or '-'}`", _judge_cell(j.get("loose")), _judge_cell(j.get("strict"), "scope"),
                     _judge_cell(j.get("rse"), "reference"),
                     f"{sim['method']} · reference={sim.get('reference')}" if sim.get("pools") else "missing"])
    md += _table(["target", "model", "loose judge (model · prompt · sha256)", "strict judge", "RSE judge",
                  "similarity"], rows)
    md += ["", "Built-in judge prompts are this project's wording, not the paper's; `paper-release` marks verdicts",
           "imported from the paper's released files (its eval model, gpt-4o-mini per its script).", ""]
    md += ["## Identity consistency (ICE), 95% Wilson intervals", ""]
    md += _table(["target", "n", "loose", "strict", "hard", "strict scope"],
                 [[d["target"], _fmt((d.get("identity") or {}).get("n")), *[_ci_cell(d.get("identity") or {}, c) for c in IDENTITY_COLS],
                   (d.get("identity") or {}).get("strict_scope") or "-"] for d in docs])
    md += ["", "strict scope `loose-positives`: the strict judge re-judged only the loose positives (the paper's method, so",
           "strict <= loose); `all`: it judged every answer.", ""]
    md += ["## Not distinguishable at 95%", "",
           "For each target, the targets whose score differs from it by less than the 95% Newcombe interval of the",
           "difference (the interval contains 0): their order in the table above is not supported by the data.", ""]
    for metric in IDENTITY_COLS:
        groups = indistinguishable(docs, metric)
        if not groups:
            continue
        md.append(f"**{metric}**")
        md.append("")
        md += [f"- {name}: " + (", ".join(same) if same else "distinguishable from all others") for name, same in groups]
        md.append("")
    md += ["## By language", ""]
    lang_rows = []
    for d in docs:
        for lang, vals in sorted(((d.get("identity") or {}).get("by_language") or {}).items()):
            lang_rows.append([d["target"], lang, str(vals.get("n")), *[_ci_cell(vals, c) for c in IDENTITY_COLS]])
    md += _table(["target", "language", "n", "loose", "strict", "hard"], lang_rows) if lang_rows else ["(no identity answers)"]
    md.append("")
    pools = sorted({p for d in docs for p in ((d.get("rse") or {}).get("pools") or {})})
    sim_pools = sorted({p for d in docs for p in ((d.get("similarity") or {}).get("pools") or {})})
    if pools or sim_pools:
        md += ["## Response similarity (RSE)", ""]
        header = ["target", *[f"rse:{p}" for p in pools], "rse avg", *[f"sim:{p}" for p in sim_pools], "sim avg"]
        rrows = []
        for d in docs:
            rp, sp = (d.get("rse") or {}).get("pools") or {}, (d.get("similarity") or {}).get("pools") or {}
            rrows.append([d["target"], *[f"{rp[p]['overall']:.3f} (n={rp[p]['n']})" if p in rp else "missing" for p in pools],
                          _fmt((d.get("rse") or {}).get("average")),
                          *[f"{sp[p]['cosine']:.3f} (n={sp[p]['n']})" if p in sp else "missing" for p in sim_pools],
                          _fmt((d.get("similarity") or {}).get("average"))])
        md += _table(header, rrows)
        notes = []
        for d in docs:
            for what, block in (("RSE", d.get("rse") or {}), ("similarity", d.get("similarity") or {})):
                for pool, n in (block.get("no_reference") or {}).items():
                    notes.append(f"- {d['target']}: {what} pool {pool}: {n} answered prompts have no reference answer "
                                 f"(reference: {block.get('reference')}), not scored")
        md += ["", "rse: mean overall judge rating (1-5) against the reference answers; sim: judge-free cosine (method in",
               "the models table).", *notes, ""]
    md += ["## ICE vs RSE", "", f"`scatter.png`: x = RSE average, y = {scatter_y} with its 95% interval. {scatter_note}", ""]
    comp = [(d["target"], c) for d in docs for c in (d.get("comparison") or [])]
    if comp:
        md += ["## Comparison with the paper's published figures", "",
               "Recomputed = positives / n from the released rows, rounded half-up to the printed precision.", ""]
        md += _table(["target", "metric", "printed in", "published", "recomputed", "rounded", "agrees"],
                     [[t, c["metric"], c["source"], c["published"],
                       f"{c['positives']}/{c['n']} = {c['recomputed']:.4f}" if c["recomputed"] is not None else "missing",
                       c["rounded"] or "-", {True: "yes", False: "**no**", None: "-"}[c["agrees"]]] for t, c in comp])
        md.append("")
        warn = [(d["target"], w) for d in docs for w in (d.get("warnings") or [])]
        if warn:
            md += ["Import warnings:", "", *[f"- {t}: {w}" for t, w in warn], ""]
    return "\n".join(md)


def write_report(docs: list[dict[str, Any]], out_dir: Path, *, scatter_y: str = "strict") -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = sorted(docs, key=lambda d: d["target"].lower())
    flat = [flat_row(d) for d in docs]
    cols: list[str] = []
    for r in flat:
        cols += [k for k in r if k not in cols]
    with (out_dir / "report.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
        writer.writerows([{k: ("" if v is None else v) for k, v in r.items()} for r in flat])
    png, scatter = out_dir / "report.png", out_dir / "scatter.png"
    chart(docs, png)
    note = scatter_chart(docs, scatter, scatter_y)
    (out_dir / "report.md").write_text(markdown(docs, scatter_y, note) + "\n", encoding="utf-8")
    return {"md": out_dir / "report.md", "csv": out_dir / "report.csv", "png": png, "scatter": scatter}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def chart(docs: list[dict[str, Any]], path: Path) -> None:
    """Left: loose/strict/hard per model as horizontal bars with 95% intervals (full names, any number of
    models; a missing score is written as such, not drawn as 0). Right: RSE per pool, if any."""
    plt = _plt()
    pools = sorted({p for d in docs for p in ((d.get("rse") or {}).get("pools") or {})})
    names = [d["target"] for d in docs]
    height = max(3.5, 0.55 * len(docs) * (1 + 0.2 * len(IDENTITY_COLS)) + 1.5)
    fig, axes = plt.subplots(1, 2 if pools else 1, figsize=(14 if pools else 9, height), squeeze=False)
    ax = axes[0][0]
    bar = 0.8 / len(IDENTITY_COLS)
    colors = {"loose": "#8ecae6", "strict": "#ffb703", "hard": "#d62828"}
    for i, col in enumerate(IDENTITY_COLS):
        for y, d in enumerate(docs):
            ident = d.get("identity") or {}
            pos = y + (i - 1) * bar
            v, ci = ident.get(col), ident.get(f"{col}_ci95")
            if v is None:
                ax.text(0.002, pos, f"{col}: missing", va="center", fontsize=7, color="grey")
                continue
            err = [[max(0.0, v - ci[0])], [max(0.0, ci[1] - v)]] if ci else None
            ax.barh(pos, v, bar, xerr=err, color=colors[col], edgecolor="black", linewidth=0.4, capsize=2,
                    label=col if y == next((k for k, dd in enumerate(docs) if (dd.get("identity") or {}).get(col) is not None), -1) else None)
    ax.set_yticks(range(len(docs)), names)
    ax.invert_yaxis()
    ax.set_xlabel("share of answered identity probes (95% Wilson interval)")
    ax.set_title("Identity consistency (higher = more distilled)")
    ax.grid(axis="x", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="best")
    if pools:
        ax = axes[0][1]
        w = 0.8 / len(pools)
        for i, pool in enumerate(pools):
            for y, d in enumerate(docs):
                vals = ((d.get("rse") or {}).get("pools") or {}).get(pool)
                pos = y + (i - (len(pools) - 1) / 2) * w
                if vals is None:
                    ax.text(1.02, pos, f"{pool}: missing", va="center", fontsize=7, color="grey")
                else:
                    ax.barh(pos, vals["overall"], w, label=pool if y == 0 else None)
        ax.set_yticks(range(len(docs)), names)
        ax.invert_yaxis()
        ax.set_xlim(1, 5)
        ax.set_xlabel("mean similarity rating (1-5)")
        ax.set_title("Response similarity per pool")
        ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def scatter_chart(docs: list[dict[str, Any]], path: Path, y_metric: str = "strict") -> str:
    """The paper's ICE-vs-RSE scatter (its Figure: x = RSE, y = ICE). Uses the measured RSE average;
    for imported paper data without RSE, the paper's published RSE average (hollow marker). Returns a
    note for the Markdown saying what was plotted."""
    plt = _plt()
    points = []
    for d in docs:
        ident = d.get("identity") or {}
        y, ci = ident.get(y_metric), ident.get(f"{y_metric}_ci95")
        x, published = (d.get("rse") or {}).get("average"), False
        if x is None and _published_rse(d) is not None:
            x, published = _published_rse(d), True
        if x is not None and y is not None:
            points.append((d["target"], x, y, ci, published))
    fig, ax = plt.subplots(figsize=(8, 6.5))
    skipped = len(docs) - len(points)
    if not points:
        ax.text(0.5, 0.5, "no target has both an ICE score and an RSE average", ha="center", va="center")
        ax.set_axis_off()
        note = "No target has both scores, so the scatter is empty."
    else:
        for i, (name, x, y, ci, published) in enumerate(sorted(points, key=lambda p: (p[1], p[2]))):
            err = [[max(0.0, y - ci[0])], [max(0.0, ci[1] - y)]] if ci else None
            ax.errorbar(x, y, yerr=err, fmt="o", mfc="white" if published else "#219ebc", mec="#023047", ecolor="#8d99ae",
                        capsize=3, ms=8)
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, 4 if i % 2 == 0 else -11), fontsize=8)
        ax.set_xlabel("RSE average (1-5)" + (" — hollow: paper's published RSE" if any(p[4] for p in points) else ""))
        ax.set_ylabel(f"ICE {y_metric} score (95% interval)")
        ax.set_title("ICE vs RSE (up and right = more distilled)")
        ax.grid(alpha=0.3)
        n_pub = sum(1 for p in points if p[4])
        note = (f"{len(points)} targets plotted" + (f", {n_pub} of them against the paper's published RSE average "
                                                     "(hollow markers; the paper's own scatter plots strict values on an axis labelled 'Hard Score')"
                                                     if n_pub else "") + (f"; {skipped} without both scores left out." if skipped else "."))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return note
