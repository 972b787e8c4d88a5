"""Fixtures for client tests: the real app on uvicorn, wired to the scripted LLM."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from coursegen.server.app import create_app
from coursegen.server.settings import Settings
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import ScriptedLLM


@pytest.fixture
def settings(tmp_path: Path, scripted_llm: ScriptedLLM) -> Settings:
    return Settings(
        base_url=scripted_llm.base_url,
        model="openai:scripted",
        data_dir=tmp_path,
        llm_max_retries=0,
        max_running_jobs=4,
    )


@pytest.fixture
def live_app(settings: Settings) -> Iterator[LiveApp]:
    with LiveApp(create_app(settings)) as live:
        yield live
