"""Run directory for distillation evaluation: where responses, judgements and scores live.

Layout: `run.json` (per target: model, endpoint, params, probe set, how each judge ran),
`probes/<target>/` (probe sets of imported targets), `responses/<target>.jsonl`
(append-only LLM-client store: the resumable record of every answer), `judge_cache/…` (judge calls),
`judgements/<target>.<judge>.jsonl` (parsed Judgement rows, rewritten atomically from the caches),
`scores/<target>.json`. Scores are always recomputed from the judgements.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from curation.llm.cache import ResponseCache
from curation.pipeline.atomic import write_json_atomic, write_jsonl_atomic
from schemas.probes import Judgement, ModelResponse

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    return _SAFE.sub("_", name).strip("_") or "target"


class RunStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # ---- run manifest
    def manifest(self) -> dict[str, Any]:
        path = self.root / "run.json"
        return orjson.loads(path.read_bytes()) if path.exists() else {"targets": {}}

    def register_target(self, target: str, info: dict[str, Any], *, force: bool = False) -> None:
        """Refuse to mix answers of different models/params under one target name (the cache is keyed by probe)."""
        man = self.manifest()
        old = man["targets"].get(target)
        keys = ("model", "params")
        if old and not force and any(old.get(k) != info.get(k) for k in keys):
            raise ValueError(
                f"{self.root / 'run.json'}: target {target!r} was run with model={old.get('model')!r} "
                f"params={old.get('params')}; now model={info.get('model')!r} params={info.get('params')}. "
                "Use another --target name or run directory (or --force to continue anyway)."
            )
        man["targets"][target] = {**(old or {}), **info}
        write_json_atomic(self.root / "run.json", man)

    # ---- paths
    def responses_path(self, target: str) -> Path:
        return self.root / "responses" / f"{safe_name(target)}.jsonl"

    def judge_cache_path(self, target: str, judge: str) -> Path:
        return self.root / "judge_cache" / f"{safe_name(target)}.{judge}.jsonl"

    def judgements_path(self, target: str, judge: str) -> Path:
        return self.root / "judgements" / f"{safe_name(target)}.{judge}.jsonl"

    def scores_path(self, target: str) -> Path:
        return self.root / "scores" / f"{safe_name(target)}.json"

    def record_judge(self, target: str, judge: str, info: dict[str, Any]) -> None:
        """Remember how a judge ran for a target (model, prompt hash, scope, reference) for scores and reports."""
        man = self.manifest()
        entry = man["targets"].setdefault(target, {})
        entry.setdefault("judges", {})[judge] = info
        write_json_atomic(self.root / "run.json", man)

    def target_info(self, target: str) -> dict[str, Any]:
        info = self.manifest()["targets"].get(target)
        if info is None:
            raise KeyError(f"{self.root}/run.json: no target {target!r} (known: {', '.join(self.targets()) or 'none'})")
        return info

    def probes_dir(self, target: str) -> Path:
        """Probe set of an imported target (one directory per target: imports never overwrite each other)."""
        return self.root / "probes" / safe_name(target)

    def targets(self) -> list[str]:
        return sorted(self.manifest()["targets"])

    # ---- responses
    def responses(self, target: str) -> dict[str, ModelResponse]:
        path = self.responses_path(target)
        if not path.exists():
            return {}
        cache = ResponseCache(path)
        cache.close()
        out = {}
        for key, row in cache.rows.items():
            meta = row.get("meta") or {}
            out[key] = ModelResponse(
                probe_id=meta.get("probe_id", key), target=meta.get("target", target), model=row.get("model", ""),
                endpoint=row.get("endpoint", ""), params=(row.get("request") or {}).get("params", {}),
                text=row.get("text", ""), prompt_tokens=row.get("prompt_tokens", 0),
                completion_tokens=row.get("completion_tokens", 0), latency_s=row.get("latency_s", 0.0),
                time=row.get("t", 0.0),
            )
        return out

    def write_responses(self, target: str, responses: list[ModelResponse]) -> None:
        """For imported data: store ModelResponse rows in the same append-only format."""
        rows = [{"key": r.probe_id, "text": r.text, "model": r.model, "prompt_tokens": r.prompt_tokens,
                 "completion_tokens": r.completion_tokens, "latency_s": r.latency_s, "raw": {},
                 "request": {"params": r.params}, "meta": {"probe_id": r.probe_id, "target": r.target},
                 "endpoint": r.endpoint, "t": r.time} for r in responses]
        write_jsonl_atomic(self.responses_path(target), rows)

    # ---- judgements
    def write_judgements(self, target: str, judge: str, rows: list[Judgement]) -> None:
        write_jsonl_atomic(self.judgements_path(target, judge), [j.model_dump() for j in rows])

    def judgements(self, target: str, judge: str) -> list[Judgement]:
        path = self.judgements_path(target, judge)
        if not path.exists():
            return []
        with path.open("rb") as handle:
            return [Judgement(**orjson.loads(line)) for line in handle if line.strip()]
