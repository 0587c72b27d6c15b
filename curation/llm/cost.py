"""Token prices (USD per 1M tokens) to turn usage into an approximate cost.

List prices change: these are public list prices noted in 2025 and serve as defaults only. Override
with `CQIA_LLM_PRICES` (a JSON/YAML file `{model: [input, output]}`) or the `prices` argument.
Unknown models cost `None` (shown as "-"), never a guessed number.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

# model prefix -> (input, output) USD per 1M tokens
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "deepseek-chat": (0.27, 1.10),
    "deepseek-reasoner": (0.55, 2.19),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "qwen-max": (1.60, 6.40),
    "qwen-plus": (0.40, 1.20),
    "qwen-turbo": (0.05, 0.20),
    "glm-4-plus": (0.70, 0.70),
    "fake": (0.0, 0.0),
}


def load_prices(path: Path | None = None) -> dict[str, tuple[float, float]]:
    """Defaults overlaid with a user price file (argument, else $CQIA_LLM_PRICES)."""
    prices = dict(DEFAULT_PRICES)
    path = path or (Path(os.environ["CQIA_LLM_PRICES"]) if os.environ.get("CQIA_LLM_PRICES") else None)
    if path is not None:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        for model, pair in data.items():
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                raise ValueError(f"{path}: price for {model!r} must be [input_per_1M, output_per_1M]")
            prices[str(model).lower()] = (float(pair[0]), float(pair[1]))
    return prices


def price_for(model: str, prices: dict[str, tuple[float, float]] | None = None) -> tuple[float, float] | None:
    """Longest matching model prefix (provider prefixes such as `openai/` are ignored)."""
    prices = prices if prices is not None else load_prices()
    name = model.lower().rsplit("/", 1)[-1]
    best = max((p for p in prices if name.startswith(p)), key=len, default=None)
    return prices[best] if best else None


def estimate_cost(
    model: str, prompt_tokens: int, completion_tokens: int, prices: dict[str, tuple[float, float]] | None = None
) -> float | None:
    pair = price_for(model, prices)
    if pair is None:
        return None
    return (prompt_tokens * pair[0] + completion_tokens * pair[1]) / 1_000_000
