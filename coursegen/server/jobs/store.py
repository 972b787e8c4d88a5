"""Keep jobs and their event logs in SQL: one implementation, SQLite and PostgreSQL dialects."""

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar

from coursegen.server.core.db import Tx
from coursegen.server.jobs import outbox
from coursegen.server.jobs.append import AppendPlan, Batch, LeaseLost
from coursegen.server.jobs.models import Event, Job
from coursegen.server.jobs.rows import ADDED_COLUMNS, COLUMNS, RUNNABLE, SCHEMA, encode, job_of

__all__ = ["SCHEMA", "Batch", "LeaseLost", "SqlJobStore", "TooManyJobs", "Tx"]


class TooManyJobs(RuntimeError):
    """The owner already has as many queued and running jobs as allowed."""


def _admit(jobs: int, reserved: int, max_active: int) -> None:
    """Raise TooManyJobs unless one more job fits beside `jobs` and `reserved` runs."""
    if not reserved and jobs >= max_active:
        raise TooManyJobs(f"{max_active} jobs are already queued or running")
    if reserved and jobs + reserved >= max_active:
        raise TooManyJobs(
            f"{jobs + reserved} jobs and LangServe runs are already queued or running "
            f"(the limit is {max_active})"
        )


class SqlJobStore(ABC):
    """Jobs and events on a SQL database; subclasses bring the connection and dialect."""

    dialect: ClassVar[str]

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """Open a transaction (serialised on SQLite, pooled on PostgreSQL)."""

    @abstractmethod
    def for_update(self) -> str:
        """Row-lock suffix for SELECT inside a transaction ('' where unsupported)."""

    @abstractmethod
    def columns_query(self) -> str:
        """A query whose rows' `name` are the columns of coursegen_jobs."""

    async def setup(self) -> None:
        async with self.transaction() as tx:
            for statement in SCHEMA:
                await tx.run(statement)
            have = {row["name"] for row in await tx.fetch(self.columns_query())}
            for column, kind in ADDED_COLUMNS.items():
                if column not in have:
                    await tx.run(f"ALTER TABLE coursegen_jobs ADD COLUMN {column} {kind}")

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""

    def lock_owner(self) -> str | None:
        """A statement that serialises one owner's admissions until the transaction ends.

        None where a write transaction already excludes every other writer (SQLite's BEGIN
        IMMEDIATE); `?` is the owner.
        """
        return None

    async def create(
        self,
        job: Job,
        max_active: int | None = None,
        webhook: outbox.WebhookTarget | None = None,
        *,
        reserved: int = 0,
    ) -> tuple[Job, bool]:
        """Insert a job (and where its webhooks go); with an idempotency key already used,
        return that job and False.

        Raise TooManyJobs when the owner already has `max_active` queued or running jobs,
        `reserved` slots (its LangServe runs) counted among them. The key lookup, the count
        and the insert are one transaction under the owner's lock, so concurrent requests
        cannot all see a free slot.
        """
        names = ", ".join(COLUMNS)
        values = [encode(c, getattr(job, c)) for c in COLUMNS]
        async with self.transaction() as tx:
            if (lock := self.lock_owner()) is not None:
                await tx.fetch(lock, (job.owner,))
            if job.idempotency_key is not None:
                rows = await tx.fetch(
                    f"SELECT {names} FROM coursegen_jobs WHERE owner = ? AND idempotency_key = ?",
                    (job.owner, job.idempotency_key),
                )
                if rows:
                    return job_of(rows[0]), False
            if max_active is not None:
                active = await tx.fetch(
                    "SELECT COUNT(*) AS n FROM coursegen_jobs WHERE owner = ? AND status IN (?, ?)",
                    (job.owner, *RUNNABLE),
                )
                _admit(int(active[0]["n"]), reserved, max_active)
            marks = ", ".join("?" for _ in COLUMNS)
            await tx.run(f"INSERT INTO coursegen_jobs ({names}) VALUES ({marks})", values)
            if webhook is not None:
                await tx.run(outbox.ADD_TARGET, (job.id, webhook.url, webhook.key_id))
        return job, True

    async def count_active(self, owner: str) -> int:
        """Jobs of an owner that are queued or running."""
        async with self.transaction() as tx:
            rows = await tx.fetch(
                "SELECT COUNT(*) AS n FROM coursegen_jobs WHERE owner = ? AND status IN (?, ?)",
                (owner, *RUNNABLE),
            )
        return int(rows[0]["n"])

    async def get(self, job_id: str) -> Job | None:
        async with self.transaction() as tx:
            rows = await tx.fetch(
                f"SELECT {', '.join(COLUMNS)} FROM coursegen_jobs WHERE id = ?", (job_id,)
            )
        return job_of(rows[0]) if rows else None

    async def list_jobs(
        self, owner: str, limit: int, before: tuple[float, str] | None
    ) -> list[Job]:
        """Jobs of an owner, newest first, strictly older than the cursor when given."""
        sql = f"SELECT {', '.join(COLUMNS)} FROM coursegen_jobs WHERE owner = ?"
        params: list[Any] = [owner]
        if before:
            sql += " AND (created_at < ? OR (created_at = ? AND id < ?))"
            params += [before[0], before[0], before[1]]
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        async with self.transaction() as tx:
            rows = await tx.fetch(sql, [*params, limit])
        return [job_of(r) for r in rows]

    async def delete(self, job_id: str) -> bool:
        async with self.transaction() as tx:
            await tx.run("DELETE FROM coursegen_events WHERE job_id = ?", (job_id,))
            for statement in outbox.DELETE_JOB:
                await tx.run(statement, (job_id,))
            return bool(await tx.run("DELETE FROM coursegen_jobs WHERE id = ?", (job_id,)))

    async def update(
        self, job_id: str, fields: dict[str, Any], *, statuses: Sequence[str] | None = None
    ) -> bool:
        """Set fields of a job (only while its status is one of `statuses`, when given)."""
        fields = {**fields, "updated_at": time.time()}
        sets = ", ".join(f"{k} = ?" for k in fields)
        sql = f"UPDATE coursegen_jobs SET {sets} WHERE id = ?"
        params = [*(encode(k, v) for k, v in fields.items()), job_id]
        if statuses:
            sql += f" AND status IN ({', '.join('?' for _ in statuses)})"
            params += [str(s) for s in statuses]
        async with self.transaction() as tx:
            return bool(await tx.run(sql, params))

    async def append_many(self, batches: Sequence["Batch"]) -> list[list[Event] | LeaseLost]:
        """Store several jobs' batches in one transaction (a group commit).

        A job whose lease `worker` no longer holds gets LeaseLost and stores nothing; the
        others are stored. Rows are locked in id order, so two writers cannot deadlock.
        """
        if not batches:
            return []
        lookup = AppendPlan.lookup(batches, self.for_update())
        async with self.transaction() as tx:
            plan = AppendPlan(batches, await tx.fetch(*lookup))
            for sql, rows in plan.statements():
                await tx.run_many(sql, rows)
        return plan.results

    async def events_after(self, job_id: str, after: int, limit: int = 1000) -> list[Event]:
        async with self.transaction() as tx:
            rows = await tx.fetch(
                "SELECT id, type, data FROM coursegen_events WHERE job_id = ? AND id > ? "
                "ORDER BY id LIMIT ?",
                (job_id, after, limit),
            )
        return [Event(**r) for r in rows]

    async def claim(
        self, worker: str, ttl_s: float, limit: int, *, cancels_only: bool = False
    ) -> list[Job]:
        """Take up to `limit` runnable jobs whose lease is free or expired; cancels come first."""
        now = time.time()
        sql = (
            "SELECT id FROM coursegen_jobs WHERE status IN (?, ?) "
            "AND (lease_owner IS NULL OR lease_expires_at < ?)"
        )
        if cancels_only:
            sql += " AND cancel_requested = 1"
        sql += " ORDER BY cancel_requested DESC, created_at LIMIT ?"
        async with self.transaction() as tx:
            candidates = [r["id"] for r in await tx.fetch(sql, (*RUNNABLE, now, limit))]
        claimed = []
        for job_id in candidates:
            async with self.transaction() as tx:
                won = await tx.run(
                    "UPDATE coursegen_jobs SET lease_owner = ?, lease_expires_at = ?, "
                    "runs = runs + 1 WHERE id = ? AND status IN (?, ?) "
                    "AND (lease_owner IS NULL OR lease_expires_at < ?)",
                    (worker, now + ttl_s, job_id, *RUNNABLE, now),
                )
            if won and (job := await self.get(job_id)) is not None:
                claimed.append(job)
        return claimed

    async def renew(self, worker: str, job_ids: Sequence[str], ttl_s: float) -> dict[str, bool]:
        """Extend this worker's leases; return the ids it still holds, each with whether a
        cancel of it has been requested."""
        if not job_ids:
            return {}
        marks = ", ".join("?" for _ in job_ids)
        async with self.transaction() as tx:
            await tx.run(
                "UPDATE coursegen_jobs SET lease_expires_at = ? "
                f"WHERE lease_owner = ? AND id IN ({marks})",
                (time.time() + ttl_s, worker, *job_ids),
            )
            rows = await tx.fetch(
                "SELECT id, cancel_requested FROM coursegen_jobs "
                f"WHERE lease_owner = ? AND id IN ({marks})",
                (worker, *job_ids),
            )
        return {r["id"]: bool(r["cancel_requested"]) for r in rows}

    async def release(self, worker: str, job_ids: Sequence[str] | None = None) -> None:
        """Give leases back so that another worker can take the jobs at once."""
        sql = (
            "UPDATE coursegen_jobs SET lease_owner = NULL, lease_expires_at = NULL "
            "WHERE lease_owner = ?"
        )
        params: list[Any] = [worker]
        if job_ids is not None:
            if not job_ids:
                return
            sql += f" AND id IN ({', '.join('?' for _ in job_ids)})"
            params += list(job_ids)
        async with self.transaction() as tx:
            await tx.run(sql, params)

    async def release_all(self) -> None:
        """Free every lease (single-process mode: a restarted process owns all jobs)."""
        async with self.transaction() as tx:
            await tx.run("UPDATE coursegen_jobs SET lease_owner = NULL, lease_expires_at = NULL")
