"""Claim due webhook deliveries atomically, record their attempts, list and retry them."""

import time
from dataclasses import dataclass
from typing import Any

from coursegen.server.core.db import Database

COLUMNS = (
    "id, job_id, type, url, key_id, status, stage, progress, usage, error, state, attempts, "
    "next_attempt_at, retry_from, claimed_by, last_status_code, last_error, delivered_at, "
    "created_at"
)


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt got: a status code, or an error (timeout, refused target, …)."""

    status_code: int | None
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


class DeliveryStore:
    """The webhook outbox in the job store, shared by every replica."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _skip_locked(self) -> str:
        # PostgreSQL: replicas claiming at once skip each other's rows instead of waiting.
        lock = self.db.for_update()
        return f"{lock} SKIP LOCKED" if lock else ""

    async def claim(self, worker: str, lease_s: float, limit: int) -> list[dict[str, Any]]:
        """Take up to `limit` due deliveries for one attempt each.

        The claim pushes `next_attempt_at` a lease ahead: if this replica dies mid-attempt,
        the delivery is due again then, for any replica.
        """
        now = time.time()
        sql = (
            "UPDATE coursegen_webhook_deliveries SET claimed_by = ?, next_attempt_at = ?, "
            "attempts = attempts + 1, updated_at = ? WHERE id IN (SELECT id FROM "
            "coursegen_webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ? "
            f"ORDER BY next_attempt_at LIMIT ?{self._skip_locked()}) RETURNING {COLUMNS}"
        )
        async with self.db.transaction() as tx:
            return await tx.fetch(sql, (worker, now + lease_s, now, now, limit))

    async def record(
        self, row: dict[str, Any], worker: str, attempt: Attempt, retry_at: float | None
    ) -> bool:
        """Store an attempt's outcome; False if the claim was lost meanwhile (the attempt is
        stored anyway, unless its job and so the delivery were deleted meanwhile)."""
        now = time.time()
        state = "delivered" if attempt.ok else "pending" if retry_at is not None else "failed"
        async with self.db.transaction() as tx:
            await tx.run(
                "INSERT INTO coursegen_webhook_attempts "
                "(delivery_id, attempt, at, status_code, error, seconds) "
                "SELECT id, ?, ?, ?, ?, ? FROM coursegen_webhook_deliveries WHERE id = ?",
                (
                    row["attempts"],
                    now,
                    attempt.status_code,
                    attempt.error,
                    attempt.seconds,
                    row["id"],
                ),
            )
            return bool(
                await tx.run(
                    "UPDATE coursegen_webhook_deliveries SET state = ?, claimed_by = NULL, "
                    "next_attempt_at = ?, last_status_code = ?, last_error = ?, "
                    "delivered_at = ?, updated_at = ? "
                    "WHERE id = ? AND claimed_by = ? AND attempts = ?",
                    (
                        state,
                        retry_at if retry_at is not None else now,
                        attempt.status_code,
                        attempt.error,
                        now if attempt.ok else None,
                        now,
                        row["id"],
                        worker,
                        row["attempts"],
                    ),
                )
            )

    async def release_all(self) -> None:
        """Make claimed deliveries due at once (single-process mode: a restarted process
        holds every claim, and an attempt cut short by its death is made again now)."""
        async with self.db.transaction() as tx:
            await tx.run(
                "UPDATE coursegen_webhook_deliveries SET claimed_by = NULL, next_attempt_at = ? "
                "WHERE state = 'pending' AND claimed_by IS NOT NULL",
                (time.time(),),
            )

    async def pending(self) -> int:
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT COUNT(*) AS n FROM coursegen_webhook_deliveries WHERE state = 'pending'"
            )
        return int(rows[0]["n"])

    async def of_job(self, job_id: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """A job's deliveries, oldest first, each with its attempts."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                f"SELECT {COLUMNS} FROM coursegen_webhook_deliveries WHERE job_id = ? "
                "ORDER BY created_at, id",
                (job_id,),
            )
            attempts = await tx.fetch(
                "SELECT a.delivery_id, a.attempt, a.at, a.status_code, a.error, a.seconds "
                "FROM coursegen_webhook_attempts a JOIN coursegen_webhook_deliveries d "
                "ON d.id = a.delivery_id WHERE d.job_id = ? ORDER BY a.attempt",
                (job_id,),
            )
        return [(row, [a for a in attempts if a["delivery_id"] == row["id"]]) for row in rows]

    async def retry(self, job_id: str, delivery_id: str) -> str | None:
        """Make a delivery due now, with a fresh retry window; return its state before.

        None: no such delivery of the job. "sending": an attempt is in flight (nothing done).
        """
        now = time.time()
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT state, claimed_by, next_attempt_at FROM coursegen_webhook_deliveries "
                f"WHERE id = ? AND job_id = ?{self.db.for_update()}",
                (delivery_id, job_id),
            )
            if not rows:
                return None
            row = rows[0]
            if row["claimed_by"] is not None and row["next_attempt_at"] > now:
                return "sending"
            await tx.run(
                "UPDATE coursegen_webhook_deliveries SET state = 'pending', claimed_by = NULL, "
                "next_attempt_at = ?, retry_from = ?, updated_at = ? WHERE id = ?",
                (now, now, now, delivery_id),
            )
        return str(row["state"])
