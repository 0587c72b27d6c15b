"""Send probes to a target endpoint and keep every answer in the run's append-only store.

The LLM client's cache *is* the store (keyed by probe id): a killed run continues where it
stopped, and already answered probes are never sent again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.distill.store import RunStore
from curation.llm import ChatError, ChatRequest, LLMClient
from curation.llm.cost import estimate_cost
from schemas.probes import Probe
from schemas.redact import redact_url


@dataclass
class RunSummary:
    target: str
    model: str
    probes: int = 0
    sent: int = 0
    cached: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    error_samples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_target(store: RunStore, target: str, probes: list[Probe], client_kwargs: dict[str, Any], *,
               params: dict[str, Any], probe_dir: Path, progress: bool = True, force: bool = False) -> RunSummary:
    """Answer every probe once (resuming from the store); returns counts, tokens and cost."""
    store.register_target(target, {"model": client_kwargs["model"], "endpoint": redact_url(client_kwargs["base_url"]),
                                   "params": params, "probes": str(probe_dir)}, force=force)
    client = LLMClient(**client_kwargs, cache_path=store.responses_path(target))
    summary = RunSummary(target, client.model, probes=len(probes))
    reqs = [ChatRequest(p.id, p.chat_messages(), dict(params), {"probe_id": p.id, "target": target}) for p in probes]
    try:
        for res in client.chat_many(reqs, progress=progress):
            if isinstance(res, ChatError):
                summary.errors += 1
                if len(summary.error_samples) < 3:
                    summary.error_samples.append(res.error)
                continue
            if res.cached:
                summary.cached += 1
            else:
                summary.sent += 1
            summary.prompt_tokens += res.prompt_tokens
            summary.completion_tokens += res.completion_tokens
    finally:
        if client.cache:
            client.cache.close()
    summary.cost_usd = estimate_cost(client.model, summary.prompt_tokens, summary.completion_tokens)
    return summary
