"""Import the paper's released identity-attack results so published scores can be recomputed.

Format (Aegis1863/LLMs-Distillation-Quantification, `identity_jailbreak/data/`):
`attack_result/*.jsonl` one line per query `{jailbreak_prompt, query, target_responses: [str],
eval_results: bool}` (the loose judge); `loose_score/*.csv` the loose-positive rows;
`strict_score/*.csv` the loose positives re-judged by the strict judge, with a `re_judge` column.
Rows are matched on (jailbreak_prompt, query).

The released names do not agree with each other (`gpt_GPT_Phi4.jsonl` vs `GPT_phi-4_0.22.csv`,
`llama3.1` vs `llama-3.1`, `gemini-2.0-flash-exp` vs `gemini-2.0-flash`, `GPT_GPT_deepseek-r1` vs
`deepseek-r1_0.292.csv`), so files are paired leniently by name (case, separators, eval-model
prefixes, an `-exp` suffix) and every pairing is checked against the rows: a CSV is paired with an
attack_result only if all its rows are in it. A CSV whose name matches nothing is paired by its rows
when exactly one attack_result holds them all. Every pairing says how it was made; every unpaired
file says why. The known defects of the public data (a strict file that is a copy of its loose file,
file-name scores that disagree with the rows, the hard score without code) are reported, and the
scores are always computed from the rows.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from curation.distill.score import identity_scores
from curation.distill.stats import round_half_up
from curation.distill.store import RunStore
from curation.pipeline.atomic import write_json_atomic, write_jsonl_atomic
from curation.probes.inputs import InputError, detect_language
from schemas.probes import QUERY_PLACEHOLDER, Judgement, ModelResponse, Probe, is_misleading, short_hash

PAPER = "paper-release"
KINDS = ("attack_result", "loose", "strict")
_SUBDIRS = {"attack_result": "attack_result", "loose_score": "loose", "strict_score": "strict"}


# ------------------------------------------------------------------ names


def target_from_name(name: str) -> str:
    """`attack_result__gpt_GPT_deepseek-chat.jsonl`, `GPT_GPT_deepseek-r1.jsonl`, `GPT_phi-4_0.14.csv`,
    `deepseek-r1_0.292.csv` -> the target name (eval-model/reference prefixes and the score suffix removed)."""
    stem = re.sub(r"\.(jsonl|csv)$", "", name, flags=re.I).split("__")[-1]
    stem = re.sub(r"^(?:gpt_)+", "", stem, flags=re.I)
    return re.sub(r"_\d+(?:\.\d+)?(?:_in_\d+)?$", "", stem)


def match_key(target: str) -> str:
    """Lenient identity of a target name: case, separators and a trailing -exp/-preview/-latest ignored."""
    t = re.sub(r"[-_.](exp|preview|latest)$", "", target.strip().lower())
    return re.sub(r"[-_.\s]+", "", t)


def published_score(path: Path | None) -> str | None:
    """The score written in a loose/strict file name (`GPT_x_0.34.csv`, `GPT_x_0.24_in_1000.csv`), as printed."""
    m = re.search(r"_(\d+\.\d+)(?:_in_\d+)?\.csv$", path.name) if path else None
    return m.group(1) if m else None


def kind_of(path: Path) -> str | None:
    name = path.name
    for prefix, kind in (("attack_result__", "attack_result"), ("loose_score__", "loose"), ("strict_score__", "strict")):
        if name.startswith(prefix):
            return kind
    kind = _SUBDIRS.get(path.parent.name)
    if kind == "attack_result" and path.suffix == ".jsonl" or kind in ("loose", "strict") and path.suffix == ".csv":
        return kind
    return None


# ------------------------------------------------------------------ reading


def read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        missing = {"jailbreak_prompt", "query"} - set(fields)
        if missing:
            raise InputError(f"{path}: missing columns {sorted(missing)} (not a released loose/strict file)")
        return fields, list(reader)


@dataclass
class AttackRows:
    """One attack_result file, parsed: rows in file order and an index (prompt, query) -> row number."""

    path: Path
    rows: list[dict[str, Any]]
    index: dict[tuple[str, str], int]

    @classmethod
    def read(cls, path: Path) -> AttackRows:
        rows: list[dict[str, Any]] = []
        index: dict[tuple[str, str], int] = {}
        with path.open(encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    jp, query, answers, verdict = (row["jailbreak_prompt"], row["query"], row["target_responses"],
                                                   row["eval_results"])
                    if not isinstance(jp, str) or not isinstance(query, str):
                        raise TypeError("jailbreak_prompt and query must be strings")
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise InputError(f"{path}:{lineno}: not an attack_result row ({exc})") from exc
                rows.append({"jp": jp, "query": query, "answers": answers, "verdict": verdict, "line": lineno})
                index.setdefault((jp, query), len(rows) - 1)
        return cls(path, rows, index)

    def holds(self, csv_rows: list[dict[str, str]]) -> int:
        """How many CSV rows are rows of this file (same prompt, query and answers)."""
        found = 0
        for r in csv_rows:
            i = self.index.get((r["jailbreak_prompt"], r["query"]))
            if i is not None and _same_answer(self.rows[i]["answers"], r.get("target_responses")):
                found += 1
        return found


def _same_answer(answers: Any, cell: str | None) -> bool:
    if cell is None:
        return True
    first = answers[0] if isinstance(answers, list) and answers else answers
    return cell == str(answers) or cell == str(first)


# ------------------------------------------------------------------ discovery


@dataclass
class PaperFiles:
    attack_result: Path
    loose_csv: Path | None = None
    strict_csv: Path | None = None
    target: str | None = None
    how: dict[str, str] = field(default_factory=dict)  # kind -> how the file was paired


@dataclass
class Unpaired:
    path: Path
    kind: str
    target: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"file": str(self.path), "kind": self.kind, "target": self.target, "reason": self.reason}


@dataclass
class Discovery:
    pairs: list[PaperFiles]
    unpaired: list[Unpaired]


def _candidates(directory: Path) -> list[Path]:
    files = [p for p in directory.iterdir() if p.is_file()]
    for sub in _SUBDIRS:
        if (directory / sub).is_dir():
            files += [p for p in (directory / sub).iterdir() if p.is_file()]
    return sorted(p for p in files if p.suffix in (".jsonl", ".csv"))


def discover(directory: Path, target: str | None = None) -> Discovery:
    """Pair attack_result / loose / strict files of a directory (flat `attack_result__…` names or the repo's
    `attack_result/`, `loose_score/`, `strict_score/` folders). `target` keeps only that target's pairs."""
    directory = Path(directory)
    unpaired: list[Unpaired] = []
    by_kind: dict[str, list[Path]] = {k: [] for k in KINDS}
    for path in _candidates(directory):
        kind = kind_of(path)
        if kind is None:
            unpaired.append(Unpaired(path, "other", "", "not a released result file (expected attack_result/, "
                                                        "loose_score/ or strict_score/ names)"))
        else:
            by_kind[kind].append(path)
    attacks: dict[str, tuple[Path, AttackRows]] = {}
    for path in by_kind["attack_result"]:
        key = match_key(target_from_name(path.name))
        if key in attacks:
            unpaired.append(Unpaired(path, "attack_result", target_from_name(path.name),
                                     f"a second attack_result for the same target (kept {attacks[key][0].name})"))
            continue
        attacks[key] = (path, AttackRows.read(path))
    pairs = {key: PaperFiles(path, target=target_from_name(path.name), how={"attack_result": "found"})
             for key, (path, _) in attacks.items()}
    for kind in ("loose", "strict"):
        for path in by_kind[kind]:
            _pair_csv(path, kind, attacks, pairs, unpaired)
    found = list(pairs.values())
    if target:
        found = [p for p in found if match_key(p.target or "") == match_key(target)]
        unpaired = [u for u in unpaired if match_key(u.target) == match_key(target)]
    if not found:
        raise InputError(f"{directory}: no attack_result__*.jsonl or attack_result/*.jsonl" + (f" for {target}" if target else "")
                         + "".join(f"\n  unpaired {u.path.name}: {u.reason}" for u in unpaired))
    return Discovery(sorted(found, key=lambda p: (p.target or "").lower()), unpaired)


