"""The generated dataset card (README.md): YAML the Hub and `datasets` read, and a body people read.

Every figure in the card is computed from the release rows or the run manifests; field
descriptions come from the Pydantic model, so the card cannot drift from the schema.
"""

from __future__ import annotations

from typing import Any

import yaml

from schemas import InstructionRecord
from schemas.redact import redact_text

TASK_CATEGORIES = ["question-answering", "text-generation", "text2text-generation", "text-classification"]

CITATION = """@misc{bai2024coigcqia,
  title={COIG-CQIA: Quality is All You Need for Chinese Instruction Fine-tuning},
  author={Yuelin Bai and Xinrun Du and Yiming Liang and Yonggang Jin and Ziqiang Liu and Junting Zhou and Tianyu Zheng and Xincheng Zhang and Nuo Ma and Zekun Wang and Ruibin Yuan and Haihong Wu and Hongquan Lin and Wenhao Huang and Jiajun Zhang and Wenhu Chen and Chenghua Lin and Jie Fu and Min Yang and Shiwen Ni and Ge Zhang},
  year={2024},
  eprint={2403.18058},
  archivePrefix={arXiv},
  primaryClass={cs.CL}
}"""


def size_category(rows: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M")]
    return next((label for bound, label in bounds if rows < bound), "10M<n<100M")


def card_metadata(configs: list[dict[str, Any]], *, pretty_name: str, dataset_license: str) -> dict[str, Any]:
    total = sum(c["rows"] for c in configs)
    return {
        "pretty_name": pretty_name,
        "language": ["zh"],
        "license": dataset_license,
        "task_categories": TASK_CATEGORIES,
        "size_categories": [size_category(total)],
        "configs": [
            {"config_name": c["config"], "data_files": [{"split": "train", "path": f"{c['config']}/*.parquet"}]}
            for c in configs
        ],
    }


def _fmt_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.items()) or "-"


