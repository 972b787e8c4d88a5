"""Declare job records, stored events and the jobs API's request and response bodies."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from coursegen.domain import CourseRequest, CourseUsage, EditedOutline, json_integer


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    AWAITING_REVIEW = "awaiting_review"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
# A job that waits for a person holds no worker.
IDLE = TERMINAL | {JobStatus.AWAITING_REVIEW}


class Job(BaseModel):
    """A stored job row."""

    id: str
    owner: str = "local"
    status: JobStatus = JobStatus.QUEUED
    stage: str | None = None
    request: CourseRequest
    progress: dict[str, Any] = Field(default_factory=dict)
    course: dict[str, Any] | None = None
    usage: CourseUsage = Field(default_factory=CourseUsage)
    error: dict[str, Any] | None = None
    last_event_id: int = 0
    action: dict[str, Any] | None = None
    cancel_requested: bool = False
    idempotency_key: str | None = None
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    runs: int = 0
    created_at: float
    updated_at: float
    report: dict[str, Any] | None = None


class Event(BaseModel):
    """One stored event of a job's log; `data` is kept as JSON text, sent as is."""

    id: int
    type: str
    data: str


class CourseJobRequest(CourseRequest):
    """Body of POST /courses: the course to write, and who to tell when it is done."""

    webhook_url: str | None = Field(
        default=None,
        max_length=2000,
        description="Where to POST signed course.* webhooks (https); the API key's default "
        "webhook URL when unset. See docs/webhooks.md.",
    )

    def course_request(self) -> CourseRequest:
        """The course part alone, as the job stores it."""
        return CourseRequest.model_validate(self.model_dump(exclude={"webhook_url"}))


class JobCreated(BaseModel):
    """Answer to POST /courses."""

    id: str = Field(description="Job id.")
    status: JobStatus = Field(description="Current status.")
    events_url: str = Field(description="Server-Sent Events stream of this job.")


class Progress(BaseModel):
    """LLM calls done and planned so far (the total grows as the plan unfolds)."""

    done: int = 0
    total: int = 0


class JobSnapshot(BaseModel):
    """Answer to GET /courses/{id}: the job and the course so far."""

    id: str
    status: JobStatus
    stage: str | None = Field(description="Furthest pipeline stage reached.")
    progress: Progress
    course: dict[str, Any] | None = Field(description="The course so far (partial while running).")
    usage: CourseUsage
    error: dict[str, Any] | None = Field(description="code, message, retryable — when failed.")
    last_event_id: int = Field(description="Id of the newest event in the log.")
    created_at: float
    updated_at: float


class JobPage(BaseModel):
    """Answer to GET /courses: newest first."""

    items: list[JobSnapshot]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")


class ReviewAnswer(BaseModel):
    """Body of POST /courses/{id}/review: approve the outline as is, or send an edited one."""

    model_config = ConfigDict(extra="forbid")
    approve: StrictBool = Field(default=True, description="Approve and continue.")
    outline: EditedOutline | None = Field(
        default=None,
        description="Edited outline to continue with: 1–12 themes (its count replaces the "
        "requested one), titles of at most 200 and descriptions of at most 2,000 characters.",
    )


class RegenerateRequest(BaseModel):
    """Body of POST /courses/{id}/regenerate: rewrite one theme, or one topic of it."""

    model_config = ConfigDict(extra="forbid")
    theme: int = Field(ge=0, description="Zero-based theme index.")
    topic: int | None = Field(
        default=None, ge=0, description="Zero-based topic index; all if unset."
    )
    instructions: str = Field(default="", max_length=2000, description="What to change.")

    _integers = field_validator("theme", "topic", mode="before")(json_integer)
