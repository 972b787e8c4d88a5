"""Declare what a SQL database offers its users: transactions that run and fetch statements."""

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class Tx(Protocol):
    """What a transaction offers: run a statement, fetch rows (`?` marks the parameters)."""

    async def run(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...
    async def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


class Database(Protocol):
    """A database shared by the jobs, the API keys and the other tables beside them.

    Modules that keep tables of their own (API keys, say) depend on this, not on the job
    store, so that the store can depend on them without a cycle.
    """

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`: the SQL the tables beside the jobs must write."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """Open a transaction (serialised on SQLite, pooled on PostgreSQL)."""
        ...

    def for_update(self) -> str:
        """The clause that locks the selected rows (`FOR UPDATE` on PostgreSQL, none on SQLite)."""
        ...
