"""Two real replicas on one PostgreSQL database and one Redis: a job created through replica A
runs on replica B; A streams it live (through Redis), takes it over when B dies, and cancels
it on B.

Which replica runs a job is made deterministic: A is started alone with
COURSEGEN_MAX_RUNNING_JOBS=1 and given a "blocker" job whose first LLM call never ends, so A
is full when B starts and the next job can only be claimed by B. Each test gets a database
of its own (`coursegen_test_<random>`), dropped at the end.
"""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
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
from tests.support.tcp_proxy import TcpProxy

pytestmark = [
    pytest.mark.processes,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.timeout(90),
]

REDIS_URL = "redis://127.0.0.1:6379/0"
LEASE_S = 2.0
LIVE_S = 2.5  # live delivery through Redis; a follower without it re-reads every 5 s
BLOCKER = "Blocker course"
COURSE = "Scaled Out Systems"
THEMES, TOPICS = 2, 3


@pytest.fixture
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def script() -> StallScript:
    script = StallScript()
    script.stall("blocker", lambda call: call_key(call)[0] == BLOCKER)
    return script


@pytest.fixture
def llm(script: StallScript) -> Iterator[ScriptedLLM]:
    with ScriptedLLM(script, token_s=0.005, chunk_chars=8) as server:
        yield server


@pytest.fixture
def servers(
    tmp_path: Path, llm: ScriptedLLM, database_url: str, redis_url: str
) -> Iterator[ServerGroup]:
    group = ServerGroup(
        tmp_path / "logs",
        {
            "COURSEGEN_MODEL": "openai:scripted",
            "COURSEGEN_BASE_URL": llm.base_url,
            "COURSEGEN_DATABASE_URL": database_url,
            "COURSEGEN_REDIS_URL": redis_url,
            "COURSEGEN_DATA_DIR": str(tmp_path / "data"),
            "COURSEGEN_LEASE_S": str(LEASE_S),
            "COURSEGEN_LLM_MAX_RETRIES": "0",
        },
    )
    try:
        yield group
    finally:
        group.stop_all()
        print(group.report())  # pytest shows it only when the test fails
        print(calls_report(llm.calls))
        print(dump_jobs(database_url))


def dump_jobs(database_url: str) -> str:
    """The jobs table and each job's last events, for the report of a failed test."""
    lines = ["----- coursegen_jobs -----"]
    try:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            jobs = conn.execute(
                "SELECT id, status, lease_owner, lease_expires_at, runs, cancel_requested, "
                "last_event_id FROM coursegen_jobs ORDER BY created_at"
            ).fetchall()
            for job in jobs:
                lines.append(repr(job))
                events = conn.execute(
                    "SELECT id, type, left(data, 100) FROM coursegen_events WHERE job_id = %s "
                    "AND type <> 'token' ORDER BY id DESC LIMIT 8",
                    (job[0],),
                ).fetchall()
                lines += [f"    {e!r}" for e in reversed(events)]
    except psycopg.Error as exc:
        lines.append(f"(unreadable: {exc})")
    return "\n".join(lines)


def job_row(database_url: str, job_id: str) -> dict[str, Any]:
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        cursor = conn.execute(
            "SELECT status, lease_owner, runs FROM coursegen_jobs WHERE id = %s", (job_id,)
        )
        status, lease_owner, runs = cursor.fetchone() or (None, None, None)
    return {"status": status, "lease_owner": lease_owner, "runs": runs}


async def start_replicas(
    servers: ServerGroup, llm: ScriptedLLM, **b_env: str
) -> tuple[ServerProcess, ServerProcess, str]:
    """Start A (one job at a time) busy with the blocker, then B (with `b_env` added to its
    environment); return A, B, blocker id."""
    a = await servers.new("A", COURSEGEN_MAX_RUNNING_JOBS="1").astart()
    blocker = await post_json(a.url, "/courses", course_request(BLOCKER, 1, 1))
    await wait_until(
        lambda: bool(calls_of(llm.calls, BLOCKER)), timeout=10, what="A to start the blocker"
    )
    b = await servers.new("B", **b_env).astart()
    return a, b, blocker["id"]


