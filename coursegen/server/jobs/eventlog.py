"""Buffer a running job's events, coalesce tokens, and hand them to the event writer."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson

from coursegen.server.jobs.eventwriter import EventWriter
from coursegen.server.jobs.projection import CourseProjection, Derived
from coursegen.server.jobs.stops import StopReason, stop
from coursegen.server.jobs.store import Batch, LeaseLost

log = logging.getLogger(__name__)


class JobEventLog:
    """The write side of one job's event log, owned by the worker that holds its lease.

    Every event is stored (with its id) before it is published, so a live subscriber and
    a later replay see the same events. Consecutive token deltas of one stream are merged
    while they wait for the writer: one stored event per stream per writer round. Course
    events also move the job's projection on (`projection.py`), whose `stage` and
    `progress` events and job-row fields go out in the same batch.
    """

    def __init__(
        self,
        writer: EventWriter,
        job_id: str,
        worker: str,
        course: dict[str, Any],
        *,
        keep_known_topics: bool = False,
    ) -> None:
        self.writer = writer
        self.job_id, self.worker = job_id, worker
        self.projection = CourseProjection(course, keep_known_topics=keep_known_topics)
        self._owner: asyncio.Task[Any] | None = None
        self._events: list[tuple[str, dict[str, Any]]] = []
        self._tokens: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._fields: dict[str, Any] = {}
        self.failure: Exception | None = None

    @property
    def course(self) -> dict[str, Any]:
        """The course so far, as the events have built it."""
        return self.projection.course

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        """Queue an event (not yet stored); course events also update the projection."""
        if self.projection.is_replay(kind, data):
            return
        if kind == "token" and not data.get("start"):
            key = (data["stage"], data["theme"], data["topic"])
            if key in self._tokens:
                self._tokens[key]["text"] += data["text"]
            else:
                self._tokens[key] = dict(data)
            self.writer.mark(self)
            return
        self._materialise_tokens()
        self._events.append((kind, data))
        self._add(self.projection.fold(kind, data))
        self.writer.mark(self)

    def set_fields(self, **fields: Any) -> None:
        """Queue job-row updates to be written with the next batch."""
        self._fields.update(fields)
        self.writer.mark(self)

    def enter_stage(self, stage: str) -> None:
        """Queue a `stage` event when the course moves on to `stage`."""
        self._add(self.projection.enter(stage))
        self.writer.mark(self)

    def complete(self, course: dict[str, Any]) -> None:
        """Emit what the log misses of the finished course, then make the course authoritative."""
        for kind, data in self.projection.missing(course):
            self.emit(kind, data)
        self.projection.replace(course)
        self.set_fields(course=course, usage=course["usage"])

    def _add(self, derived: Derived | None) -> None:
        if derived is None:
            return
        self._events.extend(derived.events)
        self._fields.update(derived.fields)
        if derived.stage is not None:
            log.info("stage reached", extra={"cg_job_id": self.job_id, "cg_stage": derived.stage})

    def _materialise_tokens(self) -> None:
        self._events.extend(("token", event) for event in self._tokens.values())
        self._tokens.clear()

    def take(self) -> Batch:
        """Hand everything buffered to the writer, JSON-encoded, and start a new buffer."""
        self._materialise_tokens()
        events, fields = self._events, self._fields
        self._events, self._fields = [], {}
        encoded = [(kind, orjson.dumps(data).decode()) for kind, data in events]
        return Batch(self.job_id, self.worker, encoded, fields)

    def restore(self, batch: Batch) -> None:
        """Put back a batch that was not stored, ahead of what came since."""
        self._materialise_tokens()
        self._events[:0] = [(kind, orjson.loads(data)) for kind, data in batch.events]
        self._fields = {**batch.fields, **self._fields}

    def write_failed(self, exc: Exception, awaited: bool) -> None:
        """The writer could not store this log (lost lease, database down).

        A flush that waits gets the error from the writer; with none waiting, the run
        inside `flushing()` is stopped (see `stops.py` for who acts on a lost lease).
        """
        if awaited or self._owner is None:
            return
        self.failure = exc
        reason = StopReason.LEASE_LOST if isinstance(exc, LeaseLost) else StopReason.WRITE_FAILED
        stop(self._owner, reason)

    async def flush(self) -> None:
        """Return once everything emitted so far is stored and published."""
        await self.writer.flush(self)

    @contextlib.asynccontextmanager
    async def flushing(self) -> AsyncIterator["JobEventLog"]:
        """Within the block, a failure to store the log in the background cancels the block."""
        self._owner = asyncio.current_task()
        try:
            yield self
        finally:
            self._owner = None
