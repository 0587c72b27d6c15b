"""RSE prompt pools from local files, with seeded sampling of N per pool.

Formats (JSONL, JSON list, or Parquet): ArenaHard-like `{question_id|uid, turns: [{content}]}` or
`{prompt}`; Numina-like `{problem, solution}` or `{messages: [...]}`; ShareGPT-like
`{id, conversations: [{from: human|gpt, value}]}` (multi-turn: the probe is the chat up to the last
human turn, the following gpt turn is the reference); this project's curated Chinese dataset
(COIG-CQIA records `{instruction, input, output}`).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from curation.probes.inputs import InputError, detect_language
from schemas.probes import Probe, is_misleading, short_hash

POOL_FORMATS = ("arenahard", "numina", "sharegpt", "cqia")
_ROLE = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant",
         "bing": "assistant", "bard": "assistant", "system": "system"}


def read_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: pool file not found")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [(f"{path}#{i}", r) for i, r in enumerate(pq.read_table(path).to_pylist())]
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
        if isinstance(data, dict):
            data = data.get("data") or data.get("rows") or list(data.values())
        return [(f"{path}#{i}", r) for i, r in enumerate(data)]
    rows = []
    for i, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append((f"{path}:{i}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{i}: invalid JSON: {exc.msg}") from exc
    return rows


def _convert(fmt: str, row: dict[str, Any]) -> tuple[str, list[dict] | None, str | None, str | None]:
    """-> (prompt, messages or None, reference, native id)."""
    native = row.get("question_id") or row.get("uid") or row.get("id")
    if fmt == "arenahard":
        if row.get("turns"):
            turns = row["turns"]
            first = turns[0]
            prompt = first.get("content") if isinstance(first, dict) else str(first)
        else:
            prompt = row.get("prompt") or row.get("question") or ""
        return str(prompt), None, None, native
    if fmt == "numina":
        if row.get("problem"):
            return str(row["problem"]), None, row.get("solution"), native
        return _from_messages(row.get("messages") or [], native)
    if fmt == "sharegpt":
        conv = row.get("conversations") or row.get("messages") or []
        msgs = [{"role": _ROLE.get(str(t.get("from") or t.get("role")).lower(), "user"),
                 "content": t.get("value") if "value" in t else t.get("content")} for t in conv]
        return _from_messages(msgs, native)
    if fmt == "cqia":
        instruction = str(row.get("instruction") or "")
        extra = str(row.get("input") or "")
        prompt = instruction + ("\n" + extra if extra.strip() else "")
        return prompt, None, row.get("output"), native
    raise InputError(f"unknown pool format {fmt!r} (known: {', '.join(POOL_FORMATS)})")


def _from_messages(msgs: list[dict], native: Any) -> tuple[str, list[dict] | None, str | None, Any]:
    last_user = max((i for i, m in enumerate(msgs) if m.get("role") == "user"), default=None)
    if last_user is None:
        return "", None, None, native
    chat = [{"role": m["role"], "content": str(m.get("content") or "")} for m in msgs[: last_user + 1]]
    ref = msgs[last_user + 1]["content"] if last_user + 1 < len(msgs) and msgs[last_user + 1].get("role") == "assistant" else None
    return chat[-1]["content"], (chat if len(chat) > 1 else None), ref, native


def load_pool(path: Path, fmt: str, pool: str | None = None) -> tuple[list[Probe], list[dict]]:
    """All usable prompts of a pool file as RSE probes, plus rejects (location, reason)."""
    pool = pool or fmt
    probes, rejects, seen = [], [], set()
    for loc, row in read_rows(path):
        if not isinstance(row, dict):
            rejects.append({"location": loc, "reason": "not an object"})
            continue
        prompt, messages, ref, native = _convert(fmt, row)
        if not prompt.strip():
            rejects.append({"location": loc, "reason": "no user prompt"})
            continue
        pid = f"rse-{pool}-{short_hash(pool, str(native or ''), json.dumps(messages or prompt, ensure_ascii=False), n=12)}"
        if pid in seen:
            rejects.append({"location": loc, "reason": "duplicate prompt"})
            continue
        seen.add(pid)
        probes.append(Probe(id=pid, kind="rse", prompt=prompt, messages=messages, language=detect_language(prompt),
                            pool=pool, reference=ref if isinstance(ref, str) else None, misleading=is_misleading(prompt)))
    return probes, rejects


def sample(probes: list[Probe], n: int | None, seed: int) -> list[Probe]:
    """Seeded sample of n (all if n is None or larger), in a stable order."""
    if n is None or n >= len(probes):
        return list(probes)
    ordered = sorted(probes, key=lambda p: p.id)
    return random.Random(seed).sample(ordered, n)
