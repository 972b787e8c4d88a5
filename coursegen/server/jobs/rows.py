"""Declare the jobs tables and turn job rows into SQL values and back."""

from typing import Any

import orjson

from coursegen.server.jobs import outbox
from coursegen.server.jobs.models import Job, JobStatus

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


def encode(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS and value is not None:
        if hasattr(value, "model_dump"):
            value = value.model_dump(mode="json")
        return orjson.dumps(value).decode()
    if column == "cancel_requested":
        return int(bool(value))
    if column == "status" and value is not None:
        return str(value)
    return value


def job_of(row: dict[str, Any]) -> Job:
    data = {
        k: orjson.loads(v) if k in JSON_COLUMNS and v is not None else v for k, v in row.items()
    }
    data["cancel_requested"] = bool(data["cancel_requested"])
    return Job.model_validate(data)
