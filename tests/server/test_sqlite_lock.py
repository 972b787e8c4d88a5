"""A lock on the SQLite file held by another connection never fails a running job.

The test takes an exclusive lock (what a backup tool or a careless `sqlite3` shell does)
while a job is between its model calls, and holds it past the old 5 s timeout of the
checkpointer's connection.
"""

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.server.conftest import create, wait_status
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import ScriptedLLM
from tests.support.server_process import wait_until

pytestmark = pytest.mark.timeout(90)


async def hold_exclusive_lock(path: Path, seconds: float) -> None:
    """Lock the database against every other writer for `seconds`."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        await asyncio.to_thread(db.execute, "BEGIN EXCLUSIVE")
        await asyncio.sleep(seconds)
        db.execute("COMMIT")
    finally:
        db.close()


async def run_through_lock(settings: Settings, llm: ScriptedLLM, lock_s: float) -> dict[str, Any]:
    """Run a 1 × 2 course, locking the file while its outline call waits for its answer;
    check that it completed whole and return its final snapshot."""
    llm.first_token_s = 1.0  # the lock is taken while the outline call waits for its answer
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
            job_id = await create(client, themes=1, topics=2)
            await wait_until(lambda: bool(llm.calls_for("Outline")), 10, "the outline call")
            await hold_exclusive_lock(settings.sqlite_path, lock_s)
            snapshot = await wait_status(client, job_id, {"completed", "failed"}, timeout=60)
            events = (await client.get(f"/courses/{job_id}/events")).text
    assert snapshot["status"] == "completed", snapshot["error"]
    assert "event: error" not in events
    topics = [t for theme in snapshot["course"]["themes"] for t in theme["topics"]]
    assert len(topics) == 2 and all(t["polished"] for t in topics)
    return snapshot


RETRIED = "checkpoint write found the database locked"


async def test_a_lock_longer_than_the_old_timeout_is_waited_out(
    settings: Settings, scripted_llm: ScriptedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    assert settings.sqlite_busy_timeout_s >= 30
    await run_through_lock(settings, scripted_llm, lock_s=7.0)
    assert RETRIED not in caplog.text  # waited out by the busy timeout alone


async def test_a_lock_longer_than_the_busy_timeout_is_retried_through(
    settings: Settings, scripted_llm: ScriptedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    """Past the busy timeout a checkpoint write is retried, so the job still completes."""
    settings = settings.model_copy(update={"sqlite_busy_timeout_s": 1.0})
    await run_through_lock(settings, scripted_llm, lock_s=2.5)
    assert RETRIED in caplog.text
