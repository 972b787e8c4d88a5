"""Buffer a running job's events, coalesce tokens, and hand them to the event writer."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson

from coursegen.graph.progress import CourseSnapshot
from coursegen.server.jobs.eventwriter import EventWriter
from coursegen.server.jobs.store import Batch

log = logging.getLogger(__name__)


class JobEventLog:
    """The write side of one job's event log, owned by the worker that holds its lease.

    Every event is stored (with its id) before it is published, so a live subscriber and
    a later replay see the same events. Consecutive token deltas of one stream are merged
    while they wait for the writer: one stored event per stream per writer round.
    """

    def __init__(
        self, writer: EventWriter, job_id: str, worker: str, snapshot: CourseSnapshot
    ) -> None:
        self.writer = writer
        self.job_id, self.worker = job_id, worker
        self.snapshot = snapshot
        self._owner: asyncio.Task[Any] | None = None
        self._events: list[tuple[str, dict[str, Any]]] = []
        self._tokens: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._fields: dict[str, Any] = {}
        self._stage = snapshot.progress()["stage"] if snapshot.course.get("themes") else None
        self.failure: Exception | None = None
        # Set for a (resumed) generation: a theme's topic list announced again is a replay.
        self.keep_known_topics = False

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        """Queue an event (not yet stored); course events also update the snapshot."""
        if kind == "topics" and self.keep_known_topics and self._known_topics(data):
            # A resumed run re-runs an unfinished theme and announces its (checkpointed)
            # topics again; applying that would wipe the material already written for them.
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
        if kind != "token" and self.snapshot.apply(kind, data):
            self._course_changed()
        self.writer.mark(self)

    def _known_topics(self, data: dict[str, Any]) -> bool:
        themes = self.snapshot.course.get("themes", [])
        if data["theme"] >= len(themes) or not themes[data["theme"]].get("topics"):
            return False
        known = [(t.get("title"), t.get("description")) for t in themes[data["theme"]]["topics"]]
        return known == [(t.get("title"), t.get("description")) for t in data["topics"]["topics"]]

    def set_fields(self, **fields: Any) -> None:
        """Queue job-row updates to be written with the next batch."""
        self._fields.update(fields)
        self.writer.mark(self)

    def _materialise_tokens(self) -> None:
        self._events.extend(("token", event) for event in self._tokens.values())
        self._tokens.clear()

    def enter_stage(self, stage: str) -> None:
        """Queue a `stage` event when the course moves on to `stage`."""
        if stage != self._stage:
            self._stage = stage
            self._events.append(("stage", {"stage": stage}))
            self._fields["stage"] = stage
            log.info("stage reached", extra={"cg_job_id": self.job_id, "cg_stage": stage})
        self.writer.mark(self)

    def _course_changed(self) -> None:
        progress = self.snapshot.progress()
        self.enter_stage(progress["stage"])
        self._events.append(("progress", progress))
        self._fields.update(course=self.snapshot.course, progress=progress)

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

    def fail(self, exc: Exception, waiters: list[asyncio.Future[None]]) -> None:
        """The writer could not store this log (lost lease, database down)."""
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(exc)
        if not waiters and self._owner is not None:  # nobody awaits the write: stop the run
            self.failure = exc
            self._owner.cancel()

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
