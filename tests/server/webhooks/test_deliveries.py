"""The webhook outbox on SQLite and PostgreSQL: enqueued with the status change, claimed by
one replica at a time, retried on a schedule, given up after the window."""

import asyncio
import time
from typing import Any

import orjson
import pytest

from coursegen.domain import CourseRequest
from coursegen.server.jobs.models import Job, JobStatus
from coursegen.server.jobs.outbox import ADD_TARGET, WebhookTarget
from coursegen.server.jobs.store import Batch, LeaseLost, SqlJobStore
from coursegen.server.webhooks.deliveries import Attempt, DeliveryStore
from coursegen.server.webhooks.payload import body_of
from coursegen.server.webhooks.sender import SenderConfig, WebhookSender
from tests.support.backends import Backend
from tests.support.webhook_receiver import TEST_SECRET, WebhookReceiver

WORKER = "worker-a"
URL = "https://hooks.example.org/in"


@pytest.fixture
def store(job_store: SqlJobStore) -> SqlJobStore:
    """The job store on each backend (tests/conftest.py)."""
    return job_store


async def new_job(store: SqlJobStore, job_id: str, webhook: WebhookTarget | None) -> None:
    now = time.time()
    job = Job(
        id=job_id,
        status=JobStatus.RUNNING,
        request=CourseRequest(course_name="C"),
        created_at=now,
        updated_at=now,
        lease_owner=WORKER,
        lease_expires_at=now + 60,
    )
    await store.create(job, webhook=webhook)


def finish(job_id: str, status: JobStatus, worker: str = WORKER) -> Batch:
    fields = {"status": status, "stage": "polish", "progress": {"done": 3, "total": 3}}
    return Batch(job_id, worker, [("status", orjson.dumps({"status": status}).decode())], fields)


async def test_a_status_change_enqueues_in_its_own_transaction(store: SqlJobStore) -> None:
    await new_job(store, "hooked", WebhookTarget(URL))
    await new_job(store, "silent", None)
    await new_job(store, "lost", WebhookTarget(URL))
    results = await store.append_many(
        [
            finish("hooked", JobStatus.COMPLETED),
            finish("silent", JobStatus.COMPLETED),
            finish("lost", JobStatus.FAILED, worker="someone-else"),
            Batch("hooked", WORKER, [], {"stage": "polish"}),  # no status: no webhook
        ]
    )
    assert isinstance(results[2], LeaseLost)
    deliveries = DeliveryStore(store)
    [(row, attempts)] = await deliveries.of_job("hooked")
    assert await deliveries.of_job("silent") == [] and await deliveries.of_job("lost") == []
    assert attempts == [] and row["state"] == "pending" and row["url"] == URL
    assert row["type"] == "course.completed" and row["status"] == "completed"
    assert row["id"].startswith("msg_")
    body = orjson.loads(body_of(row, None))
    # The row was copied after the update: stage and progress are the batch's.
    assert body["data"]["stage"] == "polish" and body["data"]["progress"] == {"done": 3, "total": 3}
    assert body["data"]["links"]["self"] == "/courses/hooked"
    # A running status tells nobody.
    await store.append_many([finish("hooked", JobStatus.RUNNING)])
    assert len(await deliveries.of_job("hooked")) == 1


async def test_concurrent_claims_take_each_delivery_once(store: SqlJobStore) -> None:
    for i in range(12):
        await new_job(store, f"job{i}", WebhookTarget(URL))
    await store.append_many([finish(f"job{i}", JobStatus.COMPLETED) for i in range(12)])
    deliveries = DeliveryStore(store)
    claims = await asyncio.gather(*(deliveries.claim(f"w{n}", 30, 5) for n in range(4)))
    ids = [row["id"] for claim in claims for row in claim]
    assert len(ids) == len(set(ids)) == 12
    assert all(row["attempts"] == 1 for claim in claims for row in claim)
    # Claimed: not due again until the lease runs out.
    assert await deliveries.claim("w9", 30, 100) == []
    assert await deliveries.pending() == 12


async def test_attempts_are_recorded_and_a_lost_claim_changes_nothing(store: SqlJobStore) -> None:
    await new_job(store, "job", WebhookTarget(URL))
    await store.append_many([finish("job", JobStatus.COMPLETED)])
    deliveries = DeliveryStore(store)
    [row] = await deliveries.claim(WORKER, 30, 10)
    retry_at = time.time() - 1  # due again at once
    assert await deliveries.record(row, WORKER, Attempt(500, "HTTP 500", 0.01), retry_at)
    [again] = await deliveries.claim(WORKER, 0.0, 10)  # a lease of 0: lapses at once
    assert again["id"] == row["id"] and again["attempts"] == 2
    [late] = await deliveries.claim("worker-b", 30, 10)  # another replica takes it over
    assert not await deliveries.record(again, WORKER, Attempt(200, None, 0.01), None)
    assert await deliveries.record(late, "worker-b", Attempt(204, None, 0.02), None)
    [(final, attempts)] = await deliveries.of_job("job")
    assert final["state"] == "delivered" and final["last_status_code"] == 204
    assert [(a["attempt"], a["status_code"]) for a in attempts] == [(1, 500), (2, 200), (3, 204)]
    assert await deliveries.pending() == 0


