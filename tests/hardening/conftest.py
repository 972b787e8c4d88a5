"""Fixtures for the hardening tests: the real app under uvicorn, wired to the scripted LLM."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from langgraph.types import RetryPolicy

from coursegen.graph import tasks
from coursegen.server.app import create_app
from coursegen.server.settings import Settings
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import ScriptedLLM

# The production policy (tasks.LLM_RETRY) waits 0.5 s, 1 s, 2 s plus up to 1 s of jitter
# between attempts; the tests keep its attempts and its retry predicate, not its waits.
FAST_RETRY = tasks.LLM_RETRY._replace(initial_interval=0.01, max_interval=0.05, jitter=False)


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> RetryPolicy:
    """Make `llm_call`'s retries wait milliseconds instead of seconds."""
    # The patch targets the real policy (the task is typed as a plain callable).
    assert tasks.llm_call.retry_policy == (tasks.LLM_RETRY,)  # type: ignore[attr-defined]
    monkeypatch.setattr(tasks.llm_call, "retry_policy", (FAST_RETRY,))
    return FAST_RETRY


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
    with LiveApp(create_app(settings)) as live:
        yield live


@pytest.fixture
async def client(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_app.url, timeout=30) as http:
        yield http
