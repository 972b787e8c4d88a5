"""Keep LangServe threads for a limited time: record each use, delete them by owner or age."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

from coursegen.graph.runnable import BATCH_THREAD
from coursegen.server.core.checkpointer import threads_with_prefix
from coursegen.server.core.db import Database
from coursegen.server.core.tasks import stop_task

log = logging.getLogger(__name__)
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS coursegen_threads (
        thread_id TEXT PRIMARY KEY, owner TEXT NOT NULL, used_at DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS coursegen_threads_used ON coursegen_threads (used_at)",
]
SWEEP_BATCH = 500


class ThreadRegistry:
    """The checkpoint threads of LangServe runs, each with its owner and when it was last used.

    Their checkpoints hold the requests (and courses) of their runs, so a thread unused for
    `ttl_s` is deleted; an owner may delete one of its threads at once.
    """

    def __init__(self, store: Database, checkpointer: BaseCheckpointSaver, ttl_s: float):
        self.store, self.checkpointer, self.ttl_s = store, checkpointer, ttl_s

    async def setup(self) -> None:
        async with self.store.transaction() as tx:
            for statement in SCHEMA:
                await tx.run(statement)

    async def touch(self, thread_id: str, owner: str) -> None:
        """Record that a run uses the thread now."""
        async with self.store.transaction() as tx:
            await tx.run(
                "INSERT INTO coursegen_threads (thread_id, owner, used_at) VALUES (?, ?, ?) "
                "ON CONFLICT (thread_id) DO UPDATE SET used_at = excluded.used_at",
                (thread_id, owner, time.time()),
            )

    async def delete(self, owner: str, thread_id: str) -> bool:
        """Delete an owner's thread and its checkpoints; False when it has none."""
        async with self.store.transaction() as tx:
            recorded = await tx.run(
                "DELETE FROM coursegen_threads WHERE thread_id = ? AND owner = ?",
                (thread_id, owner),
            )
        # A thread from before the registry has checkpoints but no row; its id is the
        # owner's own (the caller derived it from the owner), so it may go too.
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        batch = await threads_with_prefix(self.checkpointer, thread_id + BATCH_THREAD)
        if not recorded and not batch and await self.checkpointer.aget_tuple(config) is None:
            return False
        await self._delete_checkpoints(thread_id, batch)
        return True

    async def _delete_checkpoints(self, thread_id: str, batch: list[str] | None = None) -> None:
        """Delete a thread's checkpoints and those of the batch runs that shared it."""
        if batch is None:
            batch = await threads_with_prefix(self.checkpointer, thread_id + BATCH_THREAD)
        for thread in [thread_id, *batch]:
            await self.checkpointer.adelete_thread(thread)

    async def sweep(self) -> int:
        """Delete the threads unused for `ttl_s`; return how many went."""
        cutoff = time.time() - self.ttl_s
        async with self.store.transaction() as tx:
            rows = await tx.fetch(
                "SELECT thread_id FROM coursegen_threads WHERE used_at < ? LIMIT ?",
                (cutoff, SWEEP_BATCH),
            )
        for row in rows:
            await self._delete_checkpoints(row["thread_id"])
            async with self.store.transaction() as tx:  # unless a run used it meanwhile
                await tx.run(
                    "DELETE FROM coursegen_threads WHERE thread_id = ? AND used_at < ?",
                    (row["thread_id"], cutoff),
                )
        return len(rows)

    @contextlib.asynccontextmanager
    async def sweeping(self) -> AsyncIterator[None]:
        """Sweep in the background (every quarter of the TTL, at most every 10 minutes)."""
        task = asyncio.create_task(self._sweep_forever(min(600.0, max(0.1, self.ttl_s / 4))))
        try:
            yield
        finally:
            await stop_task(task)

    async def _sweep_forever(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                if swept := await self.sweep():
                    log.info("deleted %d LangServe threads unused for %.0f s", swept, self.ttl_s)
            except Exception:  # the database is busy or away: try again next time
                log.exception("sweeping LangServe threads failed")
