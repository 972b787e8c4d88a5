"""Store and publish the buffered events of every running job in group commits."""

import asyncio
import logging
from typing import Protocol

from coursegen.server.core import metrics
from coursegen.server.jobs.broker import LocalBroker
from coursegen.server.jobs.models import Event
from coursegen.server.jobs.store import Batch, LeaseLost, SqlJobStore

log = logging.getLogger(__name__)


class Buffered(Protocol):
    """What the writer needs of a job's buffer: take its batch, put it back, hear of failure."""

    job_id: str

    def take(self) -> Batch:
        """Everything buffered so far; the buffer starts empty again."""
        ...

    def restore(self, batch: Batch) -> None:
        """Put back a batch that was not stored, ahead of what came since."""
        ...

    def write_failed(self, exc: Exception, awaited: bool) -> None:
        """Its batch could not be stored; `awaited`: a flush receives `exc` as well."""
        ...


class EventWriter:
    """One writer per process: each round stores what all jobs buffered in one transaction.

    A round starts as soon as an event is waiting and the previous round is done, so an idle
    server stores and publishes a token within a transaction's time, and a busy one batches
    more per round instead of queueing one transaction per job (the round's duration is the
    coalescing window). `linger_s` adds a fixed wait before each round, trading latency for
    fewer, larger transactions. The writer makes and settles the futures its flushes wait on.
    """

    def __init__(self, store: SqlJobStore, broker: LocalBroker, linger_s: float = 0.0) -> None:
        self.store, self.broker, self.linger_s = store, broker, linger_s
        self._waiting: dict[Buffered, list[asyncio.Future[None]]] = {}
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

    def mark(self, buffer: Buffered) -> None:
        """Note that a job's buffer has something to store (no wait)."""
        self._waiting.setdefault(buffer, [])
        self._wake.set()

    async def flush(self, buffer: Buffered) -> None:
        """Return once everything the buffer held so far is stored and published."""
        if self._task is None:  # nothing would ever resolve the wait
            raise RuntimeError("EventWriter.start() has not run")
        done = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(buffer, []).append(done)
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
        taken = [(buffer, futures, buffer.take()) for buffer, futures in waiting.items()]
        work = [(b, futures, batch) for b, futures, batch in taken if batch.events or batch.fields]
        try:
            results = await self.store.append_many([batch for _, _, batch in work]) if work else []
        except Exception as exc:  # the transaction rolled back: nothing was stored
            for buffer, futures, batch in work:
                self._failed(buffer, futures, batch, exc)
            results, work = [], []
        for (buffer, futures, batch), result in zip(work, results, strict=True):
            if isinstance(result, LeaseLost):
                self._failed(buffer, futures, batch, result)
            elif result:
                metrics.EVENTS_STORED.inc(len(result))
                await self._publish(buffer.job_id, result)
        for _, futures, _ in taken:
            for future in futures:
                if not future.done():
                    future.set_result(None)

    @staticmethod
    def _failed(
        buffer: Buffered, futures: list[asyncio.Future[None]], batch: Batch, exc: Exception
    ) -> None:
        buffer.restore(batch)
        for future in futures:
            if not future.done():
                future.set_exception(exc)
        buffer.write_failed(exc, awaited=bool(futures))

    async def _publish(self, job_id: str, stored: list[Event]) -> None:
        try:
            await self.broker.publish(job_id, stored)
        except Exception:  # stored all the same: subscribers catch up from the store
            log.exception("publishing events of job %s failed", job_id)
