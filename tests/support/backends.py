"""Run one test body on both job stores: SQLite and a private PostgreSQL database.

Tests take the `backend` fixture (tests/conftest.py), parametrised over `BACKENDS`; the
PostgreSQL case carries the `postgres` marker, so `-m "not postgres"` leaves SQLite only.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from coursegen.server.jobs.postgres_store import PostgresJobStore
from coursegen.server.jobs.sqlite_store import SqliteJobStore
from coursegen.server.jobs.store import SqlJobStore
from tests.support.databases import private_postgres

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass(frozen=True)
class Backend:
    """Where a test's job store lives: a SQLite file, or a PostgreSQL database of its own."""

    name: str
    sqlite_path: Path
    database_url: str | None = None  # None: SQLite (the server's default)

    def job_store(self) -> SqlJobStore:
        """A new, not yet set up, job store on this backend."""
        if self.database_url is None:
            return SqliteJobStore(self.sqlite_path)
        return PostgresJobStore(self.database_url)

    def settings_update(self) -> dict[str, Any]:
        """What to change in `Settings` to run the app on this backend."""
        return {} if self.database_url is None else {"database_url": self.database_url}

    def environment(self) -> dict[str, str]:
        """What to add to a `coursegen serve` process's environment for this backend."""
        return {} if self.database_url is None else {"COURSEGEN_DATABASE_URL": self.database_url}

    def execute(self, sql: str) -> None:
        """Run one statement directly, outside the store (to build an old schema, say)."""
        if self.database_url is None:
            with sqlite3.connect(self.sqlite_path) as db:
                db.execute(sql)
            return
        with psycopg.connect(self.database_url, autocommit=True) as pg:
            pg.execute(sql)  # type: ignore[arg-type]  (a test's own literal SQL)

    def columns(self, table: str) -> set[str]:
        """The column names of `table` as the database has them now."""
        if self.database_url is None:
            with sqlite3.connect(self.sqlite_path) as db:
                return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        with psycopg.connect(self.database_url) as pg:
            rows = pg.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                (table,),
            )
            return {str(row[0]) for row in rows}


@contextmanager
def open_backend(name: str, tmp_path: Path) -> Iterator[Backend]:
    """The backend `name` for one test: a file under `tmp_path`, or a private database."""
    sqlite_path = tmp_path / "coursegen.sqlite"
    if name == "sqlite":
        yield Backend(name, sqlite_path)
        return
    with private_postgres() as url:
        yield Backend(name, sqlite_path, url)
