"""Test what creating the first API key does to the courses made without one."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from coursegen.cli import app
from coursegen.server.app import create_app
from coursegen.settings import Settings, get_settings
from tests.server.conftest import create, wait_status
from tests.support.live_app import LiveApp


@pytest.fixture
def data_dir(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI works on the same database as the `settings` fixture's app."""
    monkeypatch.setenv("COURSEGEN_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield settings.data_dir
    get_settings.cache_clear()


async def _keyless_course(settings: Settings) -> str:
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            job = await create(client, themes=1, topics=1)
            await wait_status(client, job, {"completed"})
    return job


async def _status_with(settings: Settings, secret: str, job: str) -> int:
    with LiveApp(create_app(settings)) as live:
        auth = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(base_url=live.url, timeout=30, headers=auth) as client:
            return (await client.get(f"/courses/{job}")).status_code


async def _cli(*args: str) -> Result:
    """Run the CLI off the test's event loop (it runs one of its own)."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


def _secret(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("cgk_"))


async def test_first_key_says_where_keyless_courses_went(
    settings: Settings, data_dir: Path
) -> None:
    job = await _keyless_course(settings)
    created = await _cli("keys", "create", "alice")
    assert created.exit_code == 0, created.output
    assert "1 course(s) made without a key belong to owner 'local'" in created.output
    assert "coursegen keys adopt alice" in created.output
    alice = _secret(created.output)
    assert await _status_with(settings, alice, job) == 404  # hidden from alice
    local = _secret((await _cli("keys", "create", "local")).output)
    assert await _status_with(settings, local, job) == 200  # reached with a `local` key
    adopted = await _cli("keys", "adopt", "alice")
    assert "1 course(s) made without a key now belong to alice" in adopted.output
    assert await _status_with(settings, alice, job) == 200


async def test_adopt_existing_gives_them_to_the_new_key(settings: Settings, data_dir: Path) -> None:
    job = await _keyless_course(settings)
    created = await _cli("keys", "create", "bob", "--adopt-existing")
    assert "1 course(s) made without a key now belong to bob" in created.output
    assert "belong to owner 'local'" not in created.output  # nothing is left behind
    assert await _status_with(settings, _secret(created.output), job) == 200