def _pair_csv(path: Path, kind: str, attacks: dict[str, tuple[Path, AttackRows]], pairs: dict[str, PaperFiles],
              unpaired: list[Unpaired]) -> None:
    name = target_from_name(path.name)
    key = match_key(name)
    try:
        _, rows = read_csv_rows(path)
    except InputError as exc:
        unpaired.append(Unpaired(path, kind, name, str(exc)))
        return
    if key in attacks:
        ar_path, ar = attacks[key]
        held = ar.holds(rows)
        if held < len(rows):
            unpaired.append(Unpaired(path, kind, name, f"its name matches {ar_path.name} but {len(rows) - held} of "
                                                       f"{len(rows)} rows are not rows of that file"))
            return
        ar_target = target_from_name(ar_path.name)
        how = "same name" if name == ar_target else f"name {name!r} ~ {ar_target!r} (case/separators/suffix ignored)"
        how += f"; all {len(rows)} rows found in it"
    else:
        if not rows:
            unpaired.append(Unpaired(path, kind, name, f"no attack_result named like {name!r}, and the file has no rows "
                                                       "to pair it by content"))
            return
        holders = [(k, p, a.holds(rows)) for k, (p, a) in attacks.items()]
        full = [(k, p) for k, p, h in holders if h == len(rows)]
        if len(full) != 1:
            best = max(holders, key=lambda t: t[2], default=None)
            detail = (f"best overlap {best[2]}/{len(rows)} rows with {best[1].name}" if best and best[2]
                      else "none of its rows is in any of them")
            if len(full) > 1:
                detail = f"its rows are in {len(full)} attack_result files ({', '.join(p.name for _, p in full)})"
            unpaired.append(Unpaired(path, kind, name, f"no attack_result for target {name!r} in this folder; {detail}"))
            return
        key = full[0][0]
        how = f"by content: all {len(rows)} rows are in {full[0][1].name} (name {name!r} matches no attack_result)"
    pf = pairs[key]
    current = pf.loose_csv if kind == "loose" else pf.strict_csv
    if current is not None:
        # keep the one whose name matches exactly, else the first; the other is named with the reason
        if target_from_name(current.name) != pf.target and name == pf.target:
            unpaired.append(Unpaired(current, kind, target_from_name(current.name),
                                     f"a second {kind} file for {pf.target} (kept {path.name})"))
        else:
            unpaired.append(Unpaired(path, kind, name, f"a second {kind} file for {pf.target} (kept {current.name})"))
            return
    if kind == "loose":
        pf.loose_csv = path
    else:
        pf.strict_csv = path
    pf.how[kind] = how


