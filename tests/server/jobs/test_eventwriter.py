"""The event writer: group commits across jobs, gap-free ids, isolation of a lost lease."""

import asyncio
import time
from typing import Any

import orjson
import pytest

from coursegen.domain import CourseRequest
from coursegen.graph.progress import CourseSnapshot
from coursegen.server.jobs.broker import LocalBroker
from coursegen.server.jobs.eventlog import JobEventLog
from coursegen.server.jobs.eventwriter import EventWriter
from coursegen.server.jobs.models import Job, JobStatus
from coursegen.server.jobs.stops import StopReason, reason_of
from coursegen.server.jobs.store import LeaseLost, SqlJobStore

WORKER = "test-worker"


class CountingStore:
    """A job store (either backend) that counts transactions storing events, and can be told
    to fail them; everything else goes to the store it wraps."""

    def __init__(self, store: SqlJobStore) -> None:
        self.store = store
        self.rounds: list[int] = []
        self.broken = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def append_many(self, batches):  # type: ignore[no-untyped-def]
        if self.broken:
            raise OSError("disk gone")
        self.rounds.append(len(batches))
        return await self.store.append_many(batches)


async def new_job(store: Any, job_id: str, worker: str = WORKER) -> None:
    now = time.time()
    job = Job(
        id=job_id,
        owner="o",
        status=JobStatus.RUNNING,
        request=CourseRequest(course_name="C"),
        created_at=now,
        updated_at=now,
    )
    await store.create(job)
    await store.update(job_id, {"lease_owner": worker, "lease_expires_at": now + 60})


def event_log(writer: EventWriter, job_id: str) -> JobEventLog:
    return JobEventLog(writer, job_id, WORKER, {"themes": []})


def token(text: str, topic: int = 0) -> dict[str, object]:
    return {"stage": "content", "theme": 0, "topic": topic, "text": text}


@pytest.fixture
def store(job_store: SqlJobStore) -> CountingStore:
    """The job store on each backend (tests/conftest.py), counting its event transactions."""
    return CountingStore(job_store)


async def test_one_transaction_stores_what_every_job_buffered(store: CountingStore) -> None:
    broker = LocalBroker()
    writer = EventWriter(store, broker)
    logs = [event_log(writer, f"job{i}") for i in range(5)]
    for log in logs:
        await new_job(store, log.job_id)
    async with broker.subscribe("job3") as live:
        for log in logs:  # all emitted before the writer gets a turn
            log.emit("status", {"status": "running"})
            log.emit("token", token("Hello"))
            log.emit("token", token(", world"))
        writer.start()
        await asyncio.gather(*(log.flush() for log in logs))
        published = live.get_nowait()
    await writer.close()
    assert store.rounds == [5]
    for log in logs:
        stored = await store.events_after(log.job_id, 0)
        assert [(e.id, e.type) for e in stored] == [(1, "status"), (2, "token")]
        assert orjson.loads(stored[1].data)["text"] == "Hello, world"  # merged while waiting
    assert [e.id for e in published] == [1, 2]


async def test_ids_stay_gap_free_across_rounds(store: CountingStore) -> None:
    writer = EventWriter(store, LocalBroker())
    writer.start()
    log = event_log(writer, "job")
    await new_job(store, "job")
    for i in range(30):
        log.emit("token", token(f"t{i} ", topic=i % 3))
        if i % 7 == 0:
            await asyncio.sleep(0.001)
    await log.flush()
    await writer.close()
    stored = await store.events_after("job", 0)
    assert [e.id for e in stored] == list(range(1, len(stored) + 1))
    assert len(store.rounds) > 1
    texts = {0: "", 1: "", 2: ""}
    for event in stored:
        data = orjson.loads(event.data)
        texts[data["topic"]] += data["text"]
    assert texts == {k: "".join(f"t{i} " for i in range(30) if i % 3 == k) for k in texts}


async def test_a_lost_lease_fails_its_job_only(store: CountingStore) -> None:
    writer = EventWriter(store, LocalBroker())
    writer.start()
    kept, lost = event_log(writer, "kept"), event_log(writer, "lost")
    await new_job(store, "kept")
    await new_job(store, "lost", worker="another-replica")
    kept.emit("status", {"status": "running"})
    lost.emit("status", {"status": "running"})
    results = await asyncio.gather(kept.flush(), lost.flush(), return_exceptions=True)
    await writer.close()
    assert results[0] is None
    assert isinstance(results[1], LeaseLost)
    assert [e.id for e in await store.events_after("kept", 0)] == [1]
    assert await store.events_after("lost", 0) == []


