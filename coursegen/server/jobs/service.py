"""Carry out the jobs API's operations on the store, and wake the workers that act on them."""

import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from coursegen.domain import CourseRequest
from coursegen.server.core import metrics
from coursegen.server.core.checkpointer import threads_with_prefix
from coursegen.server.core.limits import RunSlots
from coursegen.server.jobs.broker import LocalBroker
from coursegen.server.jobs.models import (
    TERMINAL,
    Action,
    Event,
    Job,
    JobStatus,
    RegenerateRequest,
    ReviewAnswer,
)
from coursegen.server.jobs.outbox import WebhookTarget
from coursegen.server.jobs.projection import initial_course
from coursegen.server.jobs.store import SqlJobStore
from coursegen.server.jobs.subscribe import follow
from coursegen.server.sources.store import SourceStore

log = logging.getLogger(__name__)


class JobConflict(RuntimeError):
    """The job is not in a state that allows the operation."""


class IdempotencyKeyReused(RuntimeError):
    """The Idempotency-Key was used before with another request body."""


class JobService:
    """Create, read, steer and delete jobs; the owning worker does the generating.

    The service owns admission: an idempotency key names one job per owner, and an owner
    may have `max_jobs_per_owner` queued or running jobs and LangServe runs (`runs`, the
    slots those take on this replica) at once. API keys and the write rate are checked
    before a request gets here (`apikeys.py`, `limits.py`).
    """

    def __init__(
        self,
        store: SqlJobStore,
        broker: LocalBroker,
        checkpointer: BaseCheckpointSaver,
        max_jobs_per_owner: int,
        sources: SourceStore | None = None,
    ) -> None:
        self.store, self.broker, self.checkpointer = store, broker, checkpointer
        self.max_jobs_per_owner = max_jobs_per_owner
        self.runs = RunSlots(max_jobs_per_owner, store.count_active)
        self.sources = sources

    async def create(
        self,
        request: CourseRequest,
        owner: str,
        idempotency_key: str | None,
        webhook: WebhookTarget | None = None,
    ) -> tuple[Job, bool]:
        """Start a job, or return the one this idempotency key made (TooManyJobs when full).

        A key used before with another body raises IdempotencyKeyReused: answering with the
        first job would silently drop the second request. The key is looked up once, in the
        store's admission transaction, which also counts the owner's LangServe runs.
        """
        now = time.time()
        job = Job(
            id=uuid.uuid4().hex,
            owner=owner,
            request=request,
            idempotency_key=idempotency_key,
            action=Action(kind="start"),
            created_at=now,
            updated_at=now,
        )
        job.course = initial_course(request)  # a queued job is listed by its name, not its id
        job, created = await self.store.create(
            job, self.max_jobs_per_owner, webhook, reserved=self.runs.active(owner)
        )
        if not created and job.request.model_dump(mode="json") != request.model_dump(mode="json"):
            raise IdempotencyKeyReused(
                f"Idempotency-Key {idempotency_key!r} was already used with another body "
                f"(job {job.id}); send a new key for a new request"
            )
        if created:
            log.info("job created", extra={"cg_job_id": job.id, "cg_owner": owner})
            metrics.JOBS_CREATED.inc()
            await self._notify({"kind": "wake"})
        return job, created

    async def get(self, job_id: str, owner: str) -> Job | None:
        job = await self.store.get(job_id)
        return job if job is not None and job.owner == owner else None

    async def list_jobs(
        self, owner: str, limit: int, before: tuple[float, str] | None
    ) -> list[Job]:
        """An owner's jobs, newest first, strictly older than the cursor when given."""
        return await self.store.list_jobs(owner, limit, before)

    def follow(self, job_id: str, after: int) -> AsyncIterator[list[Event]]:
        """The job's events after an id: what is stored, then live (`subscribe.py`)."""
        return follow(self.store, self.broker, job_id, after)

    async def cancel(self, job: Job) -> Job:
        """Ask the job to stop; idempotent, and a finished job stays as it is."""
        if job.status in TERMINAL:
            return job
        fields: dict[str, object] = {"cancel_requested": True}
        if job.status == JobStatus.AWAITING_REVIEW:
            fields["status"] = JobStatus.QUEUED  # a worker picks it up to close it
        await self.store.update(job.id, fields)
        await self._notify({"kind": "cancel", "job_id": job.id})
        return await self.store.get(job.id) or job

    async def review(self, job: Job, answer: ReviewAnswer) -> Job:
        if job.status != JobStatus.AWAITING_REVIEW:
            raise JobConflict(f"job is {job.status.value}, not awaiting_review")
        if not answer.approve and answer.outline is None:
            raise JobConflict("send approve: true, or an edited outline (or cancel the job)")
        value = {
            "approve": True,
            "outline": answer.outline.model_dump() if answer.outline else None,
        }
        action = Action(kind="resume", value=value)
        return await self._queue(job, action, [JobStatus.AWAITING_REVIEW])

    async def regenerate(self, job: Job, ask: RegenerateRequest) -> Job:
        if job.status not in (JobStatus.COMPLETED, JobStatus.FAILED) or not job.course:
            raise JobConflict(
                f"job is {job.status.value}: only a finished course can be regenerated"
            )
        themes = job.course.get("themes", [])
        if ask.theme >= len(themes):
            raise JobConflict(f"theme {ask.theme} does not exist (the course has {len(themes)})")
        if ask.topic is not None and ask.topic >= len(themes[ask.theme].get("topics", [])):
            raise JobConflict(f"topic {ask.topic} does not exist in theme {ask.theme}")
        action = Action(
            kind="regenerate", theme=ask.theme, topic=ask.topic, instructions=ask.instructions
        )
        return await self._queue(job, action, [JobStatus.COMPLETED, JobStatus.FAILED])

    async def _queue(self, job: Job, action: Action, statuses: list[JobStatus]) -> Job:
        if not await self.store.update(
            job.id, {"action": action, "status": JobStatus.QUEUED}, statuses=statuses
        ):
            raise JobConflict("the job changed meanwhile; read it again")
        await self._notify({"kind": "wake"})
        return await self.store.get(job.id) or job

    async def _notify(self, message: dict[str, Any]) -> None:
        """Tell the workers at once; without Redis they still see it in the store (the
        scheduler's poll, the lease heartbeat's cancel check), so a failure only delays."""
        try:
            await self.broker.control(message)
        except Exception as exc:
            log.warning(
                "could not send %s to the workers (%s); they read it from the store",
                message.get("kind"),
                exc,
            )

    async def delete(self, job: Job) -> None:
        if job.status not in TERMINAL:
            await self.cancel(job)
        await self.store.delete(job.id)
        # The job's own thread, and one per regeneration (each holds the request and the
        # instructions it was given): none may outlive the job.
        for thread in [job.id, *await threads_with_prefix(self.checkpointer, f"{job.id}:")]:
            await self.checkpointer.adelete_thread(thread)