async def create_on_b(
    a: ServerProcess, database_url: str, blocker_id: str, llm: ScriptedLLM
) -> str:
    """Create the course through A and check that B (the replica not running the blocker)
    claimed it."""
    job = await post_json(a.url, "/courses", course_request(COURSE, THEMES, TOPICS))
    await wait_until(
        lambda: bool(calls_of(llm.calls, COURSE)), timeout=10, what="a replica to start the job"
    )
    runner = job_row(database_url, job["id"])["lease_owner"]
    blocker_runner = job_row(database_url, blocker_id)["lease_owner"]
    assert runner and blocker_runner and runner != blocker_runner, (runner, blocker_runner)
    return str(job["id"])


async def test_a_streams_a_job_of_b_and_takes_it_over_when_b_dies(
    servers: ServerGroup, llm: ScriptedLLM, script: StallScript, database_url: str
) -> None:
    script.stall("crash point", mid_course(COURSE))
    a, b, blocker_id = await start_replicas(servers, llm)
    job_id = await create_on_b(a, database_url, blocker_id, llm)
    b_worker = job_row(database_url, job_id)["lease_owner"]
    # Free A (cancel its blocker): B renews its lease on the course, so A, idle from now on,
    # must not take the course from B while B lives.
    await post_json(a.url, f"/courses/{blocker_id}/cancel")
    freed_at = time.monotonic()

    # Follow through A while B writes: the live events cross over Redis.
    reader = EventReader(job_id)
    reading = asyncio.create_task(reader.read(a.url, timeout=40))
    await wait_mid_course(reader, THEMES)
    assert not reading.done()
    cut = len(mid_course_streams(THEMES))
    stalled = [c for c in calls_of(llm.calls, COURSE) if not c.completed]
    assert len(stalled) == cut
    # Live, not by the follower's periodic re-read of the store (every 5 s): the stalled
    # streams' first halves reached A's client right after B received them.
    lag = reader.events[-1].received - max(c.started for c in stalled)
    assert lag < LIVE_S, f"B's events reached A's client {lag:.1f}s late"

    await wait_until(
        lambda: job_row(database_url, blocker_id)["status"] == "cancelled",
        timeout=10,
        what="the blocker to be cancelled",
    )
    await asyncio.sleep(max(0.0, freed_at + LEASE_S + 0.5 - time.monotonic()))
    assert job_row(database_url, job_id) == {
        "status": "running",
        "lease_owner": b_worker,
        "runs": 1,
    }

    script.release("crash point")
    assert b.kill() == -9
    # A claims the job once B's lease has run out (a deadline: not at some later sweep) and
    # resumes it from B's checkpoints; the reader's one connection to A carries on to the end.
    await wait_until(
        lambda: job_row(database_url, job_id)["runs"] == 2, LEASE_S + 10, "A to claim the job"
    )
    assert await asyncio.wait_for(reading, 60) == "closed"
    assert {e.connection for e in reader.events} == {1}

    # Exactly one takeover (B's claim, then A's); A gave the lease back when it finished.
    await wait_until(
        lambda: job_row(database_url, job_id)["lease_owner"] is None, 5, "A to release the job"
    )
    assert job_row(database_url, job_id) == {"status": "completed", "lease_owner": None, "runs": 2}
    snapshot = await get_json(a.url, f"/courses/{job_id}")
    assert_finished_once(
        calls_of(llm.calls, COURSE),
        reader,
        snapshot,
        COURSE,
        themes=THEMES,
        topics=TOPICS,
        cut=cut,
    )


