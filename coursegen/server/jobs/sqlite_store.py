"""Store jobs in the embedded SQLite file (one process owns it)."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from coursegen.server.jobs.store import SqlJobStore, Tx


class _SqliteTx:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self.conn.execute(sql, params)
        return cursor.rowcount

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        # One trip to aiosqlite's thread instead of two (execute, then fetchall).
        rows = await self.conn.execute_fetchall(sql, params)
        return [dict(row) for row in rows]

    async def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, rows)


class SqliteJobStore(SqlJobStore):
    """Jobs and events in SQLite (WAL), beside the LangGraph checkpoints."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        # One connection: transactions must not interleave on it.
        self._lock = asyncio.Lock()

    async def setup(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA busy_timeout=10000")
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        await super().setup()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def for_update(self) -> str:
        return ""

    @staticmethod
    async def _begin(conn: aiosqlite.Connection) -> None:
        # aiosqlite queues statements on its thread: a cancelled BEGIN still runs later and
        # would break the next transaction, so wait for it and undo it before giving up.
        begin = asyncio.ensure_future(conn.execute("BEGIN IMMEDIATE"))
        try:
            await asyncio.shield(begin)
        except asyncio.CancelledError:
            await asyncio.wait([begin])
            if conn.in_transaction:
                await asyncio.shield(conn.rollback())
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        conn = self._conn
        if conn is None:
            raise RuntimeError("SqliteJobStore.setup() has not run")
        async with self._lock:
            if conn.in_transaction:  # a caller cancelled mid-BEGIN left one open
                await conn.rollback()
            await self._begin(conn)
            try:
                yield _SqliteTx(conn)
            except BaseException:
                # Cancellation must not leave the shared connection inside a transaction.
                await asyncio.shield(conn.rollback())
                raise
            await asyncio.shield(conn.commit())
