"""Keep LangGraph's SQLite checkpoints in one hop to the database thread each, through locks."""

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

log = logging.getLogger(__name__)
T = TypeVar("T")
ATTEMPTS = 4  # each one waits up to the busy timeout for the lock


def is_locked(exc: BaseException) -> bool:
    """Whether an error is SQLite's "database is locked" (another connection holds the lock)."""
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


class PatientSqliteSaver(AsyncSqliteSaver):
    """An AsyncSqliteSaver whose writes each take one trip to aiosqlite's thread and are
    retried when the database stays locked past the connection's busy timeout (a backup, a
    long reader, another process's transaction).

    Upstream, a write is four trips (cursor, statement, commit, close), each one a wait for
    the event loop, all under the saver's lock: under load writes queued for seconds behind
    it. Here LangGraph's own sync `SqliteSaver`, on the same sqlite3 connection, does the
    whole write on the connection's thread (its SQL, serialisation and commit, unchanged).
    """

    def __init__(self, *args: Any, busy_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.busy_timeout_s = busy_timeout_s
        self._in_thread: SqliteSaver | None = None

    def _sync_saver(self) -> SqliteSaver:
        if self._in_thread is None:
            # aiosqlite has no public handle on its connection; `_conn` is the sqlite3 one,
            # used only from aiosqlite's own thread (`_execute`), as aiosqlite itself does.
            self._in_thread = SqliteSaver(self.conn._conn, serde=self.serde)
            self._in_thread.is_setup = True  # the tables: `setup()` below, on this saver
        return self._in_thread

    async def _on_db_thread(self, write: Callable[..., T], *args: Any) -> T:
        await self.setup()
        async with self.lock:
            result: T = await self.conn._execute(write, *args)
            return result

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        put = self._sync_saver().put
        return await self._patiently(
            lambda: self._on_db_thread(put, config, checkpoint, metadata, new_versions)
        )

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        put = self._sync_saver().put_writes
        await self._patiently(lambda: self._on_db_thread(put, config, writes, task_id, task_path))

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
