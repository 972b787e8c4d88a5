"""A provider's Retry-After is waited out before the call is tried again.

Two layers retry a failed LLM call: the openai client (`COURSEGEN_LLM_MAX_RETRIES` HTTP
retries, which honour `Retry-After` up to 120 s on their own) and the graph's `RetryPolicy`
(`tasks.LLM_RETRY`, whose backoff knows no per-error pause: `llm_call` waits the
`Retry-After` out before re-raising). Each wait is measured on the scripted server's own
clock: from the moment it answered 429 to the moment the retry arrived.
"""

import time
from collections.abc import Callable
from email.utils import formatdate

import httpx2
import openai
import pytest
from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import RetryPolicy

from coursegen.chains.stages import build_course_chains
from coursegen.domain import CourseOptions, CourseRequest
from coursegen.graph import build_graph
from coursegen.graph.tasks import MAX_RETRY_AFTER_S, is_transient, retry_after
from coursegen.providers.loading import ModelOptions, load_chat_model
from tests.support.scripted_llm import Call, Fault, Reply, ScriptedLLM

REQUEST = CourseRequest(
    course_name="Retry basics",
    language="en",
    options=CourseOptions(themes=1, topics_per_theme=1),
)


def first_outline_limited(seconds: float) -> Callable[[Call], Reply]:
    """A script: the first outline call gets 429 with `Retry-After: <seconds>`."""
    outlines: list[Call] = []

    def script(call: Call) -> Reply:
        if call.schema != "Outline":
            return None
        outlines.append(call)
        return Fault("http", status=429, retry_after=seconds) if len(outlines) == 1 else None

    return script


def chat(llm: ScriptedLLM, max_retries: int) -> BaseChatModel:
    options = ModelOptions(base_url=llm.base_url, max_retries=max_retries)
    return load_chat_model("openai:scripted", options)


def gap_after_429(llm: ScriptedLLM) -> float:
    """Seconds between the server's 429 answer and the retry of that call."""
    limited, retried = llm.calls_for("Outline")[:2]
    assert limited.status == 429 and retried.status == 200
    assert limited.ended is not None
    return retried.started - limited.ended


async def test_openai_client_waits_retry_after_before_its_retry(
    scripted_llm: ScriptedLLM,
) -> None:
    """The client's own retry (what `COURSEGEN_LLM_MAX_RETRIES` allows) comes after the
    server's `Retry-After: 1`, not after the client's backoff (0.5 s less jitter)."""
    scripted_llm.script = first_outline_limited(1)
    chains = build_course_chains(chat(scripted_llm, max_retries=1), "json_schema")
    result = await chains.outline.ainvoke(REQUEST)
    assert len(result.output.themes) == 1
    assert len(scripted_llm.calls) == 2
    assert gap_after_429(scripted_llm) >= 1.0


async def test_graph_retry_waits_retry_after(
    scripted_llm: ScriptedLLM, fast_retries: RetryPolicy
) -> None:
    """With no client retries, the graph's next attempt comes after `Retry-After: 1` too,
    although its own backoff here is 10 ms."""
    assert fast_retries.initial_interval < 0.1
    scripted_llm.script = first_outline_limited(1)
    graph = build_graph(checkpointer=InMemorySaver(), model=chat(scripted_llm, max_retries=0))
    result = await graph.ainvoke({"request": REQUEST}, {"configurable": {"thread_id": "t"}})
    assert len(result["course"].themes) == 1
    assert len(scripted_llm.calls_for("Outline")) == 2
    assert gap_after_429(scripted_llm) >= 1.0


async def test_a_pause_longer_than_the_cap_is_not_retried(
    scripted_llm: ScriptedLLM, fast_retries: RetryPolicy
) -> None:
    """A provider asking for an hour's pause fails the call at once instead of holding on."""
    scripted_llm.script = first_outline_limited(3600)
    graph = build_graph(checkpointer=InMemorySaver(), model=chat(scripted_llm, max_retries=0))
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError):
        await graph.ainvoke({"request": REQUEST}, {"configurable": {"thread_id": "t"}})
    assert len(scripted_llm.calls) == 1 and time.monotonic() - started < MAX_RETRY_AFTER_S


def _rate_limited(headers: dict[str, str]) -> openai.RateLimitError:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx2.Response(429, headers=headers, request=request)
    return openai.RateLimitError("slow down", response=response, body=None)


def test_retry_after_forms() -> None:
    assert retry_after(_rate_limited({"retry-after": "2"})) == 2.0
    assert retry_after(_rate_limited({"retry-after": "0.5"})) == 0.5
    assert retry_after(_rate_limited({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    later = retry_after(_rate_limited({"retry-after": formatdate(time.time() + 30, usegmt=True)}))
    assert later is not None and 28 <= later <= 30
    assert retry_after(_rate_limited({})) is None
    assert retry_after(_rate_limited({"retry-after": "soon"})) is None
    assert retry_after(TimeoutError()) is None
    assert is_transient(_rate_limited({"retry-after": "1"}))
    assert not is_transient(_rate_limited({"retry-after": str(MAX_RETRY_AFTER_S + 1)}))


def test_a_stream_cut_by_the_http_library_is_transient() -> None:
    """Both HTTP stacks the openai SDK may be built on: their transport errors are retried."""
    import httpx

    assert is_transient(httpx.RemoteProtocolError("peer closed connection"))
    httpx2 = pytest.importorskip("httpx2")
    assert is_transient(httpx2.RemoteProtocolError("peer closed connection"))
