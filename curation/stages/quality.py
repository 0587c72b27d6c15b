"""Optional LLM quality scoring: a 1-10 score with a Chinese rubric, via the project's LLM client.

Scores land in `stats.llm_quality` (int, or None when the call failed: `stats.llm_quality_error`
says why), so `filter.min_llm_score` decides later and can be retuned without re-asking the model.
Requests are keyed by record id + rubric version + a hash of model, prompt and params, and the client's
append-only cache (RUN/_cache/llm_quality.jsonl, outside the stage dir so re-runs keep it; on Ray
workers, per-task segments under RUN/_cache/quality/) means a record is never sent twice; the
client handles concurrency and retries (on Ray through one limiter actor for the whole job). Each scoring call is
counted in the stage's `CallTally`: a stage with failed calls is re-run next time (the cache
answers the rest), and one whose every call failed is left incomplete.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import orjson

from curation.pipeline.recipe import QualityConfig, Recipe
from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import CallTally, Kept, Outcome, Stage, stage_input

RUBRIC_VERSION = "v1"
RUBRIC = """你是一名严格的中文指令数据质量评审员。请阅读下面的【指令】和【回答】，按以下标准给回答打 1 到 10 的整数分：
- 正确性：事实、推理和计算是否正确，有无误导信息；
- 相关性与完整性：是否切题、完整回应了指令的所有要求，有无被截断；
- 表达：中文是否通顺、自然、有条理，格式是否整洁（无乱码、无多余重复、无广告或平台模板文字）；
- 安全与价值观：是否包含有害、歧视或违法内容。
10 分为可直接用于训练的优秀回答，7-9 分为小瑕疵，4-6 分为明显问题，1-3 分为错误、无关或不可用。
只输出一行 JSON：{"score": 整数, "reason": "不超过30字的中文理由"}"""

_SCORE_JSON = re.compile(r'"score"\s*:\s*"?(\d{1,2})')
_SCORE_TEXT = re.compile(r"(?:分数|得分|评分|score)\s*[:：为是]?\s*(\d{1,2})", re.I)
_REASON = re.compile(r'"reason"\s*:\s*"([^"]{0,200})')


def parse_score(text: str) -> tuple[int | None, str]:
    """(score 1-10 or None, reason) from the model's reply; tolerant of prose around the JSON."""
    for pattern in (_SCORE_JSON, _SCORE_TEXT):
        m = pattern.search(text)
        if m and 1 <= int(m.group(1)) <= 10:
            reason = _REASON.search(text)
            return int(m.group(1)), reason.group(1) if reason else ""
    bare = re.fullmatch(r"\s*(\d{1,2})\s*(?:分)?\s*", text)
    if bare and 1 <= int(bare.group(1)) <= 10:
        return int(bare.group(1)), ""
    return None, ""


def build_messages(record: dict[str, Any], config: QualityConfig) -> list[dict[str, str]]:
    instruction = record["instruction"] + (("\n" + record["input"]) if record["input"] else "")
    user = f"【指令】\n{instruction[: config.max_chars]}\n\n【回答】\n{record['output'][: config.max_chars]}"
    return [{"role": "system", "content": RUBRIC}, {"role": "user", "content": user}]


def request_key(row: dict[str, Any], model: str, messages: list[dict[str, str]], params: dict[str, Any]) -> str:
    """Cache key: the record id plus a hash of model, messages and params (a cached score is reused
    only when exactly the same question went to the same model)."""
    from curation.llm.client import request_key as content_key

    return f"quality-{RUBRIC_VERSION}:{row['id']}:{content_key(model, messages, params)[:16]}"


def score_rows(rows: list[dict[str, Any]], recipe: Recipe, client: Any, tally: CallTally | None = None) -> None:
    """Score the rows whose source has quality enabled, in place (stats.llm_quality); `tally` counts
    the calls (an unparseable reply is an answer, not a failed call)."""
    from curation.llm.client import ChatError, ChatRequest

    todo = [(row, recipe.for_source(row["source"]).quality) for row in rows]
    todo = [(row, cfg) for row, cfg in todo if cfg.enabled]
    requests = []
    for row, cfg in todo:
        messages, params = build_messages(row["record"], cfg), {"temperature": cfg.temperature}
        requests.append(ChatRequest(request_key(row, client.model, messages, params), messages, params))
    for (row, _), result in zip(todo, client.chat_many(requests, progress=False), strict=True):
        stats = row.setdefault("stats", {})
        if isinstance(result, ChatError):
            stats["llm_quality"], stats["llm_quality_error"] = None, f"{result.error} (attempts={result.attempts})"
            if tally is not None:
                tally.failed_with(result.error)
            continue
        if tally is not None:
            tally.succeeded()
        score, reason = parse_score(result.text)
        stats["llm_quality"], stats["llm_quality_reason"] = score, reason
        if score is None:
            stats["llm_quality_error"] = f"unparseable reply: {result.text[:80]!r}"


def make_client(run: RunDir, config: QualityConfig) -> Any:
    from curation.llm.client import LLMClient
    from curation.pipeline.storage import local_state_dir

    cache = local_state_dir(run.root) / "_cache" / "llm_quality.jsonl"
    cache.parent.mkdir(parents=True, exist_ok=True)
    return LLMClient.from_env(config.env_prefix, concurrency=config.concurrency, max_retries=config.max_retries,
                              rate_limit_rps=config.rate_limit_rps, cache_path=cache)


@dataclass(frozen=True)
class _ScoreShard:
    """Task over one upstream shard: score its rows in batches of `chunk` (picklable: Ray ships it)."""

    index: int
    path: Any
    recipe: Recipe
    llm: Any  # curation.llm.stage_client.StageLLM
    tally: CallTally
    chunk: int

    def __call__(self, skip: int) -> Iterator[Outcome]:
        from curation.pipeline.rows import row_to_record
        from curation.pipeline.runner import iter_shard_lines

        client = self.llm.client(self.index)
        lines = islice(iter_shard_lines(self.path), skip, None)
        while batch := [orjson.loads(line) for line in islice(lines, self.chunk)]:
            score_rows(batch, self.recipe, client, self.tally)
            for row in batch:
                yield Kept(row_to_record(row))


def quality_stage(run: RunDir, upstream: str, recipe: Recipe, name: str = "quality", *,
                  client: Any = None, chunk: int = 256) -> Stage:
    """One task per upstream shard. Local executor: on the driver, sharing its one client (global
    concurrency cap, rate limit, append-only cache). Ray: on the workers, through one limiter
    actor for the job, each task caching into its own segments under RUN/_cache/<name>/
    (curation.llm.stage_client; docs/scaling.md)."""
    from curation.llm.stage_client import StageLLM
    from curation.pipeline.runner import upstream_shards

    client = client or make_client(run, recipe.quality)
    llm = StageLLM(client, env_prefix=recipe.quality.env_prefix, cache_dir=run.root / "_cache" / name,
                   label=name)
    tally = CallTally("LLM quality-scoring")
    params = {"quality": recipe.quality.model_dump(mode="json"), "rubric": RUBRIC_VERSION, "model": client.model,
              "sources": {s: o.quality for s, o in recipe.sources.items() if o.quality}}
    tasks = [_ScoreShard(i, p, recipe, llm, tally, chunk) for i, p in enumerate(upstream_shards(run, upstream))]
    return Stage(name=name, tasks=tasks, inputs=[stage_input(run, upstream)], params=params,
                 total=run.count(upstream), calls=tally, calls_on_workers=True, prepare=llm.prepare, sync=llm.sync)
