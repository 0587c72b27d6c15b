"""Read probe inputs: identity questions (CSV/JSONL), target facts (YAML), jailbreak templates (JSON/JSONL).

Every loader names the file and line/item of a bad row; bad templates are returned as rejects with
their reason rather than silently dropped.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from schemas.probes import QUERY_PLACEHOLDER, IdentityQuestion, JailbreakTemplate, TargetFact, short_hash

DATA = resources.files("curation.data.probes")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_TOPICS = (
    ("location", r"where|located|country|headquarter|地|哪里|位于|总部"),
    ("partners", r"partner|collaborat|合作"),
    ("technology", r"technolog|architecture|open-source|framework|trained|model|技术|架构|开源|训练|模型"),
    ("developer", r"develop|built|design|team|company|organi[sz]ation|creat|开发|团队|公司|组织|创建|设计"),
)


class InputError(ValueError):
    """A probe input file is unreadable or malformed (message names file and line)."""


def default_path(name: str) -> Path:
    return Path(str(DATA.joinpath(name)))


def detect_language(text: str) -> str:
    """'zh' if the text has a meaningful share of CJK characters, else 'en'."""
    if not text:
        return "en"
    return "zh" if len(_CJK.findall(text)) / max(1, len(text.strip())) > 0.2 else "en"


def guess_topic(text: str) -> str:
    low = text.lower()
    for topic, pattern in _TOPICS:
        if re.search(pattern, low):
            return topic
    return "identity"


def load_questions(path: Path) -> list[IdentityQuestion]:
    """CSV `query,reference_responses` (the paper's format) or JSONL `{text|query, language?, topic?, id?}`."""
    path = Path(path)
    rows: list[tuple[str, dict[str, Any]]] = []
    if path.suffix.lower() == ".csv":
        csv.field_size_limit(sys.maxsize)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            cols = set(reader.fieldnames or [])
            if not cols & {"query", "text", "question"}:
                raise InputError(f"{path}: CSV needs a 'query' (or 'text') column, has {sorted(cols)}")
            for i, row in enumerate(reader, start=2):
                rows.append((f"{path}:{i}", row))
    else:
        rows = [(loc, row) for loc, row in _read_json_rows(path)]
    out: list[IdentityQuestion] = []
    per_lang: dict[str, int] = {}
    for loc, row in rows:
        text = (row.get("text") or row.get("query") or row.get("question") or "").strip()
        if not text:
            raise InputError(f"{loc}: empty question")
        lang = row.get("language") or detect_language(text)
        idx = per_lang[lang] = per_lang.get(lang, 0) + 1
        ref = row.get("reference_response") or row.get("reference_responses") or None
        try:
            out.append(IdentityQuestion(
                id=str(row.get("id") or f"{lang}-{idx:02d}"), text=text, language=lang,
                topic=row.get("topic") or guess_topic(text), reference_response=ref,
            ))
        except ValidationError as exc:
            raise InputError(f"{loc}: {exc.errors()[0]['msg']}") from exc
    _align_topics(out)
    if len({q.id for q in out}) != len(out):
        raise InputError(f"{path}: question ids are not unique")
    return out


def _align_topics(questions: list[IdentityQuestion]) -> None:
    """Parallel en/zh lists (same question in two languages) share the English topic by position."""
    en = [q for q in questions if q.language == "en"]
    zh = [q for q in questions if q.language == "zh"]
    if en and len(en) == len(zh):
        for a, b in zip(en, zh, strict=True):
            b.topic = a.topic


def load_facts(path: Path | None = None) -> dict[str, TargetFact]:
    """YAML registry `{targets: {name: {fact, developer?, aliases?}}}`; the shipped one by default."""
    path = Path(path) if path else default_path("target_facts.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {exc}") from exc
    targets = data.get("targets", data)
    facts: dict[str, TargetFact] = {}
    for name, spec in targets.items():
        spec = {"fact": spec} if isinstance(spec, str) else dict(spec or {})
        try:
            facts[name] = TargetFact(target=name, **spec)
        except ValidationError as exc:
            raise InputError(f"{path}: target {name!r}: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}") from exc
    return facts


def fact_for(facts: dict[str, TargetFact], target: str, model: str | None = None) -> TargetFact:
    """Exact registry name, else the first whose alias regex matches the target or model name."""
    if target in facts:
        return facts[target]
    for fact in facts.values():
        for alias in fact.aliases:
            if re.search(alias, target, re.I) or (model and re.search(alias, model, re.I)):
                return fact
    raise InputError(f"no target fact for {target!r}: add it to the facts YAML (known: {', '.join(sorted(facts))})")


@dataclass
class RejectedTemplate:
    location: str
    reason: str
    text: str


def load_templates(path: Path, origin: str = "gptfuzz-seed") -> tuple[list[JailbreakTemplate], list[RejectedTemplate]]:
    """JSON `{templates: [...]}` / list of strings or dicts, or JSONL; ids are content hashes."""
    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        items = [(loc, row) for loc, row in _read_json_rows(path)]
    else:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
        seq = data.get("templates", data) if isinstance(data, dict) else data
        if not isinstance(seq, list):
            raise InputError(f"{path}: expected a list of templates (or {{'templates': [...]}})")
        items = [(f"{path}#{i}", row) for i, row in enumerate(seq)]
    good: list[JailbreakTemplate] = []
    bad: list[RejectedTemplate] = []
    seen: set[str] = set()
    for loc, row in items:
        text = row if isinstance(row, str) else str(row.get("text") or row.get("template") or "")
        if QUERY_PLACEHOLDER not in text:
            bad.append(RejectedTemplate(loc, "missing {query} placeholder", text))
            continue
        if text in seen:
            bad.append(RejectedTemplate(loc, "duplicate template", text))
            continue
        seen.add(text)
        tid = row.get("id") if isinstance(row, dict) and row.get("id") else f"seed-{short_hash(text, n=10)}"
        good.append(JailbreakTemplate(id=tid, text=text, origin=origin))  # type: ignore[arg-type]
    return good, bad


def _read_json_rows(path: Path):
    with path.open(encoding="utf-8") as handle:
        for i, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{i}: invalid JSON: {exc.msg}") from exc
            if not isinstance(row, dict):
                raise InputError(f"{path}:{i}: expected a JSON object")
            yield f"{path}:{i}", row
