"""Share fixtures: a scripted OpenAI-compatible server and models that talk to it over HTTP."""

from collections.abc import Iterator

import pytest
from langchain_openai import ChatOpenAI

from coursegen.chains.models import ModelOptions, load_chat_model
from tests.support.scripted_llm import ScriptedLLM


@pytest.fixture
def scripted_llm() -> Iterator[ScriptedLLM]:
    """A fresh scripted server per test (its script and call log are the test's own)."""
    with ScriptedLLM() as llm:
        yield llm


@pytest.fixture
def model(scripted_llm: ScriptedLLM) -> ChatOpenAI:
    """The real ChatOpenAI client pointed at the scripted server."""
    chat = load_chat_model(
        "openai:scripted", ModelOptions(base_url=scripted_llm.base_url, max_retries=0)
    )
    assert isinstance(chat, ChatOpenAI)
    return chat