async def test_given_up_then_retried_by_hand(store: SqlJobStore) -> None:
    await new_job(store, "job", WebhookTarget(URL))
    await store.append_many([finish("job", JobStatus.CANCELLED)])
    deliveries = DeliveryStore(store)
    [row] = await deliveries.claim(WORKER, 30, 10)
    assert await deliveries.retry("job", row["id"]) == "sending"  # in flight: left alone
    await deliveries.record(row, WORKER, Attempt(None, "refused", 0.0), None)
    [(failed, _)] = await deliveries.of_job("job")
    assert failed["state"] == "failed" and failed["last_error"] == "refused"
    assert await deliveries.claim(WORKER, 30, 10) == []
    assert await deliveries.retry("other-job", row["id"]) is None
    assert await deliveries.retry("job", row["id"]) == "failed"
    [resent] = await deliveries.claim(WORKER, 30, 10)
    assert resent["id"] == row["id"] and resent["retry_from"] > row["retry_from"]


async def test_deleting_a_job_deletes_its_webhooks(store: SqlJobStore) -> None:
    await new_job(store, "job", WebhookTarget(URL, key_id="k1"))
    await store.append_many([finish("job", JobStatus.COMPLETED)])
    deliveries = DeliveryStore(store)
    [row] = await deliveries.claim(WORKER, 30, 10)
    assert row["key_id"] == "k1"
    await deliveries.record(row, WORKER, Attempt(200, None, 0.0), None)
    assert await store.delete("job")
    assert await deliveries.of_job("job") == []
    async with store.transaction() as tx:
        for table in ("targets", "deliveries", "attempts"):
            rows = await tx.fetch(f"SELECT COUNT(*) AS n FROM coursegen_webhook_{table}")
            assert rows[0]["n"] == 0, table


async def test_an_attempt_ending_after_its_job_was_deleted_leaves_nothing(
    store: SqlJobStore,
) -> None:
    await new_job(store, "job", WebhookTarget(URL))
    await store.append_many([finish("job", JobStatus.COMPLETED)])
    deliveries = DeliveryStore(store)
    [row] = await deliveries.claim(WORKER, 30, 10)
    assert await store.delete("job")  # while the attempt is in flight
    assert not await deliveries.record(row, WORKER, Attempt(200, None, 0.0), None)
    async with store.transaction() as tx:
        rows = await tx.fetch("SELECT COUNT(*) AS n FROM coursegen_webhook_attempts")
    assert rows[0]["n"] == 0


async def test_two_replicas_sending_at_once_send_each_message_once(
    store: SqlJobStore, backend: Backend
) -> None:
    """Two senders, each with its own connection to the store, against a slow receiver."""
    for i in range(10):
        await new_job(store, f"job{i}", None)
    with WebhookReceiver() as receiver:
        async with store.transaction() as tx:
            for i in range(10):
                await tx.run(ADD_TARGET, (f"job{i}", receiver.url, None))
        await store.append_many([finish(f"job{i}", JobStatus.COMPLETED) for i in range(10)])
        answer = receiver._answer

        def slow(request: Any) -> int:
            time.sleep(0.2)  # both senders' rounds overlap
            return answer(request)

        receiver._answer = slow  # type: ignore[method-assign]
        other = backend.job_store()
        await other.setup()
        config = SenderConfig(
            secret=TEST_SECRET,
            allow_private=True,
            timeout_s=5.0,
            retry_base_s=5.0,
            window_s=60.0,
            public_url=None,
        )
        senders = [
            WebhookSender(DeliveryStore(s), config, name)
            for s, name in ((store, "replica-a"), (other, "replica-b"))
        ]
        try:
            sent = [0, 0]
            while sum(sent) < 10:
                counts = await asyncio.gather(*(s.round() for s in senders))
                sent = [a + b for a, b in zip(sent, counts, strict=True)]
                if counts == [0, 0]:
                    await asyncio.sleep(0.05)
        finally:
            for sender in senders:
                await sender.close()
            await other.close()
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 10
    assert sum(sent) == 10 and await DeliveryStore(store).pending() == 0
