"""Kill or stop a real `coursegen serve` process mid-course: a new process on the same data
directory finishes the job, the event log stays gap-free, and no finished LLM call is repeated.

Embedded mode (SQLite). The scripted model holds some calls open ("stall") until the first
process is gone, so the moment of the crash is deterministic (see `mid_course`).
"""

import asyncio
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.scripted_llm import ScriptedLLM
from tests.support.server_process import (
    EventReader,
    ServerGroup,
    ServerProcess,
    StallScript,
    assert_finished_once,
    call_key,
    calls_of,
    calls_report,
    course_request,
    get_json,
    mid_course,
    mid_course_streams,
    post_json,
    streams_seen,
    wait_mid_course,
    wait_until,
)

pytestmark = [pytest.mark.processes, pytest.mark.timeout(60)]

COURSE = "Resilient Pipelines"
THEMES, TOPICS = 2, 3
CUT = len(mid_course_streams(THEMES))


@pytest.fixture
def script() -> StallScript:
    script = StallScript()
    script.stall("crash point", mid_course(COURSE))
    return script


@pytest.fixture
def llm(script: StallScript) -> Iterator[ScriptedLLM]:
    with ScriptedLLM(script, token_s=0.005, chunk_chars=8) as server:
        yield server


@pytest.fixture
def servers(tmp_path: Path, llm: ScriptedLLM) -> Iterator[ServerGroup]:
    group = ServerGroup(
        tmp_path / "logs",
        {
            "COURSEGEN_MODEL": "openai:scripted",
            "COURSEGEN_BASE_URL": llm.base_url,
            "COURSEGEN_DATA_DIR": str(tmp_path / "data"),
            "COURSEGEN_LEASE_S": "2",
            "COURSEGEN_LLM_MAX_RETRIES": "0",
        },
    )
    try:
        yield group
    finally:
        group.stop_all()
        print(group.report())  # pytest shows it only when the test fails
        print(calls_report(llm.calls))


async def start_mid_course(
    servers: ServerGroup, llm: ScriptedLLM
) -> tuple[ServerProcess, EventReader, asyncio.Task[str]]:
    """Start a server and a course, with a reader attached, held at the crash point."""
    first = await servers.new("first").astart()
    job = await post_json(first.url, "/courses", course_request(COURSE, THEMES, TOPICS))
    reader = EventReader(job["id"])
    reading = asyncio.create_task(reader.read(first.url, timeout=40))
    await wait_mid_course(reader, THEMES)
    assert not reading.done(), "the stream ended before the crash"
    assert len([c for c in calls_of(llm.calls, COURSE) if not c.completed]) == CUT
    return first, reader, reading


async def test_sigkill_mid_content_then_restart_finishes_the_job(
    servers: ServerGroup, llm: ScriptedLLM, script: StallScript
) -> None:
    first, reader, reading = await start_mid_course(servers, llm)
    seen_before_kill = reader.last_id

    assert first.kill() == -9
    assert await reading == "dropped"
    assert reader.last_id >= seen_before_kill and not reader.ended
    await wait_until(
        lambda: all(c.ended is not None for c in llm.calls),
        timeout=5,
        what="the scripted model to see its connections cut",
    )

    script.release("crash point")
    second = await servers.new("second").astart()
    # The reader resumes with Last-Event-ID on the new process, drops the connection after a
    # few events, and resumes again to the end.
    assert await reader.read(second.url, max_events=3) == "stopped"
    await reader.read_to_end(second.url, timeout=20)

    per_connection = Counter(e.connection for e in reader.events)
    assert per_connection[1] > 0 and per_connection[2] == 3 and per_connection[3] > 0
    assert reader.events[-1].connection == 3
    snapshot = await get_json(second.url, f"/courses/{reader.job_id}")
    assert_finished_once(llm.calls, reader, snapshot, COURSE, themes=THEMES, topics=TOPICS, cut=CUT)


