"""Wrap each LLM call in a LangGraph task: retried, time-limited and checkpointed on its own."""

import asyncio
import email.utils
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import httpx
import openai
from langchain_core.runnables import Runnable
from langchain_core.runnables.config import ensure_config, merge_configs
from langgraph.config import get_stream_writer
from langgraph.func import SyncAsyncFuture, task
from langgraph.types import RetryPolicy

from coursegen.chains.shape import ShortAnswerError
from coursegen.chains.structured import StructuredOutputError, TruncatedAnswer
from coursegen.domain import TokenUsage
from coursegen.graph.events import TokenRelay


def _transport_errors() -> tuple[type[Exception], ...]:
    """A stream cut off mid-answer raises the HTTP library's own error: httpx's, or httpx2's
    where the openai SDK is built on that fork."""
    errors: list[type[Exception]] = [httpx.TransportError]
    try:
        import httpx2
    except ImportError:
        return tuple(errors)
    return (*errors, httpx2.TransportError)


TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    openai.APIConnectionError,  # includes APITimeoutError
    openai.RateLimitError,
    openai.InternalServerError,
    *_transport_errors(),
    TimeoutError,
    TruncatedAnswer,  # the stream ended inside the JSON: a cut, like a dropped connection
)


# A provider that asks for a longer pause than this is not retried: the call fails (its topic
# reports a retryable error and can be regenerated later) instead of holding a worker.
MAX_RETRY_AFTER_S = 60.0


def retry_after(exc: BaseException) -> float | None:
    """The pause (seconds) a provider's error answer asks for: `retry-after-ms` or `Retry-After`
    (seconds or an HTTP date); None when it names none."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "")) * scale
        except ValueError:
            continue
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(headers.get("retry-after", ""))
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def is_transient(exc: Exception) -> bool:
    """Retry provider hiccups and cut-off answers; never a validation failure (it was already
    re-asked once)."""
    if isinstance(exc, openai.APIStatusError):
        if (wait := retry_after(exc)) is not None and wait > MAX_RETRY_AFTER_S:
            return False
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, TRANSIENT_ERRORS)


LLM_RETRY = RetryPolicy(
    max_attempts=4, initial_interval=0.5, max_interval=20.0, retry_on=is_transient
)


P = ParamSpec("P")
T = TypeVar("T")


def typed_task(
    name: str, retry_policy: RetryPolicy | None = None
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, SyncAsyncFuture[T]]]:
    """`langgraph.func.task` for an async function, typed so mypy keeps its signature."""
    return task(name=name, retry_policy=retry_policy)  # type: ignore[return-value]


@typed_task(name="llm_call", retry_policy=LLM_RETRY)
async def llm_call(
    stage: str, chain: Runnable[Any, Any], inputs: Any, relay: TokenRelay | None = None
) -> dict[str, Any]:
    """Run one stage chain; the result is checkpointed, so a resumed run does not repeat it."""
    # Added to the task's own callbacks: a config of `callbacks=[relay]` alone replaced them,
    # and the call vanished from tracers and LangServe's /stream_events.
    config = merge_configs(ensure_config(), {"callbacks": [relay]}) if relay else None
    started = time.perf_counter()
    try:
        result = await chain.ainvoke(inputs, config)
    except (StructuredOutputError, ShortAnswerError, TruncatedAnswer) as exc:  # tokens spent
        _report_usage(stage, exc.usage, started)
        raise
    except openai.APIStatusError as exc:
        # LangGraph's RetryPolicy knows no per-error pause: wait out the provider's
        # Retry-After here, so the policy's own backoff comes on top of it.
        if is_transient(exc) and (wait := retry_after(exc)):
            await asyncio.sleep(wait)
        raise
    _report_usage(stage, result.usage, started)
    return {"output": result.output, "usage": result.usage}


def _report_usage(stage: str, usage: TokenUsage, started: float) -> None:
    # Reported where the call really ran: a resumed run does not pay for it twice.
    seconds = round(time.perf_counter() - started, 3)
    get_stream_writer()(
        {"type": "usage", "stage": stage, "usage": usage.model_dump(), "seconds": seconds}
    )


@typed_task(name="write_topic")
async def topic_task(write: Callable[[], Awaitable[Any]]) -> Any:
    """Run one topic's content → polish calls as a task of its own.

    LangGraph identifies a task called inside a node by the order of the calls the node
    makes. Topics run concurrently, so when their `llm_call`s were made by the theme node
    itself, the polish calls were numbered in the order the contents happened to finish; a
    resumed run numbers them differently and got another topic's checkpointed polish. Inside
    this task a topic's calls are always numbered content 0, polish 1, and the topic tasks
    themselves are started in topic order.
    """
    return await write()
