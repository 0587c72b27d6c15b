"""Tables across models (Markdown + CSV) and a PNG chart, from the stored score files."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson

IDENTITY_COLS = ("loose", "strict", "hard")


def collect(run_dirs: list[Path]) -> list[dict[str, Any]]:
    """One row per (run, target) from `scores/*.json`."""
    rows = []
    for run in run_dirs:
        files = sorted((Path(run) / "scores").glob("*.json"))
        if not files:
            raise FileNotFoundError(f"{run}/scores: no score files (run `cqia distill score` first)")
        for path in files:
            data = orjson.loads(path.read_bytes())
            ident = data.get("identity") or {}
            rse = data.get("rse") or {}
            sim = data.get("similarity") or {}
            row: dict[str, Any] = {"target": data["target"], "run": str(run), "n": ident.get("n")}
            for col in IDENTITY_COLS:
                row[col] = ident.get(col)
            for pool, vals in (rse.get("pools") or {}).items():
                row[f"rse:{pool}"] = vals["overall"]
            row["rse:avg"] = rse.get("average")
            for pool, vals in (sim.get("pools") or {}).items():
                row[f"sim:{pool}"] = vals["cosine"]
            row["cost_usd"] = (data.get("usage") or {}).get("cost_usd")
            rows.append(row)
    return rows


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    cols = ["target", "n", *IDENTITY_COLS]
    extra = sorted({k for r in rows for k in r if k.startswith(("rse:", "sim:")) and k != "rse:avg"})
    if any(r.get("rse:avg") is not None for r in rows):
        extra.append("rse:avg")
    return cols + extra + ["cost_usd"]


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def write_report(rows: list[dict[str, Any]], out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    cols = _columns(rows)
    md = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    md += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
    notes = ("\nloose/strict/hard: share of answered identity probes (n) judged as identity conflict / claiming the "
             "reference family / claiming it without misleading words in the prompt. rse:POOL: mean overall "
             "similarity rating (1-5). sim:POOL: offline char-3-gram cosine to the reference answer.\n")
    (out_dir / "report.md").write_text("\n".join(md) + "\n" + notes, encoding="utf-8")
    with (out_dir / "report.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    png = out_dir / "report.png"
    chart(rows, png)
    return {"md": out_dir / "report.md", "csv": out_dir / "report.csv", "png": png}


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    """Left: loose/strict/hard per model; right: RSE per pool per model (if any)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pools = sorted({k[4:] for r in rows for k in r if k.startswith("rse:") and k != "rse:avg"})
    fig, axes = plt.subplots(1, 2 if pools else 1, figsize=(12 if pools else 7, 4.5), squeeze=False)
    names = [r["target"] for r in rows]
    width = 0.8 / len(IDENTITY_COLS)
    ax = axes[0][0]
    for i, col in enumerate(IDENTITY_COLS):
        ax.bar([x + i * width for x in range(len(rows))], [r.get(col) or 0 for r in rows], width, label=col)
    ax.set_xticks([x + width for x in range(len(rows))], names, rotation=20, ha="right")
    ax.set_ylabel("share of identity probes")
    ax.set_title("Identity consistency (higher = more distilled)")
    ax.legend()
    if pools:
        ax = axes[0][1]
        w = 0.8 / len(pools)
        for i, pool in enumerate(pools):
            ax.bar([x + i * w for x in range(len(rows))], [r.get(f"rse:{pool}") or 0 for r in rows], w, label=pool)
        ax.set_xticks([x + w * (len(pools) - 1) / 2 for x in range(len(rows))], names, rotation=20, ha="right")
        ax.set_ylim(0, 5)
        ax.set_ylabel("mean similarity (1-5)")
        ax.set_title("Response similarity per pool")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