async def test_cancel_through_a_stops_the_job_running_on_b(
    servers: ServerGroup, llm: ScriptedLLM, script: StallScript, database_url: str
) -> None:
    # Every topic's content streams a long answer (over a minute): the cancel comes mid-stream.
    endless = '{"body_markdown": "' + "text " * 20_000
    script.stall("contents", lambda call: call_key(call)[:2] == (COURSE, "TopicContent"), endless)
    a, b, blocker_id = await start_replicas(servers, llm)
    job_id = await create_on_b(a, database_url, blocker_id, llm)

    reader = EventReader(job_id)
    reading = asyncio.create_task(reader.read(a.url, timeout=30))
    streams = [("content", i, j) for i in range(THEMES) for j in range(TOPICS)]
    await wait_until(
        lambda: streams_seen(reader, streams), timeout=15, what="all contents streaming on B"
    )
    open_calls = [c for c in calls_of(llm.calls, COURSE) if c.schema == "TopicContent"]
    assert len(open_calls) == THEMES * TOPICS
    assert not any(c.ended for c in open_calls)

    cancelled_at = time.monotonic()
    await post_json(a.url, f"/courses/{job_id}/cancel")

    assert await asyncio.wait_for(reading, 15) == "closed"
    lag = reader.events[-1].received - cancelled_at
    assert lag < LIVE_S, f"B's `end` reached A's client {lag:.1f}s after the cancel"
    assert reader.events[-1].event == "end"
    assert reader.events[-1].data == {"status": "cancelled"}
    assert reader.ids == list(range(1, reader.last_id + 1))
    # B closed its connections to the provider.
    await wait_until(
        lambda: all(c.ended is not None for c in open_calls),
        timeout=5,
        what="the scripted model to see the calls closed",
    )
    assert all(c.disconnected and not c.completed for c in open_calls)
    assert not [c for c in calls_of(llm.calls, COURSE) if c.schema == "PolishedTopic"]

    for replica in (a, b):
        snapshot = await get_json(replica.url, f"/courses/{job_id}")
        assert snapshot["status"] == "cancelled"
        assert snapshot["last_event_id"] == reader.last_id
    # B did it (A never claimed the job), and B is still serving.
    await wait_until(
        lambda: job_row(database_url, job_id)["lease_owner"] is None, 5, "B to release the job"
    )
    assert job_row(database_url, job_id) == {"status": "cancelled", "lease_owner": None, "runs": 1}
    assert b.alive
    assert (await get_json(b.url, "/healthz")) == {"status": "ok"}


async def test_a_cancel_whose_message_is_lost_stops_the_job_at_the_next_heartbeat(
    servers: ServerGroup, llm: ScriptedLLM, script: StallScript, database_url: str
) -> None:
    """B reaches Redis through a proxy that the test cuts: A's control message never gets to
    B, and B's lease heartbeat reads the durable `cancel_requested` instead."""
    endless = '{"body_markdown": "' + "text " * 20_000
    script.stall("contents", lambda call: call_key(call)[:2] == (COURSE, "TopicContent"), endless)
    with TcpProxy("127.0.0.1", 6379) as proxy:
        a, b, blocker_id = await start_replicas(servers, llm, COURSEGEN_REDIS_URL=proxy.url())
        job_id = await create_on_b(a, database_url, blocker_id, llm)
        await wait_until(
            lambda: (
                len([c for c in calls_of(llm.calls, COURSE) if c.schema == "TopicContent"])
                == THEMES * TOPICS
            ),
            timeout=15,
            what="all contents streaming on B",
        )
        open_calls = [c for c in calls_of(llm.calls, COURSE) if c.schema == "TopicContent"]

        proxy.cut()
        await wait_until(
            lambda: "redis listener lost its connection" in b.log_text(), 10, "B to see the cut"
        )
        assert (await post_json(a.url, f"/courses/{job_id}/cancel"))["id"] == job_id
        # A few heartbeats (LEASE_S / 3 each) at most; the endless contents take minutes.
        await wait_until(
            lambda: job_row(database_url, job_id)["status"] == "cancelled",
            timeout=3 * LEASE_S,
            what="B to cancel the job",
        )
        await wait_until(
            lambda: all(c.ended is not None for c in open_calls), 5, "B to close its calls"
        )
        assert all(c.disconnected and not c.completed for c in open_calls)
        assert not [c for c in calls_of(llm.calls, COURSE) if c.schema == "PolishedTopic"]
        assert job_row(database_url, job_id)["runs"] == 1  # B did it, A never claimed it

        proxy.restore()
        await wait_until(
            lambda: "redis listener reconnected" in b.log_text(), 10, "B's listener to reconnect"
        )
    assert b.alive
    assert (await get_json(b.url, f"/courses/{job_id}"))["status"] == "cancelled"