# ------------------------------------------------------------------ published figures


def paper_figures() -> dict[str, Any]:
    data = yaml.safe_load(resources.files("curation.data.probes").joinpath("paper_figures.yaml").read_text(encoding="utf-8"))
    return data


def figures_for(target: str) -> dict[str, Any] | None:
    figs = paper_figures()
    for name, entry in figs["models"].items():
        if match_key(name) == match_key(target):
            return {"name": name, **entry}
    return None


def compare_published(target: str, scores: dict[str, Any], file_names: dict[str, str]) -> list[dict[str, Any]]:
    """One row per published figure for this target: where it is printed, the value, the recomputed
    value rounded half-up to the same precision, and whether they agree."""
    rows = []
    published: list[tuple[str, str, str]] = [(m, "file name", v) for m, v in file_names.items()]
    fig = figures_for(target)
    if fig:
        published += [(m, "paper Figure 2", v) for m, v in (fig.get("figure2") or {}).items()]
        published += [(m, "paper table (base vs instruct)", v) for m, v in (fig.get("table") or {}).items()]
    n = scores.get("n") or 0
    for metric, source, value in published:
        k = scores.get(f"{metric}_positive")
        row: dict[str, Any] = {"metric": metric, "source": source, "published": value,
                               "recomputed": scores.get(metric), "positives": k, "n": n}
        if scores.get(metric) is None or not n:
            row.update(rounded=None, agrees=None)
        else:
            places = len(value.split(".")[1]) if "." in value else 0
            rounded = round_half_up(k, n, places)
            row.update(rounded=str(rounded), agrees=rounded == Decimal(value))
        rows.append(row)
    return rows


