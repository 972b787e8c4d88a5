"""Declare the Prometheus metrics of a replica and the ASGI app that serves them."""

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    make_asgi_app,
)
from starlette.requests import Request
from starlette.responses import Response

from coursegen.domain import TokenUsage

JOBS_CREATED = Counter("coursegen_jobs_created", "Jobs created through this replica.")
JOBS_FINISHED = Counter(
    "coursegen_jobs_finished", "Job runs that ended on this replica, by final status.", ["status"]
)
JOBS_RUNNING = Gauge("coursegen_jobs_running", "Jobs this replica is running now.")
LLM_CALLS = Counter("coursegen_llm_calls", "LLM calls completed, by stage.", ["stage"])
LLM_TOKENS = Counter("coursegen_llm_tokens", "Tokens spent, by stage and kind.", ["stage", "kind"])
LLM_CALL_SECONDS = Histogram(
    "coursegen_llm_call_seconds",
    "Duration of one LLM call (re-asks included), by stage.",
    ["stage"],
    buckets=(0.5, 1, 2, 5, 10, 20, 40, 80, 160),
)
TOPIC_ERRORS = Counter("coursegen_topic_errors", "Topics that failed after their retries.")
SSE_SUBSCRIBERS = Gauge("coursegen_sse_subscribers", "Clients following a job's events now.")
EVENTS_STORED = Counter("coursegen_events_stored", "Job events stored (after token coalescing).")
WEBHOOKS_SENT = Counter(
    "coursegen_webhooks_sent", "Webhook deliveries a receiver accepted (2xx), by type.", ["type"]
)
WEBHOOKS_FAILED = Counter(
    "coursegen_webhooks_failed",
    "Webhook deliveries given up after their retries, by type.",
    ["type"],
)
WEBHOOK_ATTEMPTS_FAILED = Counter(
    "coursegen_webhook_attempts_failed",
    "Webhook attempts answered non-2xx, timed out, refused or not connected (then retried).",
)
WEBHOOKS_PENDING = Gauge("coursegen_webhooks_pending", "Webhook deliveries waiting to be sent.")
WEBHOOK_SECONDS = Histogram(
    "coursegen_webhook_seconds",
    "Duration of one webhook attempt, until the answer's status line (or the failure).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

metrics_app = make_asgi_app()


async def metrics_text(request: Request) -> Response:
    """Answer `GET /metrics` with the metrics in Prometheus' text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def observe_call(stage: str, usage: TokenUsage, seconds: float | None) -> None:
    """Count one finished LLM call, its tokens and its duration."""
    LLM_CALLS.labels(stage).inc()
    LLM_TOKENS.labels(stage, "prompt").inc(usage.prompt_tokens)
    LLM_TOKENS.labels(stage, "completion").inc(usage.completion_tokens)
    if seconds is not None:
        LLM_CALL_SECONDS.labels(stage).observe(seconds)
