"""Fixtures for server tests: the app on a real uvicorn server, wired to the scripted LLM."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
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


@pytest.fixture
async def client(live_app: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_app.url, timeout=30) as http:
        yield http


async def wait_status(
    client: httpx.AsyncClient, job_id: str, statuses: set[str], timeout: float = 30
) -> dict[str, Any]:
    """Poll the snapshot until the job reaches one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        snapshot = (await client.get(f"/courses/{job_id}")).json()
        if snapshot["status"] in statuses:
            return snapshot
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stayed {snapshot['status']}, wanted {statuses}")
        await asyncio.sleep(0.05)


async def create(
    client: httpx.AsyncClient, themes: int = 2, topics: int = 2, **options: Any
) -> str:
    body = {
        "course_name": "Python basics",
        "description": "A first course",
        "options": {"themes": themes, "topics_per_theme": topics, **options},
    }
    response = await client.post("/courses", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])
