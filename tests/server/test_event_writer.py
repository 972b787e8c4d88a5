"""The event writer: group commits across jobs, gap-free ids, isolation of a lost lease."""

import asyncio
import time
from pathlib import Path

import orjson
import pytest

from coursegen.domain import CourseRequest
from coursegen.graph.progress import CourseSnapshot
from coursegen.server.jobs.broker import LocalBroker
from coursegen.server.jobs.eventlog import JobEventLog
from coursegen.server.jobs.eventwriter import EventWriter
from coursegen.server.jobs.models import Job, JobStatus
from coursegen.server.jobs.sqlite_store import SqliteJobStore
from coursegen.server.jobs.store import LeaseLost

WORKER = "test-worker"


class CountingStore(SqliteJobStore):
    """Counts transactions that store events, and can be told to fail them."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.rounds: list[int] = []
        self.broken = False

    async def append_many(self, batches):  # type: ignore[no-untyped-def]
        if self.broken:
            raise OSError("disk gone")
        self.rounds.append(len(batches))
        return await super().append_many(batches)


async def new_job(store: SqliteJobStore, job_id: str, worker: str = WORKER) -> None:
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
    return JobEventLog(writer, job_id, WORKER, CourseSnapshot({"themes": []}))


def token(text: str, topic: int = 0) -> dict[str, object]:
    return {"stage": "content", "theme": 0, "topic": topic, "text": text}


@pytest.fixture
async def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = CountingStore(tmp_path / "jobs.sqlite")
    await store.setup()
    yield store
    await store.close()


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
    from coursegen.server.routes.courses import SSE_SEP, encode_event

    event = Event(id=7, type="token", data=data)
    expected = ServerSentEvent(data=data, event="token", id="7", sep=SSE_SEP).encode()
    assert encode_event(event) == expected and b"\r" not in expected
