"""Store jobs in the embedded SQLite file (one process owns it)."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from coursegen.server.core.db import Tx
from coursegen.server.jobs.append import AppendPlan, Batch, LeaseLost
from coursegen.server.jobs.models import Event
from coursegen.server.jobs.store import SqlJobStore

T = TypeVar("T")


class _SqliteTx:
    def __init__(self, store: "SqliteJobStore") -> None:
        self.store = store

    async def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self.store.call(lambda db: db.execute(sql, params).rowcount)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        rows = await self.store.call(lambda db: db.execute(sql, params).fetchall())
        return [dict(row) for row in rows]

    async def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self.store.call(lambda db: db.executemany(sql, rows))


class SqliteJobStore(SqlJobStore):
    """Jobs and events in SQLite (WAL), beside the LangGraph checkpoints.

    The connection lives on a thread of its own, like aiosqlite's, so the event loop never
    waits on the disk. A group commit of the event writer runs there as one call (five
    statements, one hop between the threads instead of five).
    """

    dialect = "sqlite"

    def __init__(self, path: Path, busy_timeout_s: float = 30.0) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self._db: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="coursegen-sqlite")
        # One connection: transactions must not interleave on it.
        self._lock = asyncio.Lock()

    async def call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work(connection)` on the database thread."""
        db = self._db
        if db is None:
            raise RuntimeError("SqliteJobStore.setup() has not run")
        return await asyncio.get_running_loop().run_in_executor(self._thread, work, db)

    async def setup(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        self._db = await loop.run_in_executor(self._thread, self._open)
        await super().setup()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    async def close(self) -> None:
        if self._db is not None:
            async with self._lock:
                await self.call(lambda db: db.close())
            self._db = None
        self._thread.shutdown(wait=True)

    def for_update(self) -> str:
        return ""

    def columns_query(self) -> str:
        return "SELECT name FROM pragma_table_info('coursegen_jobs')"

    async def append_many(self, batches: Sequence[Batch]) -> list[list[Event] | LeaseLost]:
        if not batches:
            return []
        async with self._lock:
            # Shielded: the thread finishes the transaction (commit or rollback) whatever
            # happens to the caller, and the lock must not be free before it has.
            return await asyncio.shield(self.call(lambda db: _append(db, batches)))

    async def _begin(self) -> None:
        # A cancelled BEGIN still runs on the thread later and would break the next
        # transaction, so wait for it and undo it before giving up.
        begin = asyncio.ensure_future(self.call(lambda db: db.execute("BEGIN IMMEDIATE")))
        try:
            await asyncio.shield(begin)
        except asyncio.CancelledError:
            await asyncio.wait([begin])
            await asyncio.shield(self.call(_rollback))
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            await self.call(_rollback)  # a caller cancelled mid-statement may have left one
            await self._begin()
            try:
                yield _SqliteTx(self)
            except BaseException:
                # Cancellation must not leave the shared connection inside a transaction.
                await asyncio.shield(self.call(_rollback))
                raise
            await asyncio.shield(self.call(lambda db: db.execute("COMMIT")))


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        db.execute("ROLLBACK")


def _append(db: sqlite3.Connection, batches: Sequence[Batch]) -> list[list[Event] | LeaseLost]:
    """A whole group commit, on the database thread."""
    _rollback(db)
    db.execute("BEGIN IMMEDIATE")
    try:
        plan = AppendPlan(batches, db.execute(*AppendPlan.lookup(batches, "")).fetchall())
        for sql, rows in plan.statements():
            db.executemany(sql, rows)
        db.execute("COMMIT")
    except BaseException:
        _rollback(db)
        raise
    return plan.results
