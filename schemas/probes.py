"""Distillation probe sets: questions, facts, templates, probes, responses, judgements.

Why separate models: probes are released as data; responses and judgements are versioned run
artifacts, so scores can always be recomputed from what was stored (never typed in).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

QUERY_PLACEHOLDER = "{query}"
MutationOperator = Literal["crossover", "expand", "generate_similar", "shorten", "rephrase"]
MUTATION_OPERATORS: tuple[str, ...] = ("crossover", "expand", "generate_similar", "shorten", "rephrase")
JudgeKind = Literal["loose", "strict", "rse"]
ParseStatus = Literal["ok", "reasked", "failed", "imported"]
ProbeKind = Literal["identity", "rse"]
RSE_ASPECTS: tuple[str, ...] = ("style", "logic", "content", "overall")

# The paper's "misleading identity text" words: a prompt naming them primes the answer.
MISLEADING_IDENTITY = re.compile(r"openai|chatgpt|gpt|anthropic|claude", re.I)


def short_hash(*parts: str, n: int = 12) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:n]


def is_misleading(text: str) -> bool:
    """True when the text names the reference family (OpenAI/ChatGPT/GPT/Anthropic/Claude)."""
    return MISLEADING_IDENTITY.search(text) is not None


class IdentityQuestion(BaseModel):
    """One identity question ("who developed you?"), optionally with the reference model's answer."""

    model_config = ConfigDict(extra="forbid")

    id: str
    text: str = Field(min_length=1)
    language: str = Field(description="BCP-47-ish code: 'en', 'zh'.")
    topic: str = Field(default="identity", description="e.g. developer, company, location, partners, tech.")
    reference_response: str | None = None


class TargetFact(BaseModel):
    """Who a target model really is, in one paragraph, for the loose judge."""

    model_config = ConfigDict(extra="forbid")

    target: str = Field(description="Registry name, e.g. 'deepseek-chat'.")
    fact: str = Field(min_length=1)
    developer: str | None = None
    aliases: list[str] = Field(default_factory=list, description="Model-name patterns this fact applies to.")
    language: str = "en"


class JailbreakTemplate(BaseModel):
    """A prompt wrapper containing `{query}`; seeds come from GPTFuzz, the rest from mutation."""

    model_config = ConfigDict(extra="forbid")

    id: str
    text: str
    origin: Literal["gptfuzz-seed", "mutated", "user", "imported"] = "gptfuzz-seed"
    parent_ids: list[str] = Field(default_factory=list)
    operator: MutationOperator | None = None
    mutator_model: str | None = None
    query_position: Literal["placeholder", "append"] = Field(
        default="placeholder",
        description="'append': the template lost {query} in mutation and the question is appended to it, "
                    "as the paper's attack code does.")

    @model_validator(mode="after")
    def _has_placeholder(self) -> JailbreakTemplate:
        if self.query_position == "placeholder" and QUERY_PLACEHOLDER not in self.text:
            raise ValueError("template text must contain the {query} placeholder")
        return self

    @model_validator(mode="after")
    def _mutation_consistent(self) -> JailbreakTemplate:
        if self.origin == "mutated" and (self.operator is None or not self.parent_ids):
            raise ValueError("a mutated template needs its operator and parent_ids")
        return self

    @property
    def misleading(self) -> bool:
        return is_misleading(self.text.replace(QUERY_PLACEHOLDER, ""))

    def render(self, query: str) -> str:
        # str.replace, not str.format: templates contain other braces
        if self.query_position == "append":
            return self.text + query  # no separator, like the paper's Gptfuzzer_Identity.attack
        return self.text.replace(QUERY_PLACEHOLDER, query)


class Probe(BaseModel):
    """One prompt sent to a target: template x question (identity) or a pool prompt (RSE)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: ProbeKind
    prompt: str = Field(description="The final user message (for multi-turn, the last one).")
    messages: list[dict[str, Any]] | None = Field(default=None, description="Full chat for multi-turn prompts.")
    language: str
    template_id: str | None = None
    question_id: str | None = None
    query: str | None = Field(default=None, description="Identity question text before templating.")
    pool: str | None = Field(default=None, description="RSE pool: arenahard, numina, sharegpt, cqia, ...")
    reference: str | None = Field(default=None, description="Reference answer (RSE) if the pool ships one.")
    misleading: bool = Field(default=False, description="Prompt names the reference family (excluded from hard).")

    @model_validator(mode="after")
    def _kind_fields(self) -> Probe:
        if self.kind == "identity" and not (self.template_id and self.question_id):
            raise ValueError("an identity probe needs template_id and question_id")
        if self.kind == "rse" and not self.pool:
            raise ValueError("an RSE probe needs its pool")
        return self

    def chat_messages(self) -> list[dict[str, Any]]:
        return self.messages or [{"role": "user", "content": self.prompt}]


class ModelResponse(BaseModel):
    """What a target answered to a probe, with the call's cost facts."""

    model_config = ConfigDict(extra="forbid")

    probe_id: str
    target: str
    model: str
    endpoint: str = Field(description="Base URL (never the key).")
    params: dict[str, Any] = Field(default_factory=dict)
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    time: float = Field(description="Unix time the answer was stored.")
    error: str | None = None


class Judgement(BaseModel):
    """A judge's raw output and what was parsed from it."""

    model_config = ConfigDict(extra="forbid")

    probe_id: str
    target: str
    judge: JudgeKind
    judge_model: str
    prompt_version: str
    raw_output: str = Field(description="Every raw judge output, re-asks joined by a separator.")
    verdict: bool | None = None
    scores: dict[str, float] | None = Field(default=None, description="RSE: style, logic, content, overall (1-5).")
    parse_status: ParseStatus
    attempts: int = 1

    @field_validator("scores")
    @classmethod
    def _range(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for aspect, score in (value or {}).items():
            if not 1 <= score <= 5:
                raise ValueError(f"RSE score {aspect}={score} outside 1-5")
        return value