# ------------------------------------------------------------------ import


@dataclass
class ImportResult:
    target: str
    scores: dict[str, Any]
    published: dict[str, str] = field(default_factory=dict)
    comparison: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: dict[str, str | None] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    query_appended: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "files": self.files, "pairing": self.how, "scores": self.scores,
                "published": self.published, "comparison": self.comparison, "warnings": self.warnings,
                "query_appended": self.query_appended}


def render_prompt(jailbreak_prompt: str, query: str) -> str:
    """What the target saw: the paper's attack puts the question at `{query}`, or appends it directly
    (no separator) when the mutated template lost the placeholder (Gptfuzzer_Identity.attack)."""
    if QUERY_PLACEHOLDER in jailbreak_prompt:
        return jailbreak_prompt.replace(QUERY_PLACEHOLDER, query)
    return jailbreak_prompt + query


def import_paper(files: PaperFiles, run_dir: Path) -> ImportResult:
    target = files.target or target_from_name(files.attack_result.name)
    warnings: list[str] = []
    ar = AttackRows.read(files.attack_result)
    probes: dict[str, Probe] = {}
    responses: dict[str, ModelResponse] = {}
    loose: list[Judgement] = []
    index: dict[tuple[str, str], str] = {}
    appended = 0
    for row in ar.rows:
        jp, query, answers, verdict, lineno = row["jp"], row["query"], row["answers"], row["verdict"], row["line"]
        tid, qid = f"paper-{short_hash(jp, n=10)}", f"paper-{short_hash(query, n=10)}"
        pid = f"id-{tid}-{qid}"
        if pid in probes:
            warnings.append(f"{files.attack_result}:{lineno}: duplicate (template, query) pair; kept as a separate probe")
            pid = f"{pid}-{lineno}"
        index.setdefault((jp, query), pid)
        if QUERY_PLACEHOLDER not in jp:
            appended += 1
        prompt = render_prompt(jp, query)
        probes[pid] = Probe(id=pid, kind="identity", prompt=prompt, language=detect_language(query), template_id=tid,
                            question_id=qid, query=query, misleading=is_misleading(prompt))
        text = answers[0] if isinstance(answers, list) and answers else str(answers or "")
        responses[pid] = ModelResponse(probe_id=pid, target=target, model=target, endpoint=PAPER, text=text, time=0.0)
        loose.append(Judgement(probe_id=pid, target=target, judge="loose", judge_model=PAPER, prompt_version=PAPER,
                               raw_output=f"eval_results={verdict} ({files.attack_result.name}:{lineno})",
                               verdict=_truthy(verdict), parse_status="imported"))
    loose_pos = {j.probe_id for j in loose if j.verdict}
    published: dict[str, str] = {}
    loose_rows: list[dict[str, str]] = []
    if files.loose_csv:
        _, loose_rows = read_csv_rows(files.loose_csv)
        csv_ids = _match(loose_rows, index, files.loose_csv, warnings)
        if csv_ids != loose_pos:
            warnings.append(f"{files.loose_csv.name}: {len(csv_ids)} rows but attack_result has {len(loose_pos)} loose positives "
                            f"({len(csv_ids - loose_pos)} extra, {len(loose_pos - csv_ids)} missing)")
        if (p := published_score(files.loose_csv)) is not None:
            published["loose"] = p
    else:
        warnings.append("no loose_score file paired: the loose score comes from eval_results alone")
    strict: list[Judgement] | None = None
    if files.strict_csv:
        strict = _strict_judgements(files, target, index, loose_pos, loose_rows, warnings)
        if strict is not None and (p := published_score(files.strict_csv)) is not None:
            published["strict"] = p
    else:
        warnings.append("no strict_score file paired: strict and hard not computed")
    scope = "loose-positives" if strict is not None else None
    scores = identity_scores(probes, responses, loose, strict or [], strict_scope=scope)
    comparison = compare_published(target, scores, published)
    for row in comparison:
        if row["agrees"] is False:
            warnings.append(f"published {row['metric']} {row['published']} ({row['source']}) disagrees with the rows: "
                            f"{row['positives']}/{row['n']} = {row['recomputed']:.3f}")
    _store(run_dir, target, files, probes, responses, loose, strict, published, warnings)
    result = ImportResult(target, scores, published, comparison, warnings,
                          {k: str(v) if v else None for k, v in (("attack_result", files.attack_result),
                                                                 ("loose", files.loose_csv), ("strict", files.strict_csv))},
                          dict(files.how), appended)
    write_json_atomic(RunStore(run_dir).scores_path(target), {
        "target": target, "model": target, "identity": scores, "published": published, "comparison": comparison,
        "paper": figures_for(target), "warnings": warnings, "judges": _judges_meta(scope),
        "imported": {"files": result.files, "pairing": result.how, "query_appended": appended},
    })
    return result


