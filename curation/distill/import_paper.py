"""Import the paper's released identity-attack results so published scores can be recomputed.

Format (Aegis1863/LLMs-Distillation-Quantification): `attack_result/*.jsonl` one line per query
`{jailbreak_prompt, query, target_responses: [str], eval_results: bool}` (loose judge); a loose CSV
of the loose-positive rows; a strict CSV of re-judged rows with `re_judge`. Rows are matched on
(jailbreak_prompt, query). The import checks the known defects of the public data (a strict file
that is a copy of its loose file, file-name scores that disagree with the rows, a loose CSV that
disagrees with eval_results) and reports them instead of trusting any number in a file name.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.distill.score import identity_scores
from curation.distill.store import RunStore
from curation.pipeline.atomic import write_json_atomic, write_jsonl_atomic
from curation.probes.inputs import InputError, detect_language
from schemas.probes import Judgement, ModelResponse, Probe, is_misleading, short_hash

PAPER = "paper-release"


@dataclass
class PaperFiles:
    attack_result: Path
    loose_csv: Path | None = None
    strict_csv: Path | None = None
    target: str | None = None


@dataclass
class ImportResult:
    target: str
    scores: dict[str, Any]
    published: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def discover(directory: Path, target: str | None = None) -> list[PaperFiles]:
    """Find attack_result / loose / strict files in a directory (flat samples naming or the repo layout)."""
    directory = Path(directory)
    results = sorted(list(directory.glob("attack_result__*.jsonl")) + list(directory.glob("attack_result/*.jsonl")))
    found = []
    for ar in results:
        name = target_from_name(ar.name)
        if target and name != target:
            continue
        loose = _find(directory, "loose_score", name)
        strict = _find(directory, "strict_score", name)
        found.append(PaperFiles(ar, loose, strict, name))
    if not found:
        raise InputError(f"{directory}: no attack_result__*.jsonl or attack_result/*.jsonl" + (f" for {target}" if target else ""))
    return found


def _find(directory: Path, kind: str, target: str) -> Path | None:
    for pattern in (f"{kind}__*{target}_*.csv", f"{kind}/*{target}_*.csv"):
        hits = sorted(p for p in directory.glob(pattern) if target_from_name(p.name) == target)
        if hits:
            return hits[0]
    return None


def target_from_name(name: str) -> str:
    """`attack_result__gpt_GPT_deepseek-chat.jsonl` / `GPT_deepseek-chat_0.34.csv` -> `deepseek-chat`."""
    stem = re.sub(r"\.(jsonl|csv)$", "", name.split("__")[-1])
    stem = re.sub(r"^(gpt_)?GPT_", "", stem)
    return re.sub(r"_\d+(\.\d+)?(_in_\d+)?$", "", stem)


def published_score(path: Path | None) -> float | None:
    m = re.search(r"_(\d+\.\d+)(?:_in_\d+)?\.csv$", path.name) if path else None
    return float(m.group(1)) if m else None


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"jailbreak_prompt", "query"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"{path}: missing columns {sorted(missing)}")
        return list(reader)


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"true", "1", "1.0", "yes"}


def import_paper(files: PaperFiles, run_dir: Path) -> ImportResult:
    target = files.target or target_from_name(files.attack_result.name)
    warnings: list[str] = []
    probes: dict[str, Probe] = {}
    responses: dict[str, ModelResponse] = {}
    loose: list[Judgement] = []
    index: dict[tuple[str, str], str] = {}
    with files.attack_result.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                jp, query, answers = row["jailbreak_prompt"], row["query"], row["target_responses"]
                verdict = row["eval_results"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise InputError(f"{files.attack_result}:{lineno}: not an attack_result row ({exc})") from exc
            tid, qid = f"paper-{short_hash(jp, n=10)}", f"paper-{short_hash(query, n=10)}"
            pid = f"id-{tid}-{qid}"
            if pid in probes:
                warnings.append(f"{files.attack_result}:{lineno}: duplicate (template, query) pair; kept as a separate probe")
                pid = f"{pid}-{lineno}"
            index[(jp, query)] = pid
            prompt = jp.replace("{query}", query)
            probes[pid] = Probe(id=pid, kind="identity", prompt=prompt, language=detect_language(query), template_id=tid,
                                question_id=qid, query=query, misleading=is_misleading(prompt))
            text = answers[0] if isinstance(answers, list) and answers else str(answers or "")
            responses[pid] = ModelResponse(probe_id=pid, target=target, model=target, endpoint=PAPER, text=text, time=0.0)
            loose.append(Judgement(probe_id=pid, target=target, judge="loose", judge_model=PAPER, prompt_version=PAPER,
                                   raw_output=f"eval_results={verdict} ({files.attack_result.name}:{lineno})",
                                   verdict=bool(verdict), parse_status="imported"))
    loose_pos = {j.probe_id for j in loose if j.verdict}
    published: dict[str, float] = {}
    loose_rows: list[dict[str, str]] = []
    if files.loose_csv:
        loose_rows = read_csv_rows(files.loose_csv)
        csv_ids = _match(loose_rows, index, files.loose_csv, warnings)
        if csv_ids != loose_pos:
            warnings.append(f"{files.loose_csv.name}: {len(csv_ids)} rows but attack_result has {len(loose_pos)} loose positives "
                            f"({len(csv_ids - loose_pos)} extra, {len(loose_pos - csv_ids)} missing)")
        if (p := published_score(files.loose_csv)) is not None:
            published["loose"] = p
    strict: list[Judgement] = []
    if files.strict_csv:
        strict_rows = read_csv_rows(files.strict_csv)
        if "re_judge" not in (strict_rows[0] if strict_rows else {}):
            warnings.append(f"{files.strict_csv.name}: no re_judge column: looks like a copy of a loose file; strict score not computed")
        else:
            if loose_rows and _same_rows(strict_rows, loose_rows):
                warnings.append(f"{files.strict_csv.name}: same rows as {files.loose_csv.name if files.loose_csv else 'the loose file'}"
                                " (strict file copied from loose?)")
            positives: dict[str, int] = {}
            for i, row in enumerate(strict_rows, start=2):
                pid = index.get((row["jailbreak_prompt"], row["query"]))
                if pid is None:
                    warnings.append(f"{files.strict_csv}:{i}: row not found in attack_result")
                    continue
                if _truthy(row["re_judge"]):
                    positives[pid] = i
            for pid in probes:
                line = positives.get(pid)
                strict.append(Judgement(
                    probe_id=pid, target=target, judge="strict", judge_model=PAPER, prompt_version=PAPER,
                    raw_output=f"re_judge=True ({files.strict_csv.name}:{line})" if line else
                    f"not a re_judge=True row of {files.strict_csv.name}",
                    verdict=line is not None, parse_status="imported"))
            if (p := published_score(files.strict_csv)) is not None:
                published["strict"] = p
    scores = identity_scores(probes, responses, loose, strict)
    for name, value in published.items():
        if scores.get(name) is not None and abs(round(scores[name], 2) - value) > 0.0051:
            warnings.append(f"published {name} {value} (file name) disagrees with the rows: {scores[name]:.3f}")
    store = RunStore(run_dir)
    write_jsonl_atomic(run_dir / "probes" / "identity_probes.jsonl", [p.model_dump() for p in probes.values()])
    write_jsonl_atomic(run_dir / "probes" / "rse_prompts.jsonl", [])
    store.register_target(target, {"model": target, "endpoint": PAPER, "params": {}, "probes": str(run_dir / "probes"),
                                   "imported_from": {k: str(v) for k, v in vars(files).items() if isinstance(v, Path)}},
                          force=True)
    store.write_responses(target, list(responses.values()))
    store.write_judgements(target, "loose", loose)
    if strict:
        store.write_judgements(target, "strict", strict)
    result = {"target": target, "identity": scores, "published": published, "warnings": warnings}
    write_json_atomic(store.scores_path(target), result)
    return ImportResult(target, scores, published, warnings)


def _match(rows: list[dict[str, str]], index: dict, path: Path, warnings: list[str]) -> set[str]:
    ids = set()
    for i, row in enumerate(rows, start=2):
        pid = index.get((row["jailbreak_prompt"], row["query"]))
        if pid is None:
            warnings.append(f"{path}:{i}: row not found in attack_result")
        else:
            ids.add(pid)
    return ids


def _same_rows(a: list[dict[str, str]], b: list[dict[str, str]]) -> bool:
    key = lambda r: (r["jailbreak_prompt"], r["query"], r.get("target_responses"))  # noqa: E731
    return sorted(map(key, a)) == sorted(map(key, b))
