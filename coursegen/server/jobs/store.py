"""Keep jobs and their event logs in SQL: one implementation, SQLite and PostgreSQL dialects."""

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from coursegen.server.jobs import outbox
from coursegen.server.jobs.models import Event, Job, JobStatus

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS coursegen_jobs (
        id TEXT PRIMARY KEY, owner TEXT NOT NULL, status TEXT NOT NULL, stage TEXT,
        request TEXT NOT NULL, progress TEXT NOT NULL, course TEXT, usage TEXT NOT NULL,
        error TEXT, last_event_id INTEGER NOT NULL DEFAULT 0, action TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0, idempotency_key TEXT, lease_owner TEXT,
        lease_expires_at DOUBLE PRECISION, runs INTEGER NOT NULL DEFAULT 0,
        created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
        report TEXT)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS coursegen_jobs_idem "
    "ON coursegen_jobs (owner, idempotency_key)",
    "CREATE INDEX IF NOT EXISTS coursegen_jobs_list ON coursegen_jobs (owner, created_at, id)",
    "CREATE INDEX IF NOT EXISTS coursegen_jobs_claim ON coursegen_jobs (status, lease_expires_at)",
    """CREATE TABLE IF NOT EXISTS coursegen_events (
        job_id TEXT NOT NULL, id INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (job_id, id))""",
    *outbox.SCHEMA,
]
# Columns added to coursegen_jobs since its first release: setup() adds them to older tables.
ADDED_COLUMNS = {"report": "TEXT"}
JSON_COLUMNS = ("request", "progress", "course", "usage", "error", "action", "report")
COLUMNS = (
    "id",
    "owner",
    "status",
    "stage",
    "request",
    "progress",
    "course",
    "usage",
    "error",
    "last_event_id",
    "action",
    "cancel_requested",
    "idempotency_key",
    "lease_owner",
    "lease_expires_at",
    "runs",
    "created_at",
    "updated_at",
    "report",
)
RUNNABLE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


class LeaseLost(RuntimeError):
    """This worker no longer owns the job; another replica has taken it over."""


class TooManyJobs(RuntimeError):
    """The owner already has as many queued and running jobs as allowed."""


@dataclass(frozen=True, slots=True)
class Batch:
    """Events (type, JSON text) and job-row updates of one job, to be stored together."""

    job_id: str
    worker: str
    events: Sequence[tuple[str, str]]
    fields: dict[str, Any]


class AppendPlan:
    """What a group commit writes, worked out from the jobs' current rows (no I/O here)."""

    def __init__(self, batches: Sequence[Batch], rows: Sequence[dict[str, Any]]) -> None:
        held = {r["id"]: dict(r) for r in rows}
        self.results: list[list[Event] | LeaseLost] = []
        self.inserts: list[tuple[str, int, str, str]] = []
        self.updates: dict[tuple[str, ...], list[list[Any]]] = {}
        self.webhooks: list[list[Any]] = []  # outbox rows of the status changes
        now = time.time()
        for batch in batches:
            row = held.get(batch.job_id)
            if row is None or row["lease_owner"] != batch.worker:
                self.results.append(LeaseLost(f"job {batch.job_id} is not held by {batch.worker}"))
                continue
            first = row["last_event_id"] + 1
            stored = [Event(id=first + i, type=t, data=d) for i, (t, d) in enumerate(batch.events)]
            row["last_event_id"] += len(stored)
            self.inserts += [(batch.job_id, e.id, e.type, e.data) for e in stored]
            fields = {**batch.fields, "last_event_id": row["last_event_id"], "updated_at": now}
            values = [_encode(k, v) for k, v in fields.items()]
            self.updates.setdefault(tuple(fields), []).append([*values, batch.job_id])
            if (webhook := outbox.enqueue_params(batch.job_id, batch.fields)) is not None:
                self.webhooks.append(webhook)
            self.results.append(stored)

    @staticmethod
    def lookup(batches: Sequence[Batch], for_update: str) -> tuple[str, list[str]]:
        """The query (and its parameters) that reads the rows a plan starts from."""
        ids = sorted({b.job_id for b in batches})
        sql = (
            "SELECT id, last_event_id, lease_owner FROM coursegen_jobs "
            f"WHERE id IN ({', '.join('?' for _ in ids)}) ORDER BY id" + for_update
        )
        return sql, ids

    def statements(self) -> list[tuple[str, list[Any]]]:
        """The writes, each a statement run once per row of parameters."""
        out: list[tuple[str, list[Any]]] = []
        if self.inserts:
            out.append(
                (
                    "INSERT INTO coursegen_events (job_id, id, type, data) VALUES (?, ?, ?, ?)",
                    list(self.inserts),
                )
            )
        # Token-only batches share their column list: one statement updates them all.
        for names, params in self.updates.items():
            sets = ", ".join(f"{k} = ?" for k in names)
            out.append((f"UPDATE coursegen_jobs SET {sets} WHERE id = ?", params))
        if self.webhooks:  # after the updates: the outbox copies the rows as they now are
            out.append((outbox.ENQUEUE, self.webhooks))
        return out


