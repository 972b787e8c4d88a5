"""Store jobs in PostgreSQL, shared by every replica."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from coursegen.server.core.db import Tx
from coursegen.server.jobs.store import SqlJobStore


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


class _PostgresTx:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self.conn.execute(_pg(sql), params)
        return int(cursor.rowcount)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = await self.conn.execute(_pg(sql), params)
        return list(await cursor.fetchall())

    async def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self.conn.cursor() as cursor:
            await cursor.executemany(_pg(sql), rows)


class PostgresJobStore(SqlJobStore):
    """Jobs and events in PostgreSQL, beside the LangGraph Postgres checkpoints."""

    dialect = "postgresql"

    def __init__(self, url: str, max_size: int = 10) -> None:
        self.pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs={"row_factory": dict_row, "autocommit": False},
        )

    async def setup(self) -> None:
        await self.pool.open(wait=True, timeout=30)
        await super().setup()

    async def close(self) -> None:
        await self.pool.close()

    def for_update(self) -> str:
        return " FOR UPDATE"

    def lock_owner(self) -> str:
        # Under READ COMMITTED two transactions would both count the same free slot; the
        # transaction-scoped advisory lock (namespace 7411, the owner's hash) queues them.
        return "SELECT pg_advisory_xact_lock(7411, hashtext(?)) AS locked"

    def columns_query(self) -> str:
        return (
            "SELECT column_name AS name FROM information_schema.columns "
            "WHERE table_name = 'coursegen_jobs' AND table_schema = current_schema()"
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self.pool.connection() as conn, conn.transaction():
            yield _PostgresTx(conn)
