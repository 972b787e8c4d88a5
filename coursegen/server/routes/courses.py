"""Serve the durable jobs API: create, read, follow (SSE), review, regenerate, cancel, delete."""

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response
from fastapi.exceptions import RequestValidationError
from sse_starlette import EventSourceResponse

from coursegen.chains.estimate import Estimate, estimate_course
from coursegen.domain import CourseRequest
from coursegen.exports import export_course
from coursegen.names import ExportName
from coursegen.quality.model import QualityReport
from coursegen.quality.report import build_report
from coursegen.server.apikeys import ApiKey
from coursegen.server.core import metrics
from coursegen.server.core.limits import BUSY_RETRY_AFTER_S, too_many
from coursegen.server.deps import (
    ApiKeyDep,
    JobDep,
    OwnerDep,
    ServiceDep,
    SettingsDep,
    WriterDep,
    get_writer,
)
from coursegen.server.downloads import attachment
from coursegen.server.jobs.models import (
    CourseJobRequest,
    Job,
    JobCreated,
    JobPage,
    JobSnapshot,
    JobStatus,
    Progress,
    RegenerateRequest,
    ReviewAnswer,
)
from coursegen.server.jobs.outbox import WebhookTarget
from coursegen.server.jobs.service import IdempotencyKeyReused, JobConflict, JobService
from coursegen.server.jobs.store import TooManyJobs
from coursegen.server.routes.errors import errors
from coursegen.server.routes.sse import HEARTBEAT_S, MAX_EVENT_ID, SSE_SEP, encode_event
from coursegen.server.sources.checks import check_sources
from coursegen.server.webhooks.choose import job_webhook
from coursegen.server.webhooks.keys import KeyWebhooks
from coursegen.server.webhooks.targets import TargetRefused
from coursegen.settings import Settings

router = APIRouter(prefix="/courses", tags=["courses"], responses=errors(401))


def snapshot(job: Job) -> JobSnapshot:
    progress = Progress(done=job.progress.get("done", 0), total=job.progress.get("total", 0))
    return JobSnapshot(
        id=job.id,
        status=job.status,
        stage=job.stage,
        progress=progress,
        course=job.course,
        usage=job.usage,
        error=job.error,
        last_event_id=job.last_event_id,
        created_at=job.created_at,
        updated_at=job.updated_at,
    )


@router.post(
    "", status_code=202, response_model=JobCreated, responses=errors(400, 403, 413, 415, 429, 503)
)
async def create_course(
    request: CourseJobRequest,
    response: Response,
    service: ServiceDep,
    owner: WriterDep,
    key: ApiKeyDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobCreated:
    """Start generating a course; answers at once with the job and where to follow it."""
    await _check_sources(service, owner, request)
    webhook = await _webhook(request.webhook_url, key, service, settings)
    try:  # the service admits it: idempotency key, then the owner's slots
        job, _ = await service.create(request.course_request(), owner, idempotency_key, webhook)
    except TooManyJobs as exc:
        raise too_many(str(exc), retry_after_s=BUSY_RETRY_AFTER_S) from exc
    except IdempotencyKeyReused as exc:
        # 422, as the IETF Idempotency-Key draft has it, shaped like every other 422.
        error = {"type": "idempotency_key_reused", "loc": ("header", "idempotency-key")}
        raise RequestValidationError(
            [{**error, "msg": str(exc), "input": idempotency_key}]
        ) from exc
    response.headers["Location"] = f"/courses/{job.id}"
    return JobCreated(id=job.id, status=job.status, events_url=f"/courses/{job.id}/events")


@router.post("/estimate", response_model=Estimate, responses=errors(400, 403, 413, 415))
async def estimate(request: CourseRequest, owner: OwnerDep) -> Estimate:
    """Predict the LLM calls (exact for given counts) and tokens (rough) of a course."""
    return estimate_course(request)


@router.get("", response_model=JobPage)
async def list_courses(
    service: ServiceDep,
    owner: OwnerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> JobPage:
    """List the caller's jobs, newest first."""
    before = _decode_cursor(cursor) if cursor else None
    jobs = await service.list_jobs(owner, limit + 1, before)
    more = len(jobs) > limit
    jobs = jobs[:limit]
    next_cursor = _encode_cursor(jobs[-1]) if more else None
    return JobPage(items=[snapshot(j) for j in jobs], next_cursor=next_cursor)


@router.get("/{job_id}", response_model=JobSnapshot, responses=errors(404))
async def get_course(job: JobDep) -> JobSnapshot:
    """The job's status, progress, the course so far, usage and error."""
    return snapshot(job)


@router.get(
    "/{job_id}/events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **errors(404)},
)
async def course_events(
    job: JobDep,
    service: ServiceDep,
    last_event_id: Annotated[int | None, Header(ge=0, le=MAX_EVENT_ID)] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_EVENT_ID, description="Resume after this event id.")
    ] = None,
) -> EventSourceResponse:
    """Server-Sent Events: the job's log from the start (or after an id), then live."""
    start = last_event_id if last_event_id is not None else (after or 0)

    async def stream() -> AsyncIterator[bytes]:
        metrics.SSE_SUBSCRIBERS.inc()
        try:
            async for batch in service.follow(job.id, start):
                # One write per batch, not per event: a batch is what one round stored.
                yield b"".join(map(encode_event, batch))
        finally:
            metrics.SSE_SUBSCRIBERS.dec()

    return EventSourceResponse(
        stream(), ping=HEARTBEAT_S, sep=SSE_SEP, headers={"X-Accel-Buffering": "no"}
    )


