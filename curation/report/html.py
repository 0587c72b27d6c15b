"""The report as one self-contained HTML page: inline CSS, figures as data URIs, no script, no CDN.

Every piece of data text (record fields, reasons, locations, source names) goes through `e()`
(html.escape), so a record holding `<script>` shows as text. Headings are bilingual (中文 / English).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable
from typing import Any

from curation.report.figures import Figure

CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;
 margin:0;color:#1d2b36;background:#fafafa;line-height:1.5}
header{background:#264653;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;font-size:13px;opacity:.9}main{max-width:1180px;margin:0 auto;padding:12px 28px 60px}
nav{font-size:13px;margin:10px 0 18px}nav a{margin-right:12px;color:#264653}
h2{border-bottom:2px solid #2a9d8f;padding-bottom:4px;margin-top:34px;font-size:19px}
h3{font-size:15px;margin:18px 0 6px}figure{margin:12px 0;background:#fff;border:1px solid #e3e3e3;padding:8px}
figure img{max-width:100%;height:auto;display:block}figcaption{font-size:12px;color:#555}
table{border-collapse:collapse;font-size:12.5px;margin:8px 0;background:#fff}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}th{background:#eef4f3}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}.card{background:#fff;border:1px solid #e3e3e3;
 padding:8px 14px;min-width:120px}.card b{display:block;font-size:20px}.card span{font-size:12px;color:#555}
pre{white-space:pre-wrap;word-break:break-word;background:#f4f4f4;padding:6px 8px;margin:3px 0;font-size:12.5px;
 max-height:260px;overflow:auto}details{margin:6px 0;background:#fff;border:1px solid #e3e3e3;padding:4px 10px}
summary{cursor:pointer;font-weight:600}.rec{border-left:3px solid #2a9d8f;padding-left:8px;margin:10px 0}
.rec.rej{border-left-color:#e76f51}.meta{font-size:12px;color:#555}.tag{display:inline-block;background:#e9c46a;
 border-radius:3px;padding:0 5px;font-size:11px;margin-left:4px}
"""


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return e(value if value is not None else "–")


