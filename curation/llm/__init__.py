"""The project's one LLM client (OpenAI-compatible chat completions) and a scripted test server."""

from curation.llm.client import ChatError, ChatRequest, ChatResult, LLMClient, LLMError
from curation.llm.cost import estimate_cost

__all__ = ["ChatError", "ChatRequest", "ChatResult", "LLMClient", "LLMError", "estimate_cost"]
