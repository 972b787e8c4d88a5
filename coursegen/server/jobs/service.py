"""Carry out the jobs API's operations on the store, and wake the workers that act on them."""

import time
import uuid

from langgraph.checkpoint.base import BaseCheckpointSaver

from coursegen.chains.schemas import CourseRequest
from coursegen.server import metrics
from coursegen.server.apikeys import ApiKeyStore
from coursegen.server.jobs.broker import LocalBroker
from coursegen.server.jobs.models import TERMINAL, Job, JobStatus, RegenerateRequest, ReviewAnswer
from coursegen.server.jobs.runner import new_action
from coursegen.server.jobs.store import SqlJobStore
from coursegen.server.limits import RateLimiter
from coursegen.server.sources.store import SourceStore


class JobConflict(RuntimeError):
    """The job is not in a state that allows the operation."""


class TooManyJobs(RuntimeError):
    """The owner already has as many queued and running jobs as allowed."""


class JobService:
    """Create, read, steer and delete jobs; the owning worker does the generating."""

    def __init__(
        self,
        store: SqlJobStore,
        broker: LocalBroker,
        checkpointer: BaseCheckpointSaver,
        keys: ApiKeyStore,
        limiter: RateLimiter,
        max_jobs_per_owner: int,
        sources: SourceStore | None = None,
    ) -> None:
        self.store, self.broker, self.checkpointer, self.keys = store, broker, checkpointer, keys
        self.limiter, self.max_jobs_per_owner = limiter, max_jobs_per_owner
        self.sources = sources
        self.manager: object | None = None  # this replica's worker, when it runs one

    async def create(
        self, request: CourseRequest, owner: str, idempotency_key: str | None
    ) -> tuple[Job, bool]:
        if idempotency_key and (same := await self.store.get_by_key(owner, idempotency_key)):
            return same, False
        if await self.store.count_active(owner) >= self.max_jobs_per_owner:
            raise TooManyJobs(f"{self.max_jobs_per_owner} jobs are already queued or running")
        now = time.time()
        job = Job(
            id=uuid.uuid4().hex,
            owner=owner,
            request=request,
            idempotency_key=idempotency_key,
            action=new_action("start"),
            created_at=now,
            updated_at=now,
        )
        job, created = await self.store.create(job)
        if created:
            metrics.JOBS_CREATED.inc()
            await self.broker.control({"kind": "wake"})
        return job, created

    async def get(self, job_id: str, owner: str) -> Job | None:
        job = await self.store.get(job_id)
        return job if job is not None and job.owner == owner else None

    async def cancel(self, job: Job) -> Job:
        """Ask the job to stop; idempotent, and a finished job stays as it is."""
        if job.status in TERMINAL:
            return job
        fields: dict[str, object] = {"cancel_requested": True}
        if job.status == JobStatus.AWAITING_REVIEW:
            fields["status"] = JobStatus.QUEUED  # a worker picks it up to close it
        await self.store.update(job.id, fields)
        await self.broker.control({"kind": "cancel", "job_id": job.id})
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
        return await self._queue(
            job, new_action("resume", value=value), [JobStatus.AWAITING_REVIEW]
        )

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
        action = new_action(
            "regenerate", theme=ask.theme, topic=ask.topic, instructions=ask.instructions
        )
        return await self._queue(job, action, [JobStatus.COMPLETED, JobStatus.FAILED])

    async def _queue(self, job: Job, action: dict[str, object], statuses: list[JobStatus]) -> Job:
        if not await self.store.update(
            job.id, {"action": action, "status": JobStatus.QUEUED}, statuses=statuses
        ):
            raise JobConflict("the job changed meanwhile; read it again")
        await self.broker.control({"kind": "wake"})
        return await self.store.get(job.id) or job

    async def delete(self, job: Job) -> None:
        if job.status not in TERMINAL:
            await self.cancel(job)
        await self.store.delete(job.id)
        await self.checkpointer.adelete_thread(job.id)