def table(headers: list[str], rows: Iterable[list[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{_num(c)}</td>' if i in numeric else f"<td>{e(c)}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure_html(fig: Figure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    return (f'<figure id="fig-{e(fig.name)}"><img src="data:image/png;base64,{data}" alt="{e(fig.alt)}">'
            f"<figcaption>{e(fig.title)} — <code>figures/{e(fig.name)}.png</code> / "
            f"<code>.svg</code></figcaption></figure>")


def _fmt_counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}" for k, v in counts.items()) or "–"


def record_html(sample: dict[str, Any], *, rejected: bool = False, extra: str = "") -> str:
    fields = "".join(
        f'<div class="meta">{name}</div><pre>{e(sample.get(name))}</pre>'
        for name in ("instruction", "input", "output") if sample.get(name)
    )
    raw = f'<div class="meta">raw</div><pre>{e(sample["raw"])}</pre>' if sample.get("raw") else ""
    meta = " · ".join(e(x) for x in (sample.get("source"), sample.get("id"), sample.get("location")) if x)
    detail = f'<div class="meta">detail: {e(sample["detail"])}</div>' if sample.get("detail") else ""
    cls = "rec rej" if rejected else "rec"
    return f'<div class="{cls}"><div class="meta">{meta}{extra}</div>{detail}{fields}{raw}</div>'


def _funnel_table(steps: list[dict[str, Any]]) -> str:
    return table(
        ["stage", "in", "kept", "dropped", "invalid", "reasons"],
        ([s["stage"], s["in"], s["kept"], sum(s["dropped"].values()), sum(s["invalid"].values()),
          _fmt_counts({**s["dropped"], **s["invalid"]})] for s in steps),
        numeric={1, 2, 3, 4},
    )


def _length_table(profile: dict[str, Any]) -> str:
    rows = []
    for unit in ("chars", "words"):
        for field in ("instruction", "input", "output"):
            q = profile[unit][field]
            rows.append([field, unit, q.get("p5"), q.get("p25"), q.get("p50"), q.get("p75"), q.get("p95"),
                         q.get("max"), q.get("mean")])
    return table(["field", "unit", "p5", "p25", "median", "p75", "p95", "max", "mean"], rows,
                 numeric=set(range(2, 9)))


def _source_section(name: str, steps: list[dict[str, Any]], profile: dict[str, Any] | None) -> str:
    parts = [f"<details id=\"src-{e(name)}\"><summary>{e(name)} — "
             f"{_num(steps[-1]['kept'] if steps else 0)} records</summary>", "<h3>漏斗 Funnel</h3>",
             _funnel_table(steps)]
    if profile and profile["rows"]:
        cjk = profile["cjk_ratio"]
        parts += [
            "<h3>长度 Lengths</h3>", _length_table(profile),
            "<h3>语言与质量 Language and quality</h3>",
            table(["what", "value"], [
                ["CJK share median (p5–p95)", f"{cjk.get('p50')} ({cjk.get('p5')}–{cjk.get('p95')})"],
                ["language", _fmt_counts(profile["lang"])],
                ["PII found (occurrences)", _fmt_counts(profile["pii_found"])],
                ["answer_from", _fmt_counts(profile["answer_from"])],
                ["human_verified", profile["human_verified"]],
                ["top domains", _fmt_counts(profile["domains"])],
                ["top task types", _fmt_counts(profile["task_major"])],
                ["LLM score", _fmt_counts(profile["llm_score"]) if profile["llm_score"] else "not scored"],
                *[[f"{m} median (p5–p95)", f"{q['p50']} ({q['p5']}–{q['p95']})"]
                  for m, q in profile["quality"].items()],
            ]),
        ]
    parts.append("</details>")
    return "".join(parts)


def _dedup_html(d: dict[str, Any]) -> str:
    out = [f"<p>{d['clusters']:,} clusters; {d['cross_source_clusters']:,} span more than one source; removed: "
           f"{e(_fmt_counts(d['removed_by_reason']))}; {d['script_folded_removals']:,} removals matched only "
           "after folding traditional/simplified script.</p>"]
    for c in d.get("examples") or []:
        out.append(f"<details><summary>cluster {e(c['cluster'])} · {c['size']} records · "
                   f"shown as: {e(c['why_shown'])}</summary>")
        kept = c["kept"].get("text") or {"id": c["kept"]["id"], "source": c["kept"]["source"],
                                          "detail": "kept record not in the described stage (dropped later)"}
        out.append(record_html(kept, extra='<span class="tag">kept</span>'))
        for m in c["removed"]:
            sim = m.get("similarity")
            tags = f'<span class="tag">{e(m["reason"])}</span>'
            if sim is not None:
                tags += f'<span class="tag">similarity {sim}</span>'
            if m.get("script_folded"):
                tags += f'<span class="tag">script folded (unfolded {m.get("similarity_unfolded")})</span>'
            text = m.get("text") or {"id": m["id"], "source": m["source"], "detail": "text not found in the run"}
            out.append(record_html(text, rejected=True, extra=tags))
        out.append("</details>")
    return "".join(out)


def _annotation_html(a: dict[str, Any]) -> str:
    agreement = a.get("agreement") or {}
    rows = [
        ["records in the verified stage", a["records"]],
        ["review status", _fmt_counts(a["status"])],
        ["reviewed share (verified + rejected)", a["reviewed_share"]],
        ["verdicts", _fmt_counts(a["verdicts"])],
        ["annotators", a["annotators"]],
        ["records with 2+ annotators", a["overlapping_records"]],
        ["agreement", _fmt_counts({k: v for k, v in agreement.items() if not isinstance(v, list)})
         if agreement else "not enough overlap"],
        ["edited records", a["edited"]],
        ["edit size (chars) median / p95", f"{a['edit_size'].get('p50', '–')} / {a['edit_size'].get('p95', '–')}"],
        ["reject reasons", _fmt_counts(a["reject_reasons"])],
    ]
    per_source = table(["source", "status"], ([s, _fmt_counts(c)] for s, c in a["status_by_source"].items()))
    return table(["what", "value"], rows) + "<h3>进度 Progress per source</h3>" + per_source


def render_html(summary: dict[str, Any], figures: list[Figure], *, title: str = "cqia 数据报告 · Curation report",
                extra_sections: list[tuple[str, str, str]] | None = None, extra_first: bool = False) -> str:
    """The page. `extra_sections`: (anchor, heading, trusted HTML) placed first (`extra_first`) or
    before the samples (the audit's defects table); their HTML must already be escaped by the caller."""
    figs = {f.name: f for f in figures}
    overall = summary["records"]["overall"]
    steps = summary["funnel"]["overall"]
    first_in = steps[0]["in"] if steps else overall["rows"]
    lost = sum(sum(s["dropped"].values()) + sum(s["invalid"].values()) for s in steps)
    cards = [("input items", first_in), (f"records in stage {summary['described_stage']}", overall["rows"]),
             ("dropped or invalid", lost), ("source configs", len(summary["records"]["by_source"])),
             ("human-verified", overall["human_verified"])]

    def fig(name: str) -> str:
        return figure_html(figs[name]) if name in figs else ""

    sections: list[tuple[str, str, str]] = list(extra_sections or []) if extra_first else []
    sections += [
        ("funnel", "漏斗 Funnel", fig("funnel") + _funnel_table(steps) + fig("drops_by_source")),
        ("lengths", "长度 Lengths", fig("lengths") + _length_table(overall) + fig("lengths_by_source")),
        ("language", "中文占比与语言 CJK share and language", fig("cjk_lang")),
        ("quality", "质量分布 Quality", fig("quality") + fig("llm_score") or "<p>No quality metrics in this run.</p>"),
        ("pii", "个人信息 PII", fig("pii") + table(
            ["type", "occurrences", "records"],
            ([k, v, summary["pii_found"]["records"].get(k, 0)] for k, v in summary["pii_found"]["occurrences"].items()),
            numeric={1, 2})),
    ]
    if summary.get("dedup"):
        sections.append(("dedup", "近重复 Near duplicates", fig("dedup") + _dedup_html(summary["dedup"])))
    if summary.get("decontamination"):
        d = summary["decontamination"]
        body = fig("decontam") + "".join(
            f"<h3>{e(bench)}</h3>" + "".join(
                record_html(x, rejected=bool(x.get("dropped")),
                            extra=f'<span class="tag">{e(x.get("question"))} overlap {e(x.get("overlap"))}</span>')
                for x in xs)
            for bench, xs in d["examples"].items())
        sections.append(("decontam", "基准去污染 Benchmark decontamination", body))
    if summary.get("annotation"):
        sections.append(("annotation", "人工审核 Human verification",
                         fig("annotation") + _annotation_html(summary["annotation"])))
    if not extra_first:
        sections += extra_sections or []
    samples = summary["samples"]
    sample_html = "<h3>保留样例 Kept records (random sample per source)</h3>" + "".join(
        record_html(s) for s in samples["kept"])
    sample_html += "<h3>剔除样例 Rejected records, per stage and reason</h3>" + "".join(
        f"<details><summary>{e(key)} ({len(items)} shown)</summary>"
        + "".join(record_html(s, rejected=True) for s in items) + "</details>"
        for key, items in samples["rejected"].items()) if samples["rejected"] else "<p>No rejected records.</p>"
    sections.append(("samples", "样例 Samples", sample_html))
    by_source = summary["funnel"]["by_source"]
    sections.append(("sources", "各来源 Per source config", "".join(
        _source_section(s, by_source[s], summary["records"]["by_source"].get(s)) for s in sorted(by_source))))

    nav = "".join(f'<a href="#{e(a)}">{e(h)}</a>' for a, h, _ in sections)
    card_html = "".join(f'<div class="card"><b>{_num(v)}</b><span>{e(k)}</span></div>' for k, v in cards)
    body = "".join(f'<section id="{e(a)}"><h2>{e(h)}</h2>{content}</section>' for a, h, content in sections)
    return (
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{e(title)}</h1><p>run: <code>{e(summary['run'])}</code> · described stage: "
        f"<code>{e(summary['described_stage'])}</code></p><p>generated {e(summary['generated_at'])} · "
        f"cqia {e(summary['code_version'])}</p></header><main><div class=\"cards\">{card_html}</div>"
        f"<nav>{nav}</nav>{body}</main></body></html>"
    )


def defects_section(audit: dict[str, Any]) -> str:
    """The audit's defects table (per 10k records, per config) and examples per kind, escaped."""
    d = audit["defects"]
    configs = sorted(d["records"])
    total = sum(d["records"].values())
    rows = [["records", *[d["records"][c] for c in configs], total]]
    for kind, k in d["kinds"].items():
        cells = []
        for c in configs:
            hit = k["by_config"].get(c)
            cells.append(f"{hit['per_10k']:,.0f} ({hit['records']:,})" if hit else "·")
        rows.append([kind, *cells, f"{k['per_10k']:,.0f} ({k['records']:,})"])
    files = "".join(f"<li><code>{e(f)}</code></li>" for f in audit.get("files", []))
    head = (f"<p>Mode: flag-only — nothing in <code>{e(audit['dataset'])}</code> was dropped or changed; the "
            "stages below ran on a working copy, and what they would drop or change is listed as defects (the "
            "funnel's dedup step shows the duplicates dedup would remove). Cells: records with the defect per "
            "10,000 records of the config (records). A record counts once per kind. <code>defects.jsonl</code> "
            f"lists every defect with record id and location.</p><details><summary>input files</summary><ul>{files}"
            "</ul></details>")
    if audit.get("notes"):
        head += "<p>Skipped:</p><ul>" + "".join(f"<li>{e(n)}</li>" for n in audit["notes"]) + "</ul>"
    examples = "".join(
        f"<details><summary>{e(kind)} — {k['records']:,} records</summary>"
        + table(["id", "location", "field", "example"],
                ([x.get("id"), x.get("location"), x.get("field"), x.get("example")] for x in k["examples"]))
        + "</details>"
        for kind, k in d["kinds"].items())
    numeric = set(range(1, len(configs) + 2))
    return head + table(["defect", *configs, "all"], rows, numeric=numeric) + "<h3>例子 Examples per defect</h3>" + examples