# Cancel and delete stop spending: they never depend on the rate limiter (nor on Redis).
@router.post("/{job_id}/cancel", response_model=JobSnapshot, responses=errors(403, 404))
async def cancel_course(job: JobDep, service: ServiceDep) -> JobSnapshot:
    """Stop the job and the provider calls in flight; idempotent, never rate-limited."""
    return snapshot(await service.cancel(job))


@router.post(
    "/{job_id}/review",
    response_model=JobSnapshot,
    dependencies=[Depends(get_writer)],
    responses=errors(400, 403, 404, 409, 413, 415, 429, 503),
)
async def review_course(job: JobDep, answer: ReviewAnswer, service: ServiceDep) -> JobSnapshot:
    """Approve the outline, or send an edited one, and let generation continue."""
    try:
        return snapshot(await service.review(job, answer))
    except JobConflict as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc


@router.post(
    "/{job_id}/regenerate",
    status_code=202,
    response_model=JobSnapshot,
    dependencies=[Depends(get_writer)],
    responses=errors(400, 403, 404, 409, 413, 415, 429, 503),
)
async def regenerate_course(
    job: JobDep, ask: RegenerateRequest, service: ServiceDep
) -> JobSnapshot:
    """Rewrite one theme or one topic; the rest of the course stays as it is."""
    try:
        return snapshot(await service.regenerate(job, ask))
    except JobConflict as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc


async def course_report(job: Job) -> dict[str, Any]:
    """The stored report of a completed job (measured now for one finished before reports)."""
    if job.status != JobStatus.COMPLETED or not job.course:
        raise HTTPException(
            status_code=409, detail=f"job is {job.status.value}: the report comes when it completes"
        )
    if job.report is not None:
        return job.report
    course = {
        **job.course,
        "usage": job.usage.model_dump(),
        "language": job.course.get("language") or "en",
    }
    report = await asyncio.to_thread(build_report, job.request, course)
    return report.model_dump(mode="json")


@router.get("/{job_id}/report", response_model=QualityReport, responses=errors(404, 409))
async def get_report(job: JobDep) -> dict[str, Any]:
    """The course's quality report: shape, language, overlap, readability, usage and more."""
    return await course_report(job)


@router.get(
    "/{job_id}/export",
    responses={
        200: {"content": {"text/markdown": {}, "text/html": {}, "application/zip": {}}},
        **errors(404, 409),
    },
)
async def export_course_file(
    job: JobDep,
    format: Annotated[ExportName, Query(description="md, html, scorm (1.2) or imscc (1.3)")],
    # "true" / "false" only: a lax bool would read "0", "off" or "no" as well.
    report_flag: Annotated[
        Literal["true", "false"],
        Query(alias="report", description="html only: append the quality report."),
    ] = "false",
) -> Response:
    """Download the course as Markdown, standalone HTML, SCORM 1.2 or IMS Common Cartridge."""
    if not job.course or not job.course.get("themes"):
        raise HTTPException(status_code=409, detail=f"job is {job.status.value}: no course yet")
    report = report_flag == "true"
    if report and format != "html":
        error = {"type": "value_error", "loc": ("query", "report"), "input": "true"}
        raise RequestValidationError([{**error, "msg": "report=true is for format=html only"}])
    course = {
        **job.course,
        "usage": job.usage.model_dump(),
        "language": job.course.get("language") or "en",
    }
    appendix = await course_report(job) if report else None
    content, media_type, filename = export_course(course, format, report=appendix)
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": attachment(filename)}
    )


@router.delete("/{job_id}", status_code=204, responses=errors(403, 404))
async def delete_course(job: JobDep, service: ServiceDep) -> Response:
    """Delete the job, its events and its checkpoints (a running job is cancelled first);
    never rate-limited."""
    await service.delete(job)
    return Response(status_code=204)


async def _check_sources(service: ServiceDep, owner: str, request: CourseRequest) -> None:
    """422, shaped like any other, when a source id is unknown or another owner's."""
    await check_sources(service.sources, owner, request.sources, ("body", "sources"))


async def _webhook(
    url: str | None, key: ApiKey | None, service: JobService, settings: Settings
) -> WebhookTarget | None:
    try:
        return await job_webhook(url, key.id if key else None, KeyWebhooks(service.store), settings)
    except TargetRefused as exc:
        error = {"type": "value_error", "loc": ("body", "webhook_url"), "msg": str(exc)}
        raise RequestValidationError([{**error, "input": url}]) from exc


def _encode_cursor(job: Job) -> str:
    return base64.urlsafe_b64encode(f"{job.created_at!r}|{job.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        created, job_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return float(created), job_id
    except (ValueError, UnicodeDecodeError) as exc:
        # Shaped like every other 422 (a list of field errors), as the schema declares.
        error = {"type": "value_error", "loc": ("query", "cursor"), "msg": "invalid cursor"}
        raise RequestValidationError([{**error, "input": cursor}]) from exc
