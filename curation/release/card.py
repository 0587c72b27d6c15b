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


ALL_CONFIG = "all"
LICENSE_FILE = "LICENSE.md"
PIPELINE_FILE = "cqia_pipeline.yaml"

# Chinese descriptions of the nine fields (the English ones come from the Pydantic model).
FIELD_ZH = {
    "instruction": "指令：用户的请求或问题。",
    "input": "输入：可选的上下文，没有时为空字符串。",
    "output": "输出：回答。",
    "task_type": "任务类型：major（大类）与 minor（小类）标签。",
    "domain": "领域标签，例如 ['百科', '医疗']。",
    "metadata": "元数据：本发布中为 JSON，含记录 id、来源与出处（provenance）。",
    "answer_from": "回答来源：human（人写）或 llm（模型生成）。",
    "human_verified": "是否经人工审核：仅当有人确认过这对问答时为 true。",
    "copyright": "作者与版权信息。",
}


def card_metadata(configs: list[dict[str, Any]], *, pretty_name: str, dataset_license: str) -> dict[str, Any]:
    """The card's YAML: an `all` config (every Parquet file, the default, so `load_dataset(repo)`
    works like the original's full file) and one config per source."""
    total = sum(c["rows"] for c in configs)
    meta: dict[str, Any] = {"pretty_name": pretty_name, "language": ["zh"], "license": dataset_license}
    if dataset_license == "other":  # the Hub asks for a name and a link when the license is not listed
        meta["license_name"] = "cqia-per-source-licenses"
        meta["license_link"] = LICENSE_FILE
    meta.update({
        "task_categories": TASK_CATEGORIES,
        "size_categories": [size_category(total)],
        "configs": [
            {"config_name": ALL_CONFIG, "data_files": [{"split": "train", "path": "*/*.parquet"}], "default": True},
            *({"config_name": c["config"], "data_files": [{"split": "train", "path": f"{c['config']}/*.parquet"}]}
              for c in configs),
        ],
    })
    return meta


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
        "## 人工审核状态 · Human verification status",
        "",
        "只有在本项目审核流程中被人接受的记录（`verified_by: annotation`），或上游数据集标为已审核、"
        "本项目尚未复核的记录（`verified_by: upstream`，下表单列），才有 `human_verified: true`；"
        "被本项目审核者拒绝或有争议未决（held）的记录一律不是 `human_verified: true`。",
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
    lines = ["| field | 说明 | description |", "|---|---|---|"]
    for name, info in InstructionRecord.model_fields.items():
        lines.append(f"| `{name}` | {FIELD_ZH.get(name, '')} | {info.description or ''} |")
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


def _stage_summary(manifests: list[dict[str, Any]]) -> list[str]:
    """One row per stage (all sources); per-source rows follow in a folded block."""
    lines = ["| stage | in | kept | dropped | invalid | reasons |", "|---|---:|---:|---:|---:|---|"]
    for m in manifests:
        c = m["counts"]
        lines.append(f"| {m['stage']} | {c['in']} | {c['kept']} | {c['dropped_total']} | {c['invalid_total']} "
                     f"| {_fmt_counts({**c['dropped'], **c['invalid']})} |")
    return lines


def pipeline_file(manifests: list[dict[str, Any]], *, stage: str) -> str:
    """cqia_pipeline.yaml: every stage's parameters, code version, inputs and counts (the card links it).

    Input files appear by name, size and sha256 (not by the builder's local path)."""

    def inputs(m: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for i in m.get("inputs", []):
            if "path" in i:
                out.append({"file": str(i["path"]).replace("\\", "/").rsplit("/", 1)[-1],
                            **{k: v for k, v in i.items() if k != "path"}})
            else:
                out.append(i)
        return out

    doc = {
        "released_stage": stage,
        "stages": [
            {"stage": m["stage"], "code_version": m.get("code_version"), "params": m.get("params", {}),
             "inputs": inputs(m), "counts": m["counts"], "finished_at": m.get("timings", {}).get("finished_at")}
            for m in manifests
        ],
    }
    head = ("# cqia pipeline: every stage that produced this release, in run order, with its parameters,\n"
            "# code version, inputs (files by name + sha256, upstream stages by fingerprint) and counts\n"
            "# (in = kept + dropped + invalid, per reason and source).\n")
    # It quotes run manifests (inputs, parameters, reject reasons): publish no credential.
    return redact_text(head + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=110))


def license_file(configs: list[dict[str, Any]]) -> str:
    """LICENSE.md for `license: other`: each config's licenses as recorded per row."""
    lines = [
        "# 许可 · License",
        "",
        "本数据集汇集多个来源，各条记录沿用其来源的许可；每条记录的许可与作者见 `metadata.provenance`。",
        "",
        "This dataset combines several sources; every row keeps its source's license, recorded with its "
        "author in `metadata.provenance`. Reuse a row under the terms of its own license.",
        "",
        "| config | licenses (rows) |",
        "|---|---|",
        *[f"| {c['config']} | {_fmt_counts(c['licenses'])} |" for c in configs],
        "",
    ]
    return "\n".join(lines)


