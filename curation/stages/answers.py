"""Answer generation: question drafts from a source → records whose output an LLM wrote.

Sources never call services, so a source whose answers must be generated (ruozhiba) yields
question drafts; this stage sends each through the project's one LLM client (concurrency,
retries, rate limit, append-only cache) and builds the record with `answer_from="llm"` and
`human_verified=False`. Results come back in input order; source rejects pass through in place.
A failed or cut-off generation becomes a reject (`llm_error`, `llm_empty_answer`,
`llm_truncated`), never a record with a broken answer. Each answer is counted in the stage's
`CallTally`, so the runner never records a failed call as final: the next run asks again.

Determinism: the request key is the source id plus a hash of model, messages and params, so a
re-run (or a resumed stage) reads answers from the cache instead of re-sending them, and a change
of prompt or model is a new key. Records do not carry volatile facts (latency, cached flag), so a
resumed run writes the same bytes as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from pydantic import ValidationError

from curation.llm.client import ChatError, ChatRequest, ChatResult, LLMClient
from curation.pipeline.runner import CallTally
from schemas import CuratedRecord, InstructionRecord, InvalidItem, Provenance, TaskType, make_record_id


class QuestionDraft(Protocol):
    """What a source hands over: every record field but the output (e.g. sources.ruozhiba.Question)."""

    source: str
    source_id: str
    instruction: str
    input: str
    task_type: TaskType
    domain: list[str]
    copyright: str
    metadata: str
    provenance: Provenance


@dataclass(frozen=True)
class GenerationConfig:
    """Prompting for one source; usually read from the source's settings `options.generation`."""

    system_prompt: str = ""
    user_template: str = "{instruction}"
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> GenerationConfig:
        return cls(
            system_prompt=str(options.get("system_prompt", "")).strip(),
            user_template=str(options.get("user_template", "{instruction}")),
            params=dict(options.get("params") or {}),
        )

    def messages(self, draft: QuestionDraft) -> list[dict[str, str]]:
        user = self.user_template.replace("{instruction}", draft.instruction).replace("{input}", draft.input)
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return [*system, {"role": "user", "content": user}]

    def fingerprint(self, model: str) -> str:
        """Hash of everything that shapes the answer; part of each request key and stage params."""
        blob = orjson.dumps({"model": model, "system": self.system_prompt, "user": self.user_template,
                             "params": self.params}, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(blob).hexdigest()[:16]


def _finish_reason(raw: dict[str, Any]) -> str | None:
    try:
        return raw["choices"][0].get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def _record(draft: QuestionDraft, result: ChatResult, prompt_fp: str) -> CuratedRecord | InvalidItem:
    location = draft.provenance.location or draft.source_id
    text = result.text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return InvalidItem(location=location, reason="llm_empty_answer", detail=f"model {result.model} returned no text",
                           source=draft.source, raw=draft.instruction)
    if _finish_reason(result.raw) == "length":
        return InvalidItem(location=location, reason="llm_truncated",
                           detail="generation stopped at max_tokens (finish_reason=length)", source=draft.source,
                           raw={"instruction": draft.instruction, "output": text[:2000]})
    try:
        record = InstructionRecord(
            instruction=draft.instruction, input=draft.input, output=text, task_type=draft.task_type,
            domain=draft.domain, metadata=draft.metadata, answer_from="llm", human_verified=False,
            copyright=draft.copyright,
        )
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return InvalidItem(location=location, reason="schema", detail=detail, source=draft.source,
                           raw={"instruction": draft.instruction, "output": text[:2000]})
    generation = {"model": result.model, "prompt_fingerprint": prompt_fp, "prompt_tokens": result.prompt_tokens,
                  "completion_tokens": result.completion_tokens}
    provenance = draft.provenance.model_copy(update={"extra": {**draft.provenance.extra, "generation": generation}})
    return CuratedRecord(id=make_record_id(draft.source, draft.source_id), source=draft.source, record=record,
                         provenance=provenance)


def generate_answers(
    items: Iterable[QuestionDraft | InvalidItem],
    client: LLMClient,
    config: GenerationConfig,
    *,
    progress: bool = True,
    tally: CallTally | None = None,
) -> Iterator[CuratedRecord | InvalidItem]:
    """One outcome per input item, in input order: a record, a source reject, or a generation reject;
    `tally` (the stage's) counts each answer as a succeeded or failed call."""
    prompt_fp = config.fingerprint(client.model)
    pending: deque[QuestionDraft | InvalidItem] = deque()
    lock = threading.Lock()

    def requests() -> Iterator[ChatRequest]:
        # Runs in the client's thread: every item is queued before its request is handed over, so
        # when result k arrives, the rejects that preceded question k are already in `pending`.
        for item in items:
            with lock:
                pending.append(item)
            if not isinstance(item, InvalidItem):
                yield ChatRequest(key=f"{item.source}:{item.source_id}:{prompt_fp}", messages=config.messages(item),
                                  params=config.params, meta={"source_id": item.source_id})

    def drain_rejects() -> Iterator[InvalidItem]:
        while True:
            with lock:
                if not pending or not isinstance(pending[0], InvalidItem):
                    return
                head = pending.popleft()
            yield head  # type: ignore[misc]

    for result in client.chat_many(requests(), progress=progress):
        yield from drain_rejects()
        with lock:
            draft = pending.popleft()
        if isinstance(result, ChatError):
            if tally is not None:
                tally.failed_with(result.error)
            yield InvalidItem(location=draft.provenance.location or draft.source_id, reason="llm_error",
                              detail=f"{result.error} (status {result.status}, {result.attempts} attempts)",
                              source=draft.source, raw=draft.instruction)
        else:
            if tally is not None:
                tally.succeeded()
            yield _record(draft, result, prompt_fp)  # type: ignore[arg-type]
    yield from drain_rejects()