async def test_a_failed_write_keeps_the_batch_and_stops_the_run(store: CountingStore) -> None:
    writer = EventWriter(store, LocalBroker())
    writer.start()
    log = event_log(writer, "job")
    await new_job(store, "job")
    store.broken = True

    async def run() -> None:
        async with log.flushing():
            log.emit("status", {"status": "running"})
            await asyncio.sleep(30)  # the writer's failure must cancel this

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(run(), 10)
    assert isinstance(log.failure, OSError)
    store.broken = False
    await log.flush()  # what failed was kept, in order
    await writer.close()
    assert [(e.id, e.type) for e in await store.events_after("job", 0)] == [(1, "status")]


@pytest.mark.parametrize("data", ['{"text":"a b"}', '{"x":1}\n{"y":2}'])
def test_an_event_is_encoded_as_sse_starlette_would(data: str) -> None:
    from sse_starlette import ServerSentEvent

    from coursegen.server.jobs.models import Event
    from coursegen.server.routes.sse import SSE_SEP, encode_event

    event = Event(id=7, type="token", data=data)
    expected = ServerSentEvent(data=data, event="token", id="7", sep=SSE_SEP).encode()
    assert encode_event(event) == expected and b"\r" not in expected


OUTLINE = {"outline": {"themes": [{"title": "A", "description": "a"}, {"title": "B"}]}}
TOPICS = {"theme": 0, "topics": {"topics": [{"title": "A1", "description": "a1"}]}}


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("content", {"theme": 1, "topic": 0, "content": "lost topics event"}),
        ("polished", {"theme": 0, "topic": 3, "polished": "no such topic"}),
        ("content", {"theme": 5, "topic": 0, "content": "no such theme"}),
        ("topics", {"theme": 4, "topics": {"topics": [{"title": "X"}]}}),
        ("error", {"theme": 1, "topic": 2, "message": "topic of a theme without topics"}),
        ("error", {"theme": 9, "message": "theme beyond the outline"}),
    ],
)
def test_an_event_for_a_part_the_course_lacks_is_not_folded_in(
    kind: str, data: dict[str, object]
) -> None:
    """On resume an event may arrive for a theme or topic whose own event was lost."""
    snapshot = CourseSnapshot({"themes": []})
    snapshot.apply("outline", OUTLINE)
    snapshot.apply("topics", TOPICS)
    before = orjson.dumps(snapshot.course)
    assert snapshot.apply(kind, data) is False
    assert orjson.dumps(snapshot.course) == before
    assert snapshot.progress()["done"] == 2


async def test_a_resumed_log_stores_an_event_whose_topic_it_never_saw(
    store: CountingStore,
) -> None:
    writer = EventWriter(store, LocalBroker())
    writer.start()
    await new_job(store, "job")
    course = CourseSnapshot({"themes": []})
    course.apply("outline", OUTLINE)  # theme 1's topic list was lost with the old replica
    log = JobEventLog(writer, "job", WORKER, course.course, keep_known_topics=True)
    log.emit("content", {"theme": 1, "topic": 0, "content": "written before the crash"})
    await log.flush()
    await writer.close()
    assert [e.type for e in await store.events_after("job", 0)] == ["content"]


async def test_a_lease_lost_in_the_background_stops_the_run_with_its_reason(
    store: CountingStore,
) -> None:
    writer = EventWriter(store, LocalBroker())
    writer.start()
    log = event_log(writer, "taken")
    await new_job(store, "taken", worker="another-replica")
    reasons: list[StopReason] = []

    async def run() -> None:
        try:
            async with log.flushing():
                log.emit("status", {"status": "running"})
                await asyncio.sleep(30)  # the writer's refusal must cancel this
        except asyncio.CancelledError as exc:
            reasons.append(reason_of(exc))
            raise

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(run(), 10)
    await writer.close()
    assert reasons == [StopReason.LEASE_LOST]
    assert isinstance(log.failure, LeaseLost)
    assert await store.events_after("taken", 0) == []