def _uses_lines(configs: list[dict[str, Any]], manifests: list[dict[str, Any]]) -> list[str]:
    """Uses, out-of-scope uses and limitations, with the figures that back them."""
    total = sum(c["rows"] for c in configs) or 1
    verified = sum(c["human_verified"] for c in configs)
    llm = sum(c["answer_from"].get("llm", 0) for c in configs)
    by_stage = {m["stage"]: m for m in manifests}
    decontaminated = bool(set(by_stage) & {"decontaminate", "decontam"})
    pii = (by_stage.get("clean", {}).get("params") or {}).get("pii") or {}
    if pii.get("detect") and pii.get("redact"):
        pii_line = (f"- Personal information is redacted by rules ({', '.join(pii.get('types', []))} to `<TYPE>` "
                    "placeholders); names and addresses are not. 个人信息按规则替换为占位符，姓名与地址未处理。")
    else:
        pii_line = "- Personal information was not redacted in this release. 本发布未做个人信息替换。"
    dedup = (by_stage.get("dedup") or {}).get("params") or {}
    if dedup.get("near"):
        folded = ", traditional and simplified script folded" if dedup.get("fold_script") else ""
        dedup_line = (f"- Near-duplicates are removed by MinHash ({dedup.get('shingle', 'char')} {dedup.get('ngram')}-grams, "
                      f"Jaccard {dedup.get('threshold')}{folded}); paraphrases below that similarity remain. "
                      "低于阈值的改写不会被去重。")
    elif dedup.get("exact"):
        dedup_line = "- Only exact duplicates were removed (no near-duplicate pass). 只去除了完全重复。"
    else:
        dedup_line = "- No deduplication ran for this release. 本发布未去重。"
    return [
        "## 用途与局限 · Uses and limitations",
        "",
        "**用途**：中文大模型的指令微调（SFT）；研究数据来源、清洗与人工审核对模型的影响；"
        "按来源子集（config）单独使用或组合。",
        "",
        "**Uses**: supervised fine-tuning (SFT) of Chinese language models; studying how sources, cleaning "
        "and human verification affect a model; using source configs alone or mixed.",
        "",
        "**不适用范围**：不可当作事实依据或权威参考；不可作评测基准"
        + ("" if decontaminated else "（本发布未做基准去污染）") + "；不可把 `human_verified: false` 的记录当作已审核；"
        "不可违反各条记录来源的许可使用。",
        "",
        "**Out of scope**: a source of facts or authoritative reference; an evaluation benchmark"
        + ("" if decontaminated else " (this release was not decontaminated against benchmarks)")
        + "; treating rows with `human_verified: false` as checked; any use a row's source license forbids.",
        "",
        "**局限 · Limitations**:",
        "",
        f"- {verified} / {total} rows ({verified / total:.1%}) are human-verified; the rest passed automatic "
        f"checks only. 人工审核覆盖 {verified / total:.1%}。",
        f"- {llm} rows ({llm / total:.1%}) have answers written by an LLM (`answer_from: llm`), which can be "
        "fluent and wrong. 由模型生成的回答可能流畅但有误。",
        pii_line,
        dedup_line,
        "- Sources reflect their communities (Zhihu, Douban, Xiaohongshu, Tieba...): opinions, cultural and "
        "temporal biases, and answers that were right when written. 来源社区的观点与时代偏差会保留在数据中。",
        "",
    ]


