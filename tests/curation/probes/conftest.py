"""Makes the fake OpenAI-compatible server fixture available to these tests."""

from tests.llm_fixtures import openai_server  # noqa: F401
