"""Share fixtures: a scripted OpenAI-compatible server, models that talk to it over HTTP, and
the real app on uvicorn wired to it."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from langchain_openai import ChatOpenAI

from coursegen.providers.loading import ModelOptions, load_chat_model
from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.support.live_app import LiveApp
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


@pytest.fixture
def settings(tmp_path: Path, scripted_llm: ScriptedLLM) -> Settings:
    return Settings(
        base_url=scripted_llm.base_url,
        model="openai:scripted",
        data_dir=tmp_path,
        llm_max_retries=0,  # the graph's retry policy is the one under test
        max_running_jobs=4,
    )


@pytest.fixture
def live_app(settings: Settings) -> Iterator[LiveApp]:
    """The app on a real uvicorn server in a thread of its own."""
    with LiveApp(create_app(settings)) as live:
        yield live


@pytest.fixture
async def client(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_app.url, timeout=30) as http:
        yield http