def _config_table(configs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| config | rows | human-verified | answer_from | median instruction chars | median output chars |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for c in configs:
        lines.append(
            f"| {c['config']} | {c['rows']} | {c['human_verified']} | {_fmt_counts(c['answer_from'])} "
            f"| {c['median_instruction_chars']:g} | {c['median_output_chars']:g} |"
        )
    total = sum(c["rows"] for c in configs)
    verified = sum(c["human_verified"] for c in configs)
    lines.append(f"| **total** | {total} | {verified} | | | |")
    return lines


VERIFICATION_COLUMNS = (
    ("verified_here", "verified here"),
    ("upstream_verified", "upstream-verified, not reviewed here"),
    ("pending", "pending review"),
    ("held", "held (disputed)"),
    ("unverified", "not in review"),
)
VERIFICATION_RULE = (
    "`human_verified` is true only for a row a person here accepted in the verification loop "
    "(`verified_by: annotation` in `metadata.provenance.extra`), or for a row the upstream dataset "
    "marked verified that nobody here has reviewed (`verified_by: upstream`, counted apart below). "
    "A row a person here rejected, or on which annotators here disagree without resolution (held), "
    "is never `human_verified: true`, whatever the upstream dataset said."
)


def rejected_by_config(manifests: list[dict[str, Any]], stage: str = "verified") -> dict[str, int]:
    """Rows people rejected in the verification loop (the `verified` stage's `rejected*` drops)."""
    out: dict[str, int] = {}
    for m in manifests:
        if m.get("stage") != stage:
            continue
        for source, c in m["counts"]["by_source"].items():
            out[source] = sum(n for reason, n in c["dropped"].items() if reason.startswith("rejected"))
    return out


def _verification_counts(configs: list[dict[str, Any]], rejected: dict[str, int]) -> dict[str, int]:
    totals = {key: sum(c.get("verification", {}).get(key, 0) for c in configs) for key, _ in VERIFICATION_COLUMNS}
    totals["rejected"] = sum(rejected.values())
    return totals


def _review_lines(configs: list[dict[str, Any]], rejected: dict[str, int]) -> list[str]:
    """Verification state per config: verified here / upstream-only / pending / held / rejected."""
    if not any(c.get("verification") for c in configs):
        return []
    header = " | ".join(label for _, label in VERIFICATION_COLUMNS)
    lines = [
        "## Human verification status",
        "",
        VERIFICATION_RULE,
        "",
        "Each released row is in exactly one state (`pending`: sent for review, or waiting to be sent, "
        "with no verdict yet; `held`: annotators disagreed and no policy resolved it; `not in review`: "
        "never part of the review loop and not verified upstream); rejected rows are not released "
        "(they are in the run's `verified` rejects shard with the annotator's reason).",
        "",
        f"| config | {header} | rejected (not released) |",
        "|---|" + "---:|" * (len(VERIFICATION_COLUMNS) + 1),
    ]
    for c in configs:
        counts = c.get("verification", {})
        cells = " | ".join(str(counts.get(key, 0)) for key, _ in VERIFICATION_COLUMNS)
        lines.append(f"| {c['config']} | {cells} | {rejected.get(c['config'], 0)} |")
    totals = _verification_counts(configs, rejected)
    cells = " | ".join(str(totals[key]) for key, _ in VERIFICATION_COLUMNS)
    lines.append(f"| **total** | {cells} | {totals['rejected']} |")
    dissent = sum(c.get("verified_over_dissent", 0) for c in configs)
    if dissent:
        lines += ["", f"{dissent} of the rows verified here were accepted by the conflict policy (majority or "
                  "reviewer) over a dissenting annotator; `metadata.provenance.extra.annotation` names "
                  "everyone's verdict."]
    return [*lines, ""]


def _field_table() -> list[str]:
    lines = ["| field | description |", "|---|---|"]
    for name, info in InstructionRecord.model_fields.items():
        lines.append(f"| `{name}` | {info.description or ''} |")
    return lines


def _stage_lines(manifests: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| stage | source | in | kept | dropped | invalid | reasons |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for m in manifests:
        for source, c in m["counts"]["by_source"].items():
            reasons = _fmt_counts({**c["dropped"], **c["invalid"]})
            lines.append(
                f"| {m['stage']} | {source} | {c['in']} | {c['kept']} | {c['dropped_total']} "
                f"| {c['invalid_total']} | {reasons} |"
            )
    return lines


def _stage_params(manifests: list[dict[str, Any]]) -> list[str]:
    lines = []
    for m in manifests:
        params = {k: v for k, v in m.get("params", {}).items() if v not in (None, {}, [])}
        shown = yaml.safe_dump(params, allow_unicode=True, sort_keys=True, width=100).strip() if params else "-"
        lines.append(f"- **{m['stage']}** (code {m.get('code_version', '?')}):")
        lines.extend(f"    {line}" for line in shown.splitlines())
    return lines


def render_card(
    configs: list[dict[str, Any]],
    manifests: list[dict[str, Any]],
    *,
    pretty_name: str,
    dataset_license: str,
    stage: str,
) -> str:
    """README.md text: YAML front matter + body, from release stats and run manifests."""
    meta = yaml.safe_dump(
        card_metadata(configs, pretty_name=pretty_name, dataset_license=dataset_license),
        allow_unicode=True, sort_keys=False,
    )
    verified = sum(c["human_verified"] for c in configs)
    total = sum(c["rows"] for c in configs)
    rejected = rejected_by_config(manifests)
    counts = _verification_counts(configs, rejected)
    body = [
        f"# {pretty_name}",
        "",
        "Chinese instruction-tuning data in the COIG-CQIA format, built with the `cqia` toolkit from "
        "human-written sources, cleaned, filtered and (where marked) verified by people.",
        "",
        f"{total} rows in {len(configs)} configs; {verified} rows carry `human_verified: true`: "
        f"{counts['verified_here']} verified here by our annotators and {counts['upstream_verified']} "
        "upstream-verified rows nobody here has reviewed. Not verified: "
        f"{counts['pending']} pending review, {counts['held']} held (disputed), {counts['unverified']} not in "
        f"review; {counts['rejected']} rows people here rejected are not released.",
        "",
        VERIFICATION_RULE,
        "",
        "```python",
        "from datasets import load_dataset",
        f"ds = load_dataset(\"<repo-id>\", name=\"{configs[0]['config'] if configs else 'CONFIG'}\", split=\"train\")",
        "```",
        "",
        "## Configs",
        "",
        *_config_table(configs),
        "",
        *_review_lines(configs, rejected),
        "## Fields",
        "",
        *_field_table(),
        "",
        "In this release `metadata` is a JSON object: `cqia_id` (stable record id), `source`, "
        "`source_metadata` (the source's own metadata text) and `provenance` (source-native id, URL, "
        "fetch time, sha256 of the raw input, license, author, input location).",
        "",
        "## Sources and licenses",
        "",
        "| config | licenses (rows) | top domains | top task types |",
        "|---|---|---|---|",
        *[
            f"| {c['config']} | {_fmt_counts(c['licenses'])} | {_fmt_counts(c['domains'])} "
            f"| {_fmt_counts(c['task_major'])} |"
            for c in configs
        ],
        "",
        "Each row keeps its own license and author in `metadata.provenance`; respect them when reusing rows.",
        "",
        "## How the records were built, cleaned and verified",
        "",
        f"Rows come from stage `{stage}` of the run. Stages and parameters:",
        "",
        *_stage_params(manifests),
        "",
        "Counts per stage (in = kept + dropped + invalid; dropped and invalid rows are kept in the "
        "run's rejects shards with their reason and input location):",
        "",
        *_stage_lines(manifests),
        "",
        "## Citation",
        "",
        "```bibtex",
        CITATION,
        "```",
        "",
    ]
    # The card quotes run manifests (inputs, parameters, reject reasons): publish no credential.
    return redact_text(f"---\n{meta}---\n\n" + "\n".join(body))