async def test_sigterm_hands_the_job_back_and_a_restart_finishes_it(
    servers: ServerGroup, llm: ScriptedLLM, script: StallScript, tmp_path: Path
) -> None:
    first, reader, reading = await start_mid_course(servers, llm)

    assert await first.aterminate(timeout=15) == 0  # a clean stop, though uvicorn re-raises it
    assert "Application shutdown complete" in first.log_text()
    assert await reading in ("closed", "dropped")
    assert not reader.ended
    # The drain cancelled the provider calls in flight…
    assert all(c.disconnected for c in calls_of(llm.calls, COURSE) if not c.completed)
    # …and handed the job back: still runnable, lease given back, no terminal event stored.
    assert_handed_back(tmp_path / "data" / "coursegen.sqlite", reader.job_id)

    script.release("crash point")
    second = await servers.new("second").astart()
    await reader.read_to_end(second.url, timeout=20)
    snapshot = await get_json(second.url, f"/courses/{reader.job_id}")
    assert_finished_once(llm.calls, reader, snapshot, COURSE, themes=THEMES, topics=TOPICS, cut=CUT)


async def test_sigterm_while_answers_stream_stops_at_once(
    servers: ServerGroup, llm: ScriptedLLM, script: StallScript, tmp_path: Path
) -> None:
    """The drain must stop streaming calls at once, not wait for the answers to end.

    Every content answer is long and streams with almost no pause between chunks: a drain
    whose cancellation got lost as a chunk arrived (asyncio.wait_for before Python 3.12)
    would keep the process alive until the answers finished, minutes later.
    """
    # 100,000 chunks 1 ms apart: a client that reads as fast as the answers come still needs
    # minutes for one, and the scripted server (in this process) keeps up with 6 of them.
    llm.token_s = 0.001
    endless = '{"body_markdown": "' + "text " * 100_000
    script.release("crash point")
    script.stall("flood", lambda call: call_key(call)[:2] == (COURSE, "TopicContent"), endless)
    first = await servers.new("first").astart()
    job = await post_json(first.url, "/courses", course_request(COURSE, THEMES, TOPICS))
    reader = EventReader(job["id"])
    reading = asyncio.create_task(reader.read(first.url, timeout=40))
    streams = [("content", i, j) for i in range(THEMES) for j in range(TOPICS)]
    await wait_until(lambda: streams_seen(reader, streams), 15, "all contents streaming")

    started = time.monotonic()
    assert await first.aterminate(timeout=10) in (0, -15)
    assert time.monotonic() - started < 8
    assert await reading in ("closed", "dropped")
    flooded = [c for c in calls_of(llm.calls, COURSE) if c.schema == "TopicContent"]
    await wait_until(lambda: all(c.ended for c in flooded), 5, "the calls to be closed")
    assert all(c.disconnected and not c.completed for c in flooded)
    assert_handed_back(tmp_path / "data" / "coursegen.sqlite", reader.job_id)

    script.release("flood")
    llm.token_s = 0.005
    second = await servers.new("second").astart()
    await reader.read_to_end(second.url, timeout=20)
    snapshot = await get_json(second.url, f"/courses/{reader.job_id}")
    assert_finished_once(
        llm.calls, reader, snapshot, COURSE, themes=THEMES, topics=TOPICS, cut=len(flooded)
    )


def assert_handed_back(database: Path, job_id: str) -> None:
    """The job is still runnable, its lease given back, and no terminal event is stored."""
    db = sqlite3.connect(database)
    try:
        row = db.execute(
            "SELECT status, lease_owner, error, cancel_requested FROM coursegen_jobs WHERE id = ?",
            (job_id,),
        ).fetchone()
        stored = db.execute(
            "SELECT type, data FROM coursegen_events WHERE job_id = ? ORDER BY id", (job_id,)
        ).fetchall()
    finally:
        db.close()
    assert row == ("running", None, None, 0)
    assert [kind for kind, _ in stored if kind in ("end", "error")] == []
    statuses = [json.loads(data)["status"] for kind, data in stored if kind == "status"]
    assert statuses == ["running"]