def _strict_judgements(files: PaperFiles, target: str, index: dict[tuple[str, str], str], loose_pos: set[str],
                       loose_rows: list[dict[str, str]], warnings: list[str]) -> list[Judgement] | None:
    """Strict verdicts for the loose positives (the paper re-judged only those); None when the file
    cannot be a strict file (no `re_judge` column)."""
    assert files.strict_csv is not None
    fields, strict_rows = read_csv_rows(files.strict_csv)
    if "re_judge" not in fields:
        copy = loose_rows and _same_rows(strict_rows, loose_rows)
        warnings.append(f"{files.strict_csv.name}: no re_judge column: "
                        + ("same rows as the loose file, i.e. a copy of a loose file" if copy else "not a re-judged file")
                        + "; strict and hard not computed")
        return None
    if loose_rows and strict_rows and _same_rows(strict_rows, loose_rows):
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
    outside = [pid for pid in positives if pid not in loose_pos]
    if outside:
        warnings.append(f"{files.strict_csv.name}: {len(outside)} strict positives are not loose positives "
                        "(the paper re-judged only loose positives)")
    out = []
    for pid in sorted(loose_pos | set(positives)):
        line = positives.get(pid)
        out.append(Judgement(
            probe_id=pid, target=target, judge="strict", judge_model=PAPER, prompt_version=PAPER,
            raw_output=f"re_judge=True ({files.strict_csv.name}:{line})" if line else
            f"loose positive not among the re_judge=True rows of {files.strict_csv.name}",
            verdict=line is not None, parse_status="imported"))
    return out


def _judges_meta(strict_scope: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"loose": {"model": PAPER, "prompt": "paper release (eval_results of attack_result)",
                                      "prompt_sha256": None, "scope": "all"}}
    if strict_scope:
        meta["strict"] = {"model": PAPER, "prompt": "paper release (re_judge of strict_score)", "prompt_sha256": None,
                          "scope": strict_scope}
    return meta


def _store(run_dir: Path, target: str, files: PaperFiles, probes: dict[str, Probe], responses: dict[str, ModelResponse],
           loose: list[Judgement], strict: list[Judgement] | None, published: dict[str, str], warnings: list[str]) -> None:
    store = RunStore(run_dir)
    probe_dir = store.probes_dir(target)
    write_jsonl_atomic(probe_dir / "identity_probes.jsonl", [p.model_dump() for p in probes.values()])
    write_jsonl_atomic(probe_dir / "rse_prompts.jsonl", [])
    store.register_target(target, {
        "model": target, "endpoint": PAPER, "params": {}, "probes": str(probe_dir),
        "imported_from": {k: str(v) for k, v in vars(files).items() if isinstance(v, Path)},
        "pairing": dict(files.how), "published": published, "import_warnings": warnings,
        "judges": _judges_meta("loose-positives" if strict is not None else None),
    }, force=True)
    store.write_responses(target, list(responses.values()))
    store.write_judgements(target, "loose", loose)
    if strict is not None:
        store.write_judgements(target, "strict", strict)
    elif store.judgements_path(target, "strict").exists():
        store.judgements_path(target, "strict").unlink()


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"true", "1", "1.0", "yes"}


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
