"""Plan a group commit: several jobs' event batches, checked against their leases (no I/O)."""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from coursegen.server.jobs import outbox
from coursegen.server.jobs.models import Event
from coursegen.server.jobs.rows import encode


class LeaseLost(RuntimeError):
    """This worker no longer owns the job; another replica has taken it over."""


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
            values = [encode(k, v) for k, v in fields.items()]
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
