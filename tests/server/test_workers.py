"""`coursegen serve --workers 2`: two worker processes behind one port share the jobs as
replicas do, on SQLite (one file, no Redis) and on PostgreSQL (no Redis either).

Each worker runs one job at a time (COURSEGEN_MAX_RUNNING_JOBS=1), so the first course is
claimed by one worker (R) and the second by the other (S). Which worker answers a request is
the kernel's choice: the tests open connections until the one they want answers (each
response names its worker in `X-Coursegen-Worker`). Then: a reader moves from R to S with
Last-Event-ID and sees R's job live through S, a cancel sent to R stops S's job, and after
the whole server is killed a new one finishes R's job from its checkpoints.
"""

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.databases import private_postgres
from tests.support.scripted_llm import ScriptedLLM
from tests.support.server_process import (
    EventReader,
    ServerGroup,
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
    post_on,
    streams_seen,
    wait_until,
)

pytestmark = pytest.mark.timeout(300)  # two starts of two workers each, on a shared machine

COURSE, ENDLESS = "Worker Processes", "Endless Course"
THEMES, TOPICS = 2, 3
CUT = len(mid_course_streams(THEMES))
LIVE_S = 2.5  # live relay between the workers; without it a follower re-reads every 5 s
START_S = 180.0
LEASE_S = 6.0  # spawning two workers re-imports everything in each


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The store's URL: PostgreSQL (a private database), or the SQLite file's path."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        with private_postgres() as url:
            yield url
    else:
        yield str(tmp_path / "data" / "coursegen.sqlite")


@pytest.fixture
def script() -> StallScript:
    script = StallScript()
    script.stall("crash point", mid_course(COURSE))
    endless = '{"body_markdown": "' + "text " * 20_000
    script.stall("endless", lambda call: call_key(call)[:2] == (ENDLESS, "TopicContent"), endless)
    return script


@pytest.fixture
def llm(script: StallScript) -> Iterator[ScriptedLLM]:
    with ScriptedLLM(script, token_s=0.005, chunk_chars=8) as server:
        yield server


@pytest.fixture
def servers(tmp_path: Path, llm: ScriptedLLM, database: str) -> Iterator[ServerGroup]:
    env = {
        "COURSEGEN_MODEL": "openai:scripted",
        "COURSEGEN_BASE_URL": llm.base_url,
        "COURSEGEN_DATA_DIR": str(tmp_path / "data"),
        # Long enough that a worker starved of CPU by its sibling's start-up keeps its lease
        # (the restart takes longer than this anyway: no wait is added).
        "COURSEGEN_LEASE_S": str(LEASE_S),
        "COURSEGEN_LLM_MAX_RETRIES": "0",
        "COURSEGEN_WORKERS": "2",
        "COURSEGEN_MAX_RUNNING_JOBS": "1",
    }
    if database.startswith("postgresql://"):
        env["COURSEGEN_DATABASE_URL"] = database
    group = ServerGroup(tmp_path / "logs", env)
    try:
        yield group
    finally:
        group.stop_all()
        print(group.report())  # pytest shows it only when the test fails
        print(calls_report(llm.calls))


def job_row(database: str, job_id: str) -> dict[str, Any]:
    """The job's status, lease owner (the worker's short name) and number of claims."""
    sql = "SELECT status, lease_owner, runs FROM coursegen_jobs WHERE id = ?"
    row: Any
    if database.startswith("postgresql://"):
        with psycopg.connect(database, connect_timeout=5) as conn:
            row = conn.execute(sql.replace("?", "%s"), (job_id,)).fetchone()
    else:
        with sqlite3.connect(database, timeout=10) as conn:
            row = conn.execute(sql, (job_id,)).fetchone()
    status, owner, runs = row or (None, None, None)
    return {"status": status, "worker": owner and owner.rpartition(":")[2], "runs": runs}


