"""Keep LangGraph's SQLite checkpoints through a locked database: wait, retry, never fail."""

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

log = logging.getLogger(__name__)
T = TypeVar("T")
ATTEMPTS = 4  # each one waits up to the busy timeout for the lock


def is_locked(exc: BaseException) -> bool:
    """Whether an error is SQLite's "database is locked" (another connection holds the lock)."""
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


class PatientSqliteSaver(AsyncSqliteSaver):
    """An AsyncSqliteSaver whose writes are retried when the database stays locked past the
    connection's busy timeout (a backup, a long reader, another process's transaction)."""

    def __init__(self, *args: Any, busy_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.busy_timeout_s = busy_timeout_s

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        put = super().aput
        return await self._patiently(lambda: put(config, checkpoint, metadata, new_versions))

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        put = super().aput_writes
        await self._patiently(lambda: put(config, writes, task_id, task_path))

    async def _patiently(self, write: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(ATTEMPTS):
            try:
                return await write()
            except sqlite3.OperationalError as exc:
                if not is_locked(exc) or attempt == ATTEMPTS - 1:
                    raise
                log.warning("checkpoint write found the database locked; retrying (%s)", exc)
            # A failed write leaves its transaction open on the shared connection, holding a
            # snapshot that a later write could never upgrade: end it before trying again.
            async with self.lock:
                if self.conn.in_transaction:
                    await self.conn.rollback()
            await asyncio.sleep(min(self.busy_timeout_s, 0.25 * 2**attempt))
        raise AssertionError("unreachable")
