"""No checkpoint thread outlives what it belongs to: a deleted job takes all of its threads
(regenerations included), and LangServe threads can be deleted by their owner and expire
after COURSEGEN_THREAD_TTL_S."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint

from coursegen.server.app import create_app
from coursegen.server.core.checkpointer import open_checkpointer, threads_with_prefix
from coursegen.server.routes.langserve import thread_key
from coursegen.settings import Settings
from tests.support.backends import Backend
from tests.support.jobs import create, wait_status
from tests.support.keys import make_key
from tests.support.live_app import LiveApp
from tests.support.server_process import wait_until

pytestmark = pytest.mark.timeout(90)
SMALL = {"input": {"course_name": "Threads", "options": {"themes": 1, "topics_per_theme": 1}}}


def threads(settings: Settings) -> set[str]:
    """Every checkpoint thread in the database (checkpoints and pending writes alike)."""
    with sqlite3.connect(settings.sqlite_path) as db:
        query = "SELECT thread_id FROM checkpoints UNION SELECT thread_id FROM writes"
        return {row[0] for row in db.execute(query)}


async def test_deleting_a_job_deletes_its_regeneration_threads_too(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    job_id = await create(client, themes=1, topics=2)
    await wait_status(client, job_id, {"completed"})
    for ask in ({"theme": 0, "instructions": "simpler"}, {"theme": 0, "topic": 1}):
        response = await client.post(f"/courses/{job_id}/regenerate", json=ask)
        assert response.status_code == 202, response.text
        await wait_status(client, job_id, {"completed"})
    other = await create(client, themes=1, topics=1)
    await wait_status(client, other, {"completed"})
    mine = {t for t in threads(settings) if t.startswith(job_id)}
    assert job_id in mine and len([t for t in mine if ":regenerate:" in t]) == 2, mine

    assert (await client.delete(f"/courses/{job_id}")).status_code == 204
    left = threads(settings)
    assert not [t for t in left if t.startswith(job_id)], left
    assert other in left  # another job's thread stays


async def test_an_owner_deletes_its_langserve_thread_and_no_one_else_can(
    settings: Settings,
) -> None:
    alice = await asyncio.to_thread(make_key, settings, "alice")
    bob = await asyncio.to_thread(make_key, settings, "bob")
    as_alice = {"Authorization": f"Bearer {alice}"}
    as_bob = {"Authorization": f"Bearer {bob}"}
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            run = await client.post(
                "/course/invoke", json=SMALL, headers={**as_alice, "X-Thread-Id": "t1"}
            )
            assert run.status_code == 200, run.text
            assert thread_key("alice", "t1") in threads(settings)

            assert (await client.delete("/course/threads/t1", headers=as_bob)).status_code == 404
            assert thread_key("alice", "t1") in threads(settings)
            assert (await client.delete("/course/threads/t1")).status_code == 401
            deleted = await client.delete("/course/threads/t1", headers=as_alice)
            assert deleted.status_code == 204, deleted.text
            assert thread_key("alice", "t1") not in threads(settings)
            again = await client.delete("/course/threads/t1", headers=as_alice)
            assert again.status_code == 404


async def test_each_run_of_a_batch_has_its_own_thread_deleted_with_the_shared_one(
    settings: Settings,
) -> None:
    """A batch request carries one X-Thread-Id; runs sharing a thread would delete or continue
    each other's checkpoints, so each gets `{thread}:batch:{index}`."""
    names = ["Batch one", "Batch two"]
    inputs = [{**SMALL["input"], "course_name": name} for name in names]
    shared = thread_key("local", "b1")
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            run = await client.post(
                "/course/batch", json={"inputs": inputs}, headers={"X-Thread-Id": "b1"}
            )
            assert run.status_code == 200, run.text
            courses = run.json()["output"]
            assert [c["course_name"] for c in courses] == names
            assert [c["usage"]["total"]["calls"] for c in courses] == [
                courses[0]["usage"]["total"]["calls"]
            ] * 2  # each its own run's calls, none added to the other's
            own = {f"{shared}:batch:0", f"{shared}:batch:1"}
            assert own <= threads(settings) and shared not in threads(settings)

            deleted = await client.delete("/course/threads/b1")
            assert deleted.status_code == 204, deleted.text
            assert not [t for t in threads(settings) if t.startswith(shared)]


async def test_langserve_threads_expire_after_the_ttl_and_jobs_do_not(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"thread_ttl_s": 3.0})
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            job_id = await create(client, themes=1, topics=1)
            run = await client.post("/course/invoke", json=SMALL, headers={"X-Thread-Id": "old"})
            assert run.status_code == 200, run.text
            assert thread_key("local", "old") in threads(settings)
            await wait_status(client, job_id, {"completed"})
            await wait_until(
                lambda: thread_key("local", "old") not in threads(settings),
                15,
                "the thread to expire",
            )
            assert job_id in threads(settings)  # a job's checkpoints go with the job only


@pytest.fixture
async def saver(backend: Backend, tmp_path: Path) -> AsyncIterator[Any]:
    """Each checkpointer the server opens, on a database of this test's own."""
    async with open_checkpointer(
        Settings(data_dir=tmp_path, **backend.settings_update())
    ) as opened:
        yield opened


async def test_threads_with_prefix_lists_exactly_the_jobs_threads(saver: Any) -> None:
    for thread in ("j1", "j1:regenerate:a", "j1:regenerate:b", "j10:regenerate:c", "x:j1:"):
        config: RunnableConfig = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
        await saver.aput(config, empty_checkpoint(), {}, {})
    assert sorted(await threads_with_prefix(saver, "j1:")) == ["j1:regenerate:a", "j1:regenerate:b"]
