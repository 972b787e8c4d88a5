"""Kill or stop a real `coursegen serve` process mid-course: a new process on the same data
directory finishes the job, the event log stays gap-free, and no finished LLM call is repeated.

Embedded mode (SQLite). The scripted model holds some calls open ("stall") until the first
process is gone, so the moment of the crash is deterministic. Per theme of three topics:
topic 1 is finished (content and polish), topic 2 has its content and is being polished,
topic 3 is being written.
"""

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.scripted_llm import Call, Fault, Reply, ScriptedLLM
from tests.support.server_process import (
    EventReader,
    ServerGroup,
    call_key,
    calls_of,
    completed_keys,
    course_request,
    get_json,
    post_json,
    streams_seen,
    token_text,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)

COURSE = "Resilient Pipelines"
THEMES, TOPICS = 2, 3
# (stage, theme, topic) of the calls held open until the first process is gone.
STALLED = [("content", i, 2) for i in range(THEMES)] + [("polish", i, 1) for i in range(THEMES)]


class StallFirstRun:
    """Until `release()`: stall the content of each theme's topic 3 and the polish of topic 2."""

    def __init__(self) -> None:
        self.stalling = True

    def release(self) -> None:
        self.stalling = False

    def __call__(self, call: Call) -> Reply:
        if not self.stalling:
            return None
        title = call_key(call)[2] or ""
        if call.schema == "TopicContent" and title.endswith("Topic 3"):
            return Fault("stall")
        if call.schema == "PolishedTopic" and title.endswith("Topic 2"):
            return Fault("stall")
        return None


@pytest.fixture
def script() -> StallFirstRun:
    return StallFirstRun()


@pytest.fixture
def llm(script: StallFirstRun) -> Iterator[ScriptedLLM]:
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
        print(group.report())  # shown by pytest only when the test fails


async def run_until_mid_content(
    servers: ServerGroup, llm: ScriptedLLM, name: str
) -> tuple[Any, EventReader, Any]:
    """Start a server and a course; return when the scripted stalls hold the run mid-content."""
    first = await servers.new(name).astart()
    job = await post_json(first.url, "/courses", course_request(COURSE, THEMES, TOPICS))
    reader = EventReader(job["id"])
    reading = asyncio.create_task(reader.read(first.url, timeout=30))
    await wait_until(
        lambda: len(reader.of_type("content")) == 2 * THEMES
        and len(reader.of_type("polished")) == THEMES
        and streams_seen(reader, STALLED),
        timeout=15,
        what="topics 1 finished, topics 2 written and the stalled streams under way",
    )
    # The finished calls' checkpoints are written in the background right after they return:
    # leave them a moment, so that "finished before the crash" is unambiguous.
    await asyncio.sleep(0.3)
    assert not reading.done(), "the stream ended before the crash"
    stalled = [c for c in calls_of(llm.calls, COURSE) if not c.completed]
    assert len(stalled) == len(STALLED), [(c.schema, c.data.get("topic")) for c in stalled]
    return first, reader, reading


def assert_finished_once(llm: ScriptedLLM, reader: EventReader, course: dict[str, Any]) -> None:
    """Gap-free ids, every call completed exactly once, a whole course, consistent tokens."""
    assert reader.ids == list(range(1, reader.last_id + 1)), "event ids have gaps or repeats"
    assert reader.events[-1].event == "end"
    assert reader.events[-1].data == {"status": "completed"}
    done = completed_keys(llm.calls, COURSE)
    repeated = {key: n for key, n in done.items() if n > 1}
    assert not repeated, f"completed calls were repeated: {repeated}"
    assert len(done) == 1 + THEMES + 2 * THEMES * TOPICS, sorted(done)
    cut = [c for c in calls_of(llm.calls, COURSE) if not c.completed]
    assert len(cut) == len(STALLED)
    assert all(c.disconnected for c in cut)

    # A resumed run must not take back what the log already reported as done.
    done_counts = [e.data["done"] for e in reader.of_type("progress")]
    assert done_counts == sorted(done_counts), f"progress went backwards: {done_counts}"
    stages = [e.data["stage"] for e in reader.of_type("stage")]
    assert stages == ["outline", "topics", "content", "polish"], stages

    assert course["status"] == "completed"
    assert course["progress"]["done"] == course["progress"]["total"] > 0
    assert course["last_event_id"] == reader.last_id
    themes = course["course"]["themes"]
    assert len(themes) == THEMES
    for i, theme in enumerate(themes):
        assert len(theme["topics"]) == TOPICS
        for j, topic in enumerate(theme["topics"]):
            assert topic["error"] is None
            assert topic["content"] and topic["content"]["body_markdown"]
            assert topic["polished"] and topic["polished"]["body_markdown"].startswith("✨ ")
            # A reader that drops a stream's text at each `start` marker ends up with the
            # answer that was kept, even for streams cut off by the crash and started again.
            for stage, kind in (("content", "content"), ("polish", "polished")):
                text = token_text(reader.events, stage, i, j)
                assert json.loads(text)["body_markdown"] == topic[kind]["body_markdown"]


async def test_sigkill_mid_content_then_restart_finishes_the_job(
    servers: ServerGroup, llm: ScriptedLLM, script: StallFirstRun
) -> None:
    first, reader, reading = await run_until_mid_content(servers, llm, "first")
    seen_before = reader.last_id

    assert first.kill() == -9
    assert await reading == "dropped"
    assert reader.last_id >= seen_before
    assert not reader.ended
    await wait_until(
        lambda: all(c.ended is not None for c in llm.calls),
        timeout=5,
        what="the scripted model to see the cut connections",
    )

    script.release()
    second = await servers.new("second").astart()
    await reader.read_to_end(second.url, timeout=20)

    assert {e.connection for e in reader.events} == {1, 2}, "both processes sent events"
    course = await get_json(second.url, f"/courses/{reader.job_id}")
    assert_finished_once(llm, reader, course)


async def test_sigterm_hands_the_job_back_and_a_restart_finishes_it(
    servers: ServerGroup, llm: ScriptedLLM, script: StallFirstRun, tmp_path: Path
) -> None:
    first, reader, reading = await run_until_mid_content(servers, llm, "first")

    status = await first.aterminate(timeout=15)
    assert status in (0, -15), status
    assert "Application shutdown complete" in first.log_text()
    assert await reading in ("closed", "dropped")
    assert not reader.ended
    # Drain cancelled the provider calls in flight…
    assert all(c.disconnected for c in calls_of(llm.calls, COURSE) if not c.completed)
    # …and handed the job back: still runnable, lease free, no terminal event stored.
    db = sqlite3.connect(tmp_path / "data" / "coursegen.sqlite")
    try:
        row = db.execute(
            "SELECT status, lease_owner, error, cancel_requested FROM coursegen_jobs WHERE id = ?",
            (reader.job_id,),
        ).fetchone()
        kinds = [r[0] for r in db.execute("SELECT type FROM coursegen_events WHERE job_id = ?", (reader.job_id,))]
    finally:
        db.close()
    assert row == ("running", None, None, 0)
    assert "end" not in kinds and "error" not in kinds

    script.release()
    second = await servers.new("second").astart()
    await reader.read_to_end(second.url, timeout=20)
    course = await get_json(second.url, f"/courses/{reader.job_id}")
    assert_finished_once(llm, reader, course)
    statuses = [e.data["status"] for e in reader.of_type("status")]
    assert "failed" not in statuses and "cancelled" not in statuses