async def claimed(database: str, job_id: str) -> str:
    """Wait for a worker to claim the job; its short name."""
    await wait_until(
        lambda: job_row(database, job_id)["worker"] is not None, 30, f"a worker to claim {job_id}"
    )
    return str(job_row(database, job_id)["worker"])


def at_crash_point(reader: EventReader) -> bool:
    return (
        len(reader.of_type("content")) == 2 * THEMES
        and len(reader.of_type("polished")) == THEMES
        and streams_seen(reader, mid_course_streams(THEMES))
    )


async def test_two_workers_share_claims_streams_cancels_and_resume(
    servers: ServerGroup, llm: ScriptedLLM, script: StallScript, database: str
) -> None:
    first = await servers.new("first").astart(timeout=START_S)
    course = await post_json(first.url, "/courses", course_request(COURSE, THEMES, TOPICS))
    r = await claimed(database, course["id"])
    endless = await post_json(first.url, "/courses", course_request(ENDLESS, 1, 2))
    s = await claimed(database, endless["id"])
    assert r != s  # R is full: S took the second job

    # The course, read from R, then from S with Last-Event-ID: S relays R's events live.
    reader = EventReader(course["id"])
    assert await reader.read_on(first.url, r, max_events=20) == "stopped"
    reading = asyncio.create_task(reader.read_on(first.url, s, until=at_crash_point, timeout=60))

    # The endless course, followed through R, cancelled through R, runs on S.
    follower = EventReader(endless["id"])
    following = asyncio.create_task(follower.read_on(first.url, r, timeout=60))
    streams = [("content", 0, j) for j in range(2)]
    await wait_until(lambda: streams_seen(follower, streams), 30, "S's contents through R")
    open_calls = [c for c in calls_of(llm.calls, ENDLESS) if c.schema == "TopicContent"]
    assert len(open_calls) == 2 and not any(c.ended for c in open_calls)
    cancelled_at = time.monotonic()
    assert (await post_on(first.url, r, f"/courses/{endless['id']}/cancel"))["id"] == endless["id"]
    assert await asyncio.wait_for(following, 15) == "closed"
    assert follower.events[-1].data == {"status": "cancelled"}
    assert follower.events[-1].received - cancelled_at < LIVE_S
    assert follower.ids == list(range(1, follower.last_id + 1))
    assert follower.served_by == [r]
    await wait_until(lambda: all(c.ended for c in open_calls), 10, "S to close its calls")
    assert all(c.disconnected and not c.completed for c in open_calls)
    await wait_until(lambda: job_row(database, endless["id"])["worker"] is None, 10, "S's release")
    assert job_row(database, endless["id"]) == {"status": "cancelled", "worker": None, "runs": 1}

    assert await asyncio.wait_for(reading, 60) == "stopped"
    assert reader.served_by == [r, s]
    stalled = [c for c in calls_of(llm.calls, COURSE) if not c.completed]
    assert len(stalled) == CUT
    # Live: the stalled streams' first halves reached S's client right after R got them
    # (or, had S's connection come later, right after it: the replay of the store).
    since = max(max(c.started for c in stalled), reader.connected_at[-1])
    assert reader.events[-1].received - since < LIVE_S
    await asyncio.sleep(0.3)  # the finished calls' checkpoints are written just after them
    assert job_row(database, course["id"]) == {"status": "running", "worker": r, "runs": 1}

    # Kill the server and its workers; a new server finishes the course where R left it.
    assert first.kill() == -9
    script.release("crash point")
    second = await servers.new("second").astart(timeout=START_S)
    await reader.read_to_end(second.url, timeout=60)
    snapshot = await get_json(second.url, f"/courses/{course['id']}")
    assert_finished_once(
        calls_of(llm.calls, COURSE), reader, snapshot, COURSE, themes=THEMES, topics=TOPICS, cut=CUT
    )
    assert job_row(database, course["id"])["runs"] == 2
