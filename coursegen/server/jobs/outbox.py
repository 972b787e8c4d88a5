"""Declare the webhook outbox tables and the rows a job's status change adds to them."""

import time
import uuid
from dataclasses import dataclass
from typing import Any

from coursegen.server.jobs.models import JobStatus

# The statuses a course platform is told about, and the event type of each.
EVENT_TYPES = {
    JobStatus.AWAITING_REVIEW: "course.awaiting_review",
    JobStatus.COMPLETED: "course.completed",
    JobStatus.FAILED: "course.failed",
    JobStatus.CANCELLED: "course.cancelled",
}

SCHEMA = [
    # Where a job's webhooks go; key_id names the API key whose signing secret is used
    # (NULL: COURSEGEN_WEBHOOK_SECRET).
    """CREATE TABLE IF NOT EXISTS coursegen_webhook_targets (
        job_id TEXT PRIMARY KEY, url TEXT NOT NULL, key_id TEXT)""",
    # An API key's default webhook URL and its own signing secret (HMAC needs it in clear).
    """CREATE TABLE IF NOT EXISTS coursegen_webhook_keys (
        key_id TEXT PRIMARY KEY, url TEXT, secret TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL)""",
    # One row per webhook message: its body's fields as of the status change, its state
    # (pending, delivered, failed), when to try next, and since when it is retried (its event,
    # or a manual retry). Claiming a row moves next_attempt_at
    # forward by a lease, so a replica that dies mid-attempt leaves it due again.
    """CREATE TABLE IF NOT EXISTS coursegen_webhook_deliveries (
        id TEXT PRIMARY KEY, job_id TEXT NOT NULL, type TEXT NOT NULL, url TEXT NOT NULL,
        key_id TEXT, status TEXT NOT NULL, stage TEXT, progress TEXT NOT NULL,
        usage TEXT NOT NULL, error TEXT, state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at DOUBLE PRECISION NOT NULL,
        retry_from DOUBLE PRECISION NOT NULL, claimed_by TEXT, last_status_code INTEGER,
        last_error TEXT, delivered_at DOUBLE PRECISION,
        created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS coursegen_webhook_due "
    "ON coursegen_webhook_deliveries (state, next_attempt_at)",
    "CREATE INDEX IF NOT EXISTS coursegen_webhook_job "
    "ON coursegen_webhook_deliveries (job_id, created_at)",
    """CREATE TABLE IF NOT EXISTS coursegen_webhook_attempts (
        delivery_id TEXT NOT NULL, attempt INTEGER NOT NULL, at DOUBLE PRECISION NOT NULL,
        status_code INTEGER, error TEXT, seconds DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (delivery_id, attempt))""",
]

# Copies the job row as it is after the status change (same transaction): a job without a
# target adds nothing.
ENQUEUE = (
    "INSERT INTO coursegen_webhook_deliveries (id, job_id, type, url, key_id, status, stage, "
    "progress, usage, error, state, next_attempt_at, retry_from, created_at, updated_at) "
    "SELECT ?, j.id, ?, t.url, t.key_id, j.status, j.stage, j.progress, j.usage, j.error, "
    "'pending', ?, ?, ?, ? FROM coursegen_jobs j "
    "JOIN coursegen_webhook_targets t ON t.job_id = j.id WHERE j.id = ?"
)
ADD_TARGET = "INSERT INTO coursegen_webhook_targets (job_id, url, key_id) VALUES (?, ?, ?)"
DELETE_JOB = [
    "DELETE FROM coursegen_webhook_attempts WHERE delivery_id IN "
    "(SELECT id FROM coursegen_webhook_deliveries WHERE job_id = ?)",
    "DELETE FROM coursegen_webhook_deliveries WHERE job_id = ?",
    "DELETE FROM coursegen_webhook_targets WHERE job_id = ?",
]


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """Where a job's webhooks go and whose signing secret they carry."""

    url: str
    key_id: str | None = None


def new_delivery_id() -> str:
    """A webhook-id: the same for every attempt of one message."""
    return f"msg_{uuid.uuid4().hex}"


def enqueue_params(job_id: str, fields: dict[str, Any]) -> list[Any] | None:
    """The ENQUEUE parameters for a job-row update, or None if it tells nobody anything."""
    status = fields.get("status")
    kind = EVENT_TYPES.get(JobStatus(status)) if status is not None else None
    if kind is None:
        return None
    now = time.time()
    return [new_delivery_id(), kind, now, now, now, now, job_id]
