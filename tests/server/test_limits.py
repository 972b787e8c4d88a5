"""Test the spending and input limits: body size, rate, jobs per owner, token budget, CORS."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.server.conftest import create, wait_status
from tests.support.databases import private_postgres
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import ScriptedLLM


def _serve(settings: Settings, **changes: object) -> LiveApp:
    return LiveApp(create_app(settings.model_copy(update=changes)))


@pytest.fixture
def strict(settings: Settings) -> Iterator[LiveApp]:
    with _serve(settings, requests_per_minute=3, max_body_bytes=2048, max_jobs_per_owner=1) as live:
        yield live


@pytest.fixture
async def strict_client(strict: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=strict.url, timeout=30) as http:
        yield http


async def test_oversized_bodies_are_refused(strict_client: httpx.AsyncClient) -> None:
    big = {"course_name": "x", "description": "y" * 4000}
    response = await strict_client.post("/courses", json=big)
    assert response.status_code == 413 and "limit 2048 bytes" in response.text

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"course_name": "x", "description": "'
        for _ in range(10):
            yield b"y" * 500
        yield b'"}'

    chunked = await strict_client.post(
        "/courses", content=chunks(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413
    assert chunked.headers["x-content-type-options"] == "nosniff"


async def test_write_rate_is_limited_with_retry_after(strict_client: httpx.AsyncClient) -> None:
    review = {"approve": True}
    statuses = [
        (await strict_client.post("/courses/none/review", json=review)).status_code
        for _ in range(4)
    ]
    assert statuses == [404, 404, 404, 429]
    limited = await strict_client.post("/courses/none/review", json=review)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert (await strict_client.get("/courses")).status_code == 200  # reads are not limited
    # Cancel and delete stop spending: the limit never holds them back.
    assert (await strict_client.post("/courses/none/cancel")).status_code == 404
    assert (await strict_client.delete("/courses/none")).status_code == 404


async def test_jobs_per_owner_are_limited(
    strict_client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.token_s = 0.02
    body = {"course_name": "Limits", "options": {"themes": 1, "topics_per_theme": 1}}
    first = await strict_client.post("/courses", json=body, headers={"Idempotency-Key": "one"})
    assert first.status_code == 202
    second = await strict_client.post("/courses", json=body)
    assert second.status_code == 429 and "already queued or running" in second.text
    replay = await strict_client.post("/courses", json=body, headers={"Idempotency-Key": "one"})
    assert replay.status_code == 202 and replay.json()["id"] == first.json()["id"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_settings(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    """The app's settings on SQLite, and on a PostgreSQL database of the test's own."""
    if request.param == "sqlite":
        yield settings
        return
    with private_postgres() as url:
        yield settings.model_copy(update={"database_url": url})


async def test_concurrent_creates_cannot_race_past_the_job_slots(
    store_settings: Settings, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.first_token_s = 30  # the admitted jobs stay running while the others knock
    body = {"course_name": "Race", "options": {"themes": 1, "topics_per_theme": 1}}
    with _serve(store_settings, max_jobs_per_owner=5) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            answers = await asyncio.gather(*(client.post("/courses", json=body) for _ in range(15)))
            statuses = sorted(answer.status_code for answer in answers)
            assert statuses == [202] * 5 + [429] * 10, statuses
            listed = (await client.get("/courses")).json()["items"]
            assert len(listed) == 5


async def test_idempotency_key_reused_with_another_body_is_refused(
    client: httpx.AsyncClient,
) -> None:
    body = {"course_name": "Once", "options": {"themes": 1, "topics_per_theme": 1}}
    key = {"Idempotency-Key": "same"}
    first = await client.post("/courses", json=body, headers=key)
    assert first.status_code == 202
    other = await client.post("/courses", json={**body, "course_name": "Twice"}, headers=key)
    assert other.status_code == 422, other.text
    error = other.json()["detail"][0]
    assert (
        error["loc"] == ["header", "idempotency-key"] and error["type"] == "idempotency_key_reused"
    )
    assert "another body" in error["msg"] and first.json()["id"] in error["msg"]
    replay = await client.post("/courses", json=body, headers=key)
    assert replay.status_code == 202 and replay.json()["id"] == first.json()["id"]
    assert len((await client.get("/courses")).json()["items"]) == 1


async def test_resume_ids_past_64_bits_are_refused(client: httpx.AsyncClient) -> None:
    job = await create(client, themes=1, topics=1)
    await wait_status(client, job, {"completed"})
    huge = "99999999999999999999"
    by_query = await client.get(f"/courses/{job}/events?after={huge}")
    by_header = await client.get(f"/courses/{job}/events", headers={"Last-Event-ID": huge})
    for answer in (by_query, by_header):
        assert answer.status_code == 422, answer.text
        assert "less than or equal to 9223372036854775807" in answer.text
    # The largest id that is allowed is past the end of the log: an empty, finished stream.
    largest = await client.get(f"/courses/{job}/events?after={2**63 - 1}")
    assert largest.status_code == 200 and "data:" not in largest.text


async def test_an_edited_outline_obeys_the_request_limits(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    job = await create(client, themes=2, topics=1, review_outline=True)
    await wait_status(client, job, {"awaiting_review"})
    theme = {"title": "Theme", "description": "What it covers"}
    too_many = {"themes": [theme] * 13}
    too_long = {"themes": [{**theme, "title": "t" * 201}]}
    too_wordy = {"themes": [{**theme, "description": "d" * 2001}]}
    blank = {"themes": [{**theme, "title": "   "}]}
    extra = {"themes": [{**theme, "topics": ["smuggled"] * 50}]}
    for outline in (too_many, too_long, too_wordy, blank, extra, {"themes": []}):
        answer = await client.post(f"/courses/{job}/review", json={"outline": outline})
        assert answer.status_code == 422, (outline, answer.text)
    assert (await client.get(f"/courses/{job}")).json()["status"] == "awaiting_review"
    # Within the limits an edit may change the number of themes; topics stay as requested.
    edited = {"themes": [{**theme, "title": f"Theme {i}"} for i in range(3)]}
    answer = await client.post(f"/courses/{job}/review", json={"outline": edited})
    assert answer.status_code == 200, answer.text
    done = await wait_status(client, job, {"completed"})
    assert [len(t["topics"]) for t in done["course"]["themes"]] == [1, 1, 1]
    assert len(scripted_llm.calls_for("ThemeTopics")) == 3


async def test_token_budget_fails_the_job_and_keeps_what_was_written(
    settings: Settings, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.token_s = 0.01
    with _serve(settings, job_token_budget=1500) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            job = await create(client, themes=2, topics=3)
            failed = await wait_status(client, job, {"failed"})
    assert failed["error"]["code"] == "budget_exceeded" and failed["error"]["retryable"] is False
    assert len(failed["course"]["themes"]) == 2 and failed["usage"]["total"]["total_tokens"] > 1500
    calls = len(scripted_llm.calls)
    await asyncio.sleep(0.3)
    assert len(scripted_llm.calls) == calls and all(c.ended is not None for c in scripted_llm.calls)
    assert calls < 1 + 2 + 6 + 6


async def test_cors_is_closed_unless_configured(settings: Settings, tmp_path: Path) -> None:
    preflight = {"Origin": "https://lms.example", "Access-Control-Request-Method": "POST"}
    with _serve(settings) as closed:
        async with httpx.AsyncClient(base_url=closed.url) as client:
            response = await client.options("/courses", headers=preflight)
            assert "access-control-allow-origin" not in response.headers
    with _serve(
        settings, cors_origins=["https://lms.example"], data_dir=tmp_path / "cors"
    ) as open_:
        async with httpx.AsyncClient(base_url=open_.url) as client:
            response = await client.options("/courses", headers=preflight)
            assert response.headers["access-control-allow-origin"] == "https://lms.example"
