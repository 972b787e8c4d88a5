"""Buffer a running job's events, coalesce tokens, store them in batches, then publish."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson

from coursegen.graph.progress import CourseSnapshot
from coursegen.server import metrics
from coursegen.server.jobs.broker import LocalBroker
from coursegen.server.jobs.store import SqlJobStore

FLUSH_S = 0.05  # ≈ what a reader perceives as live; bounds database writes per job


class JobEventLog:
    """The write side of one job's event log, owned by the worker that holds its lease.

    Every event is stored (with its id) before it is published, so a live subscriber and
    a later replay see the same events. Consecutive token deltas of one stream are merged
    until the next flush: one stored event per stream per ~50 ms instead of per token.
    """

    def __init__(
        self,
        store: SqlJobStore,
        broker: LocalBroker,
        job_id: str,
        worker: str,
        snapshot: CourseSnapshot,
        flush_s: float = FLUSH_S,
    ) -> None:
        self.store, self.broker = store, broker
        self.job_id, self.worker = job_id, worker
        self.snapshot = snapshot
        self.flush_s = flush_s
        self._events: list[tuple[str, dict[str, Any]]] = []
        self._tokens: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._fields: dict[str, Any] = {}
        self._stage = snapshot.progress()["stage"] if snapshot.course.get("themes") else None
        self._lock = asyncio.Lock()
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
            return
        self._materialise_tokens()
        self._events.append((kind, data))
        if kind != "token" and self.snapshot.apply(kind, data):
            self._course_changed()

    def _known_topics(self, data: dict[str, Any]) -> bool:
        themes = self.snapshot.course.get("themes", [])
        if data["theme"] >= len(themes) or not themes[data["theme"]].get("topics"):
            return False
        known = [(t.get("title"), t.get("description")) for t in themes[data["theme"]]["topics"]]
        return known == [(t.get("title"), t.get("description")) for t in data["topics"]["topics"]]

    def set_fields(self, **fields: Any) -> None:
        """Queue job-row updates to be written with the next batch."""
        self._fields.update(fields)

    def _materialise_tokens(self) -> None:
        self._events.extend(("token", event) for event in self._tokens.values())
        self._tokens.clear()

    def _course_changed(self) -> None:
        progress = self.snapshot.progress()
        if progress["stage"] != self._stage:
            self._stage = progress["stage"]
            self._events.append(("stage", {"stage": self._stage}))
        self._events.append(("progress", progress))
        self._fields.update(course=self.snapshot.course, progress=progress, stage=self._stage)

    async def flush(self) -> None:
        """Store the queued events and field updates in one transaction, then publish them."""
        async with self._lock:
            self._materialise_tokens()
            events, fields = self._events, self._fields
            self._events, self._fields = [], {}
            if not events and not fields:
                return
            encoded = [(kind, orjson.dumps(data).decode()) for kind, data in events]
            try:
                stored = await self.store.append(self.job_id, self.worker, encoded, fields)
            except Exception:  # nothing was stored (the transaction rolled back): keep the batch
                self._events = events + self._events
                self._fields = {**fields, **self._fields}
                raise
        if stored:
            metrics.EVENTS_STORED.inc(len(stored))
            await self.broker.publish(self.job_id, stored)

    async def _flush_periodically(self, owner: asyncio.Task[Any] | None) -> None:
        try:
            while True:
                await asyncio.sleep(self.flush_s)
                # Not cancellable half-way: the batch is already out of the buffer, so a
                # flush cancelled when the block ends would lose it (the next flush waits
                # for this one on the lock, which keeps the ids in order).
                await asyncio.shield(self.flush())
        except Exception as exc:  # lost lease or database down: stop the run that owns us
            self.failure = exc
            if owner is not None:
                owner.cancel()

    @contextlib.asynccontextmanager
    async def flushing(self) -> AsyncIterator["JobEventLog"]:
        """Flush every `flush_s` while the block runs; a failed flush cancels the block."""
        flusher = asyncio.create_task(self._flush_periodically(asyncio.current_task()))
        try:
            yield self
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
