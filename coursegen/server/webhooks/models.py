"""Declare the webhook routes' answers: deliveries and their attempts."""

from typing import Any, Literal

from pydantic import BaseModel, Field


class WebhookAttempt(BaseModel):
    """One attempt at a delivery."""

    attempt: int = Field(description="1, 2, … (an attempt cut short by a crash skips a number).")
    at: float = Field(description="When it ended (Unix time).")
    status_code: int | None = Field(description="The receiver's answer; null if none came.")
    error: str | None = Field(description="Why it failed (non-2xx, timeout, refused target…).")
    seconds: float


class WebhookDelivery(BaseModel):
    """One webhook message (its `webhook-id`), and how sending it went."""

    id: str = Field(description="The webhook-id header: the same on every attempt.")
    type: str = Field(description="course.awaiting_review, completed, failed or cancelled.")
    url: str
    state: Literal["pending", "delivered", "failed"] = Field(
        description="pending (to be tried), delivered (2xx), failed (retries given up)."
    )
    next_attempt_at: float | None = Field(description="When it is tried next, while pending.")
    last_status_code: int | None
    last_error: str | None
    created_at: float = Field(description="When the job reached the status (the event).")
    delivered_at: float | None
    attempts: list[WebhookAttempt]


class WebhookList(BaseModel):
    """Answer to GET /courses/{id}/webhooks: oldest first."""

    items: list[WebhookDelivery]


def delivery_of(row: dict[str, Any], attempts: list[dict[str, Any]]) -> WebhookDelivery:
    return WebhookDelivery(
        id=row["id"],
        type=row["type"],
        url=row["url"],
        state=row["state"],
        next_attempt_at=row["next_attempt_at"] if row["state"] == "pending" else None,
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        delivered_at=row["delivered_at"],
        attempts=[WebhookAttempt.model_validate(a) for a in attempts],
    )