def render_card(
    configs: list[dict[str, Any]],
    manifests: list[dict[str, Any]],
    *,
    pretty_name: str,
    dataset_license: str,
    stage: str,
    figures: dict[str, str] | None = None,
) -> str:
    """README.md text: YAML front matter + a bilingual body (中文 first), from release stats, run
    manifests and the key report figures (`figures`: name -> path inside the release)."""
    figures = figures or {}
    meta = yaml.safe_dump(
        card_metadata(configs, pretty_name=pretty_name, dataset_license=dataset_license),
        allow_unicode=True, sort_keys=False,
    )
    verified = sum(c["human_verified"] for c in configs)
    total = sum(c["rows"] for c in configs)
    first = configs[0]["config"] if configs else "CONFIG"
    rejected = rejected_by_config(manifests)
    counts = _verification_counts(configs, rejected)

    def fig(name: str, alt: str) -> list[str]:
        return [f"![{alt}]({figures[name]})", ""] if name in figures else []

    license_note = (f"许可见 [{LICENSE_FILE}]({LICENSE_FILE})；每条记录的许可与作者见 `metadata.provenance`。"
                    if dataset_license == "other" else f"许可：`{dataset_license}`。")
    body = [
        f"# {pretty_name}",
        "",
        "## 简介 · Summary",
        "",
        "本数据集是用 `cqia` 工具按 COIG-CQIA 格式构建的中文指令微调数据：来自人写的中文来源，经过清洗、"
        "过滤、去重，部分记录经人工审核。"
        f"共 {total} 条，{len(configs)} 个来源子集（config）；{verified} 条 `human_verified: true`："
        f"本项目审核通过 {counts['verified_here']} 条，上游标为已审核、本项目未复核 {counts['upstream_verified']} 条。"
        f"未审核：待审 {counts['pending']} 条，有争议 {counts['held']} 条，未送审 {counts['unverified']} 条；"
        f"被拒绝的 {counts['rejected']} 条不发布。" + license_note,
        "",
        "Chinese instruction-tuning data in the COIG-CQIA format, built with the `cqia` toolkit from "
        "human-written sources, cleaned, filtered, deduplicated and (where marked) verified by people. "
        f"{total} rows in {len(configs)} configs; {verified} rows carry `human_verified: true`: "
        f"{counts['verified_here']} verified here by our annotators and {counts['upstream_verified']} "
        "upstream-verified rows nobody here has reviewed. Not verified: "
        f"{counts['pending']} pending review, {counts['held']} held (disputed), {counts['unverified']} not in "
        f"review; {counts['rejected']} rows people here rejected are not released.",
        "",
        VERIFICATION_RULE,
        "",
        *fig("funnel", "Records through each stage / 各阶段记录数"),
        "## 使用 · Usage",
        "",
        "```python",
        "from datasets import load_dataset",
        "ds = load_dataset(\"<repo-id>\", split=\"train\")  # config `all`（默认 default）: every config / 全部子集",
        f"one = load_dataset(\"<repo-id>\", \"{first}\", split=\"train\")  # one source config / 单个来源子集",
        "```",
        "",
        "## 子集 · Configs",
        "",
        f"`{ALL_CONFIG}`（默认）包含下列全部子集；`all` (the default) holds every config below.",
        "",
        *_config_table(configs),
        "",
        *fig("lengths_by_source", "Instruction and output length per config / 各子集长度分布"),
        *_review_lines(configs, rejected),
        "## 字段 · Fields",
        "",
        *_field_table(),
        "",
        "本发布中 `metadata` 是 JSON 对象：`cqia_id`（稳定的记录 id）、`source`、`source_metadata`（来源自带的元数据）"
        "和 `provenance`（来源 id、URL、抓取时间、原始输入的 sha256、许可、作者、输入位置）。",
        "",
        "In this release `metadata` is a JSON object: `cqia_id` (stable record id), `source`, "
        "`source_metadata` (the source's own metadata text) and `provenance` (source-native id, URL, "
        "fetch time, sha256 of the raw input, license, author, input location).",
        "",
        "## 来源与许可 · Sources and licenses",
        "",
        "| config | licenses (rows) | top domains | top task types |",
        "|---|---|---|---|",
        *[
            f"| {c['config']} | {_fmt_counts(c['licenses'])} | {_fmt_counts(c['domains'])} "
            f"| {_fmt_counts(c['task_major'])} |"
            for c in configs
        ],
        "",
        "每条记录在 `metadata.provenance` 中保留自己的许可与作者，复用时请遵守。"
        "Each row keeps its own license and author in `metadata.provenance`; respect them when reusing rows.",
        "",
        *_uses_lines(configs, manifests),
        "## 构建过程 · How the records were built, cleaned and verified",
        "",
        f"记录取自运行的 `{stage}` 阶段；各阶段参数、代码版本、输入与计数见 [{PIPELINE_FILE}]({PIPELINE_FILE})。",
        "",
        f"Rows come from stage `{stage}` of the run. Every stage's parameters, code version, inputs and counts "
        f"are in [{PIPELINE_FILE}]({PIPELINE_FILE}). Counts per stage (in = kept + dropped + invalid; dropped and "
        "invalid rows are kept in the run's rejects shards with their reason and input location):",
        "",
        *_stage_summary(manifests),
        "",
        *fig("drops_by_source", "Released and lost records per config, by reason / 各子集保留与剔除"),
        "<details><summary>每个阶段、每个来源 · Per stage and source</summary>",
        "",
        *_stage_lines(manifests),
        "",
        "</details>",
        "",
        "## 引用 · Citation",
        "",
        "```bibtex",
        CITATION,
        "```",
        "",
    ]
    # The card quotes run manifests (inputs, parameters, reject reasons): publish no credential.
    return redact_text(f"---\n{meta}---\n\n" + "\n".join(body))
