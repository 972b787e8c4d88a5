"""Store and publish the buffered events of every running job in group commits."""

import asyncio
import logging
from typing import TYPE_CHECKING

from coursegen.server import metrics
from coursegen.server.jobs.broker import LocalBroker
from coursegen.server.jobs.models import Event
from coursegen.server.jobs.store import LeaseLost, SqlJobStore

if TYPE_CHECKING:
    from coursegen.server.jobs.eventlog import JobEventLog

log = logging.getLogger(__name__)


class EventWriter:
    """One writer per process: each round stores what all jobs buffered in one transaction.

    A round starts as soon as an event is waiting and the previous round is done, so an idle
    server stores and publishes a token within a transaction's time, and a busy one batches
    more per round instead of queueing one transaction per job (the round's duration is the
    coalescing window). `linger_s` adds a fixed wait before each round, trading latency for
    fewer, larger transactions.
    """

    def __init__(self, store: SqlJobStore, broker: LocalBroker, linger_s: float = 0.0) -> None:
        self.store, self.broker, self.linger_s = store, broker, linger_s
        self._waiting: dict[JobEventLog, list[asyncio.Future[None]]] = {}
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="coursegen-event-writer")

    async def close(self) -> None:
        """Write what is still waiting, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    def mark(self, events: "JobEventLog") -> None:
        """Note that a job's log has something to store (no wait)."""
        self._waiting.setdefault(events, [])
        self._wake.set()

    async def flush(self, events: "JobEventLog") -> None:
        """Return once everything the log buffered so far is stored and published."""
        if self._task is None:  # nothing would ever resolve the wait
            raise RuntimeError("EventWriter.start() has not run")
        done = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(events, []).append(done)
        self._wake.set()
        await done

    async def _run(self) -> None:
        while not (self._closing and not self._waiting):
            await self._wake.wait()
            # Yield once even without a linger: tokens decoded from the same network read
            # arrive in one loop iteration and go out in one round.
            await asyncio.sleep(self.linger_s)
            self._wake.clear()
            try:
                await self._round()
            except Exception:  # never let the writer die: every job would stall
                log.exception("event writer round failed")

    async def _round(self) -> None:
        waiting, self._waiting = self._waiting, {}
        taken = [(events, futures, events.take()) for events, futures in waiting.items()]
        work = [
            (events, futures, batch)
            for events, futures, batch in taken
            if batch.events or batch.fields
        ]
        try:
            results = await self.store.append_many([batch for _, _, batch in work]) if work else []
        except Exception as exc:  # the transaction rolled back: nothing was stored
            for events, futures, batch in work:
                events.restore(batch)
                events.fail(exc, futures)
            results, work = [], []
        for (events, futures, batch), result in zip(work, results, strict=True):
            if isinstance(result, LeaseLost):
                events.restore(batch)
                events.fail(result, futures)
            elif result:
                metrics.EVENTS_STORED.inc(len(result))
                await self._publish(events.job_id, result)
        for _, futures, _ in taken:
            for future in futures:
                if not future.done():
                    future.set_result(None)

    async def _publish(self, job_id: str, stored: list[Event]) -> None:
        try:
            await self.broker.publish(job_id, stored)
        except Exception:  # stored all the same: subscribers catch up from the store
            log.exception("publishing events of job %s failed", job_id)