class Tx(Protocol):
    """What a transaction offers: run a statement, fetch rows."""

    async def run(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...
    async def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


def _encode(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS and value is not None:
        if hasattr(value, "model_dump"):
            value = value.model_dump(mode="json")
        return orjson.dumps(value).decode()
    if column == "cancel_requested":
        return int(bool(value))
    if column == "status" and value is not None:
        return str(value)
    return value


def _job(row: dict[str, Any]) -> Job:
    data = {
        k: orjson.loads(v) if k in JSON_COLUMNS and v is not None else v for k, v in row.items()
    }
    data["cancel_requested"] = bool(data["cancel_requested"])
    return Job.model_validate(data)


class SqlJobStore(ABC):
    """Jobs and events on a SQL database; subclasses bring the connection and dialect."""

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
    ) -> tuple[Job, bool]:
        """Insert a job (and where its webhooks go); with an idempotency key already used,
        return that job and False.

        Raise TooManyJobs when the owner already has `max_active` queued or running jobs. The
        key lookup, the count and the insert are one transaction under the owner's lock, so
        concurrent requests cannot all see a free slot.
        """
        names = ", ".join(COLUMNS)
        values = [_encode(c, getattr(job, c)) for c in COLUMNS]
        async with self.transaction() as tx:
            if (lock := self.lock_owner()) is not None:
                await tx.fetch(lock, (job.owner,))
            if job.idempotency_key is not None:
                rows = await tx.fetch(
                    f"SELECT {names} FROM coursegen_jobs WHERE owner = ? AND idempotency_key = ?",
                    (job.owner, job.idempotency_key),
                )
                if rows:
                    return _job(rows[0]), False
            if max_active is not None:
                active = await tx.fetch(
                    "SELECT COUNT(*) AS n FROM coursegen_jobs WHERE owner = ? AND status IN (?, ?)",
                    (job.owner, *RUNNABLE),
                )
                if int(active[0]["n"]) >= max_active:
                    raise TooManyJobs(f"{max_active} jobs are already queued or running")
            marks = ", ".join("?" for _ in COLUMNS)
            await tx.run(f"INSERT INTO coursegen_jobs ({names}) VALUES ({marks})", values)
            if webhook is not None:
                await tx.run(outbox.ADD_TARGET, (job.id, webhook.url, webhook.key_id))
        return job, True

    async def get_by_key(self, owner: str, idempotency_key: str) -> Job | None:
        async with self.transaction() as tx:
            rows = await tx.fetch(
                f"SELECT {', '.join(COLUMNS)} FROM coursegen_jobs "
                "WHERE owner = ? AND idempotency_key = ?",
                (owner, idempotency_key),
            )
        return _job(rows[0]) if rows else None

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
        return _job(rows[0]) if rows else None

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
        return [_job(r) for r in rows]

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
        params = [*(_encode(k, v) for k, v in fields.items()), job_id]
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
