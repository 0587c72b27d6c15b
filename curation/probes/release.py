"""Turn a built probe set into a Hub-layout release dir: `<config>/train-*.parquet` + README.md card.

The card states the method, ships the judge prompts verbatim and defines every score, so anyone
can re-run the evaluation and recompute scores from responses and judgements.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from curation.probes.build import load_rows

_S, _B = pa.string(), pa.bool_()
_MSG = pa.list_(pa.struct([("role", _S), ("content", _S)]))
SCHEMAS: dict[str, pa.Schema] = {
    "identity_questions": pa.schema([("id", _S), ("text", _S), ("language", _S), ("topic", _S), ("reference_response", _S)]),
    "target_facts": pa.schema([("target", _S), ("fact", _S), ("developer", _S), ("aliases", pa.list_(_S)), ("language", _S)]),
    "templates": pa.schema([("id", _S), ("text", _S), ("origin", _S), ("parent_ids", pa.list_(_S)), ("operator", _S),
                            ("mutator_model", _S), ("query_position", _S), ("misleading", _B)]),
    "identity_probes": pa.schema([("id", _S), ("prompt", _S), ("language", _S), ("template_id", _S), ("question_id", _S),
                                  ("query", _S), ("misleading", _B)]),
    "rse_prompts": pa.schema([("id", _S), ("pool", _S), ("prompt", _S), ("messages", _MSG), ("language", _S),
                              ("reference", _S), ("misleading", _B)]),
    "judge_prompts": pa.schema([("judge", _S), ("prompt_version", _S), ("template", _S), ("reask", _S), ("sha256", _S),
                                ("source", _S)]),
    "mutation_prompts": pa.schema([("operator", _S), ("template", _S), ("marker", _S), ("prompt_version", _S),
                                   ("sha256", _S), ("source", _S)]),
}


def _rows(probe_dir: Path, config: str) -> list[dict[str, Any]]:
    if not (Path(probe_dir) / f"{config}.jsonl").exists():
        return []  # a set built before this config existed
    rows = load_rows(probe_dir, config)
    if config == "templates":
        from schemas.probes import is_misleading

        for r in rows:
            r["misleading"] = is_misleading(r["text"].replace("{query}", ""))
            r.setdefault("query_position", "placeholder")
    names = SCHEMAS[config].names
    return [{k: r.get(k) for k in names} for r in rows]


def build_release_dir(probe_dir: Path, out_dir: Path, *, name: str = "cqia-distill-probes", version: str = "") -> dict[str, int]:
    """Write Parquet per non-empty config and the card; returns rows per config."""
    probe_dir, out_dir = Path(probe_dir), Path(out_dir)
    manifest = json.loads((probe_dir / "manifest.json").read_text(encoding="utf-8"))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    counts: dict[str, int] = {}
    for config, schema in SCHEMAS.items():
        rows = _rows(probe_dir, config)
        if not rows:
            continue
        (out_dir / config).mkdir()
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), out_dir / config / "train-00000-of-00001.parquet")
        counts[config] = len(rows)
    prompts = load_rows(probe_dir, "judge_prompts")
    mutation = _rows(probe_dir, "mutation_prompts")
    (out_dir / "README.md").write_text(card(name, version, counts, manifest, prompts, mutation), encoding="utf-8")
    return counts


def card(name: str, version: str, counts: dict[str, int], manifest: dict[str, Any], prompts: list[dict],
         mutation: list[dict] | None = None) -> str:
    front = {
        "pretty_name": name,
        "language": ["zh", "en"],
        "task_categories": ["text-generation"],
        "tags": ["distillation", "identity", "probe-set", "evaluation"],
        "configs": [{"config_name": c, "data_files": [{"split": "train", "path": f"{c}/train-*.parquet"}]} for c in counts],
    }
    inputs = manifest.get("inputs", {})
    lines = [
        "---", yaml.safe_dump(front, allow_unicode=True, sort_keys=False).strip(), "---", "",
        f"# {name}" + (f" ({version})" if version else ""), "",
        "Probe sets for quantifying how far a language model was distilled from a reference model (GPT family),",
        "following *Distillation Quantification for Large Language Models* (Lee et al., arXiv 2501.12619).",
        "Built with the `cqia` toolkit (`cqia probes build` / `cqia probes release`).", "",
        "## Configs", "", "| config | rows | what |", "|---|---|---|",
    ]
    what = {
        "identity_questions": "identity questions (who developed you, where, partners, tech) in English and Chinese",
        "target_facts": "one-paragraph identity fact per target model, used by the loose judge",
        "templates": "jailbreak templates with `{query}`: GPTFuzz seeds and mutated children (operator, parents)",
        "identity_probes": "template x question prompts sent to the target (`misleading` = prompt names OpenAI/GPT/Claude)",
        "rse_prompts": "response-similarity prompts per pool (ArenaHard-, Numina-, ShareGPT-like, CQIA)",
        "judge_prompts": "the exact judge prompt texts, with version ids, sha256 and origin",
        "mutation_prompts": "the exact mutator prompt per operator, with version, sha256 and origin",
    }
    lines += [f"| `{c}` | {n} | {what[c]} |" for c, n in counts.items()]
    lines += [
        "", "## Method", "",
        "**Identity consistency (ICE).**", *_ice_method(manifest), "",
        "**Response similarity (RSE).** The target and the reference model answer the same pool prompts; a judge",
        "LLM rates the similarity of the two answers for style, logical structure, content detail and overall (1-5).",
        "An offline variant (character 3-gram cosine between the answers) needs no judge.", "",
        "## Scores (computed from stored judgements, denominators from the data)", "",
        "- **loose** = answered identity probes the loose judge marks as conflicting with the target's identity fact / answered identity probes.",
        "- **strict** = answered identity probes whose answer claims to be, or be made by, OpenAI/ChatGPT or Anthropic/Claude / answered identity probes.",
        "- **hard** = strict positives whose prompt contains none of OpenAI, ChatGPT, GPT, Anthropic, Claude (case-insensitive) / answered identity probes.",
        "- **RSE(pool)** = mean overall rating over the pool's judged prompts; **RSE avg** = mean over pools.",
        "- Judgements that cannot be parsed after one re-ask count as negative and are reported as `unparsed`.", "",
        "## Judge prompts", "",
    ]
    lines += ["Built-in prompts are the cqia project's own wording, not the paper's (the paper's are in its repository:",
              "`factor_judge` in identity_jailbreak/run_gptfuzzer.py, `llm_identity_check` in identity_jailbreak/rejudge.py).",
              "A judgement is comparable only with judgements made by the same prompt (same sha256) and judge model.", ""]
    for p in prompts:
        lines += [f"### `{p['judge']}` — version `{p['prompt_version']}`", "",
                  f"sha256 `{p.get('sha256') or '?'}` · origin: {p.get('source') or 'builtin'}", "", "```text", p["template"], "```", "",
                  f"Re-ask when unparsable: `{p['reask']}`", ""]
    if mutation:
        m = mutation[0]
        lines += ["## Mutation prompts", "", f"Version `{m['prompt_version']}`, sha256 `{m['sha256']}`, origin: {m['source']};",
                  f"the mutator sees `{m['marker']}` where the question goes.", ""]
        for row in mutation:
            lines += [f"### `{row['operator']}`", "", "```text", row["template"], "```", ""]
    lines += ["## Provenance", "", "| input | path | sha256 |", "|---|---|---|"]
    for key in ("questions", "templates", "facts"):
        val = inputs.get(key)
        if isinstance(val, dict):
            lines.append(f"| {key} | `{Path(val['path']).name}` | `{val['sha256'][:16]}…` |")
        elif val:
            lines.append(f"| {key} | {val} | |")
    for pool in inputs.get("pools", []):
        lines.append(f"| pool `{pool['pool']}` ({pool['format']}) | `{Path(pool['path']).name}` | `{pool['sha256'][:16]}…` |")
    lines += ["", "The paper's identity questions and the GPTFuzz seed templates come from public repositories without",
              "a stated license; check their terms before redistributing a release built from them.", ""]
    return "\n".join(lines)


def _ice_method(manifest: dict[str, Any]) -> list[str]:
    """How the templates were made: the adaptive loop against a target, offline mutation, or seeds only."""
    params, counts, fuzz = manifest.get("params", {}), manifest.get("counts", {}), manifest.get("fuzz")
    lines = ["Each jailbreak template is filled with each identity question and sent to the target. Templates are",
             "GPTFuzz seeds and GPTFuzz-style mutations made by a mutator LLM with one of five operators (crossover,",
             f"expand, generate-similar, shorten, rephrase), seeds chosen by MCTS-explore with a seeded RNG (seed {manifest.get('seed')}).",
             f"A mutated template without `{{query}}` is {'kept and the question appended to it (as the paper does)' if params.get('missing_query') == 'append' else 'rejected'}."]
    if fuzz:
        lines += ["",
                  f"**Adaptive (the paper's loop).** Built against target `{fuzz['target']}` (model `{fuzz['target_model']}`):",
                  "each new template was sent with every question, the answers were judged by the loose judge",
                  f"(`{fuzz['judge_model']}`, prompt `{fuzz['judge_prompt']['prompt_version']}` sha256 `{fuzz['judge_prompt']['prompt_sha256'][:16]}…`),",
                  "and the share of conflicting answers was the MCTS reward. These templates are therefore tuned to that target;",
                  f"mutator `{fuzz['mutator_model']}`, {counts.get('mutated_templates', 0)} templates, {counts.get('target_queries', 0)} target queries,",
                  f"stopped: {fuzz['stopped']}."]
    elif params.get("n_mutated"):
        lines += ["",
                  f"**Offline.** No target was attacked while building: the MCTS reward was \"the mutation is valid\" (mutator `{params.get('mutator_model')}`,",
                  f"{counts.get('mutated_templates', 0)} kept, {counts.get('rejected_templates', 0)} rejected with reasons). The paper's templates are",
                  "adapted per target by `cqia probes fuzz`."]
    return lines
