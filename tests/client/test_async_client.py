"""Test the async client against the real app over HTTP, with the scripted LLM."""

from typing import Any

import pytest

from coursegen.client import (
    AsyncCourseClient,
    CourseAPIError,
    CourseConnectionError,
    CourseStreamError,
    Event,
)
from coursegen.domain import Course
from tests.support.flaky import AsyncFlakyTransport
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import ScriptedLLM

BODY: dict[str, Any] = {
    "course_name": "Python basics",
    "language": "en",
    "options": {"themes": 2, "topics_per_theme": 2},
}


async def collect(client: AsyncCourseClient, job: str, **kwargs: Any) -> list[Event]:
    return [event async for event in client.events(job, **kwargs)]


async def test_async_create_follow_and_get(live_app: LiveApp) -> None:
    async with AsyncCourseClient(live_app.url) as client:
        job = (await client.create(BODY))["id"]
        events = await collect(client, job)
        snapshot = await client.get(job)
        page = await client.list(limit=1)
        report = await client.report(job)
    assert report == next(e["data"] for e in events if e["type"] == "report")
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "end" and events[-1]["data"] == {"status": "completed"}
    assert snapshot["status"] == "completed"
    assert len(Course.model_validate(snapshot["course"]).themes) == 2
    assert page["items"][0]["id"] == job


async def test_async_events_resume_after_drops(
    live_app: LiveApp, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.token_s = 0.003
    flaky = AsyncFlakyTransport(cuts=[(2, 5), (10, 0), (7, 60)])
    retries: list[tuple[int, int]] = []
    async with AsyncCourseClient(live_app.url, transport=flaky, backoff_s=0.01) as client:
        job = (await client.create(BODY))["id"]
        events = await collect(client, job, on_retry=lambda n, last, exc: retries.append((n, last)))
    async with AsyncCourseClient(live_app.url) as clean:
        replay = await collect(clean, job)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert events == replay and events[-1]["type"] == "end"
    # The third cut lets 7 whole events and 60 bytes through: 60 bytes hold all of a short
    # event 20 (a status or stage event, where timing merged the tokens before it) or part of
    # a longer one, which must then be dropped and read again.
    assert retries[:2] == [(1, 2), (1, 12)] and retries[2] in [(1, 19), (1, 20)], retries
    assert flaky.last_event_ids == ["0", *(str(last) for _, last in retries)]


async def test_async_events_give_up(live_app: LiveApp) -> None:
    flaky = AsyncFlakyTransport(cuts=[], refuse=10)
    async with AsyncCourseClient(live_app.url, transport=flaky, retries=2, backoff_s=0.01) as c:
        job = (await c.create(BODY))["id"]
        with pytest.raises(CourseStreamError, match="failed 3 times in a row"):
            await collect(c, job)
    assert flaky.last_event_ids == ["0", "0", "0"]


async def test_async_review_cancel_delete(live_app: LiveApp, scripted_llm: ScriptedLLM) -> None:
    body = {**BODY, "options": {"themes": 2, "topics_per_theme": 3, "review_outline": True}}
    async with AsyncCourseClient(live_app.url) as client:
        job = (await client.create(body))["id"]
        assert (await client.wait(job))["status"] == "awaiting_review"
        scripted_llm.token_s = 0.05
        assert (await client.review(job, approve=True))["status"] == "queued"
        async for event in client.events(job):
            if event["type"] == "token":
                break
        await client.cancel(job)
        cancelled = await client.wait(job)
        with pytest.raises(CourseAPIError) as conflict:
            await client.regenerate(job, theme=0)
        await client.delete(job)
        with pytest.raises(CourseAPIError) as gone:
            await client.get(job)
    assert cancelled["status"] == "cancelled"
    assert conflict.value.status == 409 and "only a finished course" in str(conflict.value)
    assert gone.value.status == 404


async def test_async_errors(live_app: LiveApp) -> None:
    async with AsyncCourseClient(live_app.url) as client:
        with pytest.raises(CourseAPIError) as missing:
            await client.cancel("nope")
        with pytest.raises(CourseAPIError) as stream:
            await collect(client, "nope")
    assert missing.value.status == 404 and missing.value.detail == "no course job nope"
    assert stream.value.status == 404
    async with AsyncCourseClient("http://127.0.0.1:9", timeout=2) as offline:
        with pytest.raises(CourseConnectionError):
            await offline.get("x")
