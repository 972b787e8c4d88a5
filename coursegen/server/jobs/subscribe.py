"""Read a job's event log from an id on: replay what is stored, then follow it live."""

import asyncio
from collections.abc import AsyncIterator

from coursegen.server.jobs.broker import OVERFLOW, LocalBroker
from coursegen.server.jobs.models import TERMINAL, Event
from coursegen.server.jobs.store import SqlJobStore

RESYNC_S = 5.0  # re-read the store this often even without news (a lost pub/sub message)


async def _replay(store: SqlJobStore, job_id: str, after: int) -> AsyncIterator[list[Event]]:
    while batch := await store.events_after(job_id, after):
        yield batch
        after = batch[-1].id


async def _finished(store: SqlJobStore, job_id: str, last: int) -> bool:
    job = await store.get(job_id)
    return job is None or (job.status in TERMINAL and last >= job.last_event_id)


async def follow(
    store: SqlJobStore, broker: LocalBroker, job_id: str, after: int
) -> AsyncIterator[list[Event]]:
    """Yield the events with id > `after` once, in order, in batches (as stored together);
    stop after a finished job's last."""
    async with broker.subscribe(job_id) as live:  # subscribe first: nothing slips between
        last = after
        async for batch in _replay(store, job_id, last):
            yield batch
            last = batch[-1].id
        check = True  # ask the store whether the job is over only when it may be
        while not (check and await _finished(store, job_id, last)):
            try:
                batch = await asyncio.wait_for(live.get(), RESYNC_S)
            except TimeoutError:
                batch = OVERFLOW
            if batch is OVERFLOW or batch[0].id > last + 1:
                async for stored in _replay(store, job_id, last):
                    yield stored
                    last = stored[-1].id
                check = True
                continue
            fresh = [event for event in batch if event.id > last]
            if fresh:
                yield fresh
                last = fresh[-1].id
            check = batch[-1].type == "end"
