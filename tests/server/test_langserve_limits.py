"""LangServe runs are held to the key's limits: jobs at once, and the token budget of a job.

Over real HTTP against the scripted model: a `/course` or `/chains` run takes one of the
owner's jobs-at-once slots (a batch: one per input) until its answer is sent, and a course
run stops at `COURSEGEN_JOB_TOKEN_BUDGET` with `budget_exceeded`.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.server.conftest import wait_status
from tests.support.keys import make_key
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import Fault, ScriptedLLM

pytestmark = pytest.mark.timeout(90)


def _course(name: str, themes: int = 1, topics: int = 1) -> dict[str, Any]:
    return {"course_name": name, "options": {"themes": themes, "topics_per_theme": topics}}


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@asynccontextmanager
async def langserve_stream(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> AsyncIterator[AsyncIterator[tuple[str, Any]]]:
    """POST a LangServe stream; yield its (event, data) pairs. Leaving the block disconnects."""
    async with client.stream("POST", path, json=body, headers=headers) as response:
        assert response.status_code == 200, await response.aread()

        async def events() -> AsyncIterator[tuple[str, Any]]:
            event, data = "message", []
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line.partition(":")[2].strip()
                elif line.startswith("data:"):
                    data.append(line.partition(":")[2].strip())
                elif not line:
                    if data or event != "message":
                        yield event, json.loads("\n".join(data)) if data else None
                    event, data = "message", []

        yield events()


@pytest.fixture
def keys(settings: Settings) -> dict[str, str]:
    return {owner: make_key(settings, owner) for owner in ("alice", "bob")}


@pytest.fixture
def limited(settings: Settings, keys: dict[str, str]) -> Iterator[LiveApp]:
    changes = {"max_jobs_per_owner": 2, "requests_per_minute": 1000}
    with LiveApp(create_app(settings.model_copy(update=changes))) as live:
        yield live


async def test_langserve_runs_count_against_jobs_at_once(
    limited: LiveApp, keys: dict[str, str], scripted_llm: ScriptedLLM
) -> None:
    alice, bob = _auth(keys["alice"]), _auth(keys["bob"])
    scripted_llm.token_s = 0.05  # a 1 x 1 course takes seconds: the stream stays in flight
    async with httpx.AsyncClient(base_url=limited.url, timeout=30) as client:
        stream = langserve_stream(client, "/course/stream", {"input": _course("Held")}, alice)
        async with stream as events:
            assert (await anext(events))[0] == "metadata"  # the run has started
            job = await client.post("/courses", json=_course("A job"), headers=alice)
            assert job.status_code == 202, job.text  # 1 run + 1 job: alice's limit of 2

            refused = [
                await client.post("/course/invoke", json={"input": _course("x")}, headers=alice),
                await client.post(
                    "/chains/outline/invoke", json={"input": _course("x")}, headers=alice
                ),
                await client.post("/courses", json=_course("x"), headers=alice),
            ]
            for response in refused:
                assert response.status_code == 429, response.text
                assert int(response.headers["retry-after"]) >= 1
                assert "already queued or running" in response.json()["detail"]
            # Another owner's slots are its own.
            other = await client.post(
                "/chains/outline/invoke", json={"input": _course("Bob's")}, headers=bob
            )
            assert other.status_code == 200, other.text

            job_id = job.json()["id"]
            await client.post(f"/courses/{job_id}/cancel", headers=alice)
            client.headers.update(alice)
            await wait_status(client, job_id, {"cancelled"})
            del client.headers["Authorization"]
            two = {"inputs": [_course("B1"), _course("B2")]}
            batch = await client.post("/course/batch", json=two, headers=alice)
            assert batch.status_code == 429, batch.text  # the stream holds 1 of 2 slots
            assert "2 runs would exceed" in batch.json()["detail"]
        # The client went away: the stream's run stops and gives its slot back.
        scripted_llm.token_s = 0.0
        deadline = time.monotonic() + 10
        while True:
            batch = await client.post("/course/batch", json=two, headers=alice)
            if batch.status_code != 429 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert batch.status_code == 200, batch.text
        assert [c["course_name"] for c in batch.json()["output"]] == ["B1", "B2"]
        three = {"inputs": [_course("C1"), _course("C2"), _course("C3")]}
        too_big = await client.post("/course/batch", json=three, headers=alice)
        assert too_big.status_code == 429, too_big.text


@pytest.fixture
def budgeted(settings: Settings) -> Iterator[LiveApp]:
    with LiveApp(create_app(settings.model_copy(update={"job_token_budget": 1500}))) as live:
        yield live


async def test_langserve_course_run_stops_at_the_token_budget(
    budgeted: LiveApp, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.token_s = 0.01
    body = {"input": _course("Budgeted", themes=2, topics=3)}
    planned = 1 + 2 + 6 + 6
    async with httpx.AsyncClient(base_url=budgeted.url, timeout=30) as client:
        invoke = await client.post("/course/invoke", json=body)
        assert invoke.status_code == 402, invoke.text
        answer = invoke.json()
        assert answer["code"] == "budget_exceeded" and "budget is 1500" in answer["detail"]
        await _assert_calls_stopped(scripted_llm, planned)

        # A batch fails as a whole at its first course over budget, and its other courses
        # stop with it (here one whose content call would otherwise hang on forever).
        scripted_llm.reset()
        scripted_llm.script = lambda call: (
            Fault("stall")
            if call.data.get("course_name") == "Stalled" and call.schema == "TopicContent"
            else None
        )
        inputs = [body["input"], _course("Stalled")]
        batch = await client.post("/course/batch", json={"inputs": inputs})
        assert batch.status_code == 402 and batch.json()["code"] == "budget_exceeded"
        assert [c for c in scripted_llm.calls if c.data.get("course_name") == "Stalled"]
        await _assert_calls_stopped(scripted_llm, planned + 4)
        scripted_llm.script = None

        scripted_llm.reset()
        async with langserve_stream(client, "/course/stream", body, {}) as stream:
            received = [(event, data) async for event, data in stream]
    chunks = [data for event, data in received if event == "data"]
    assert received[-1][0] == "end", received[-3:]  # ended cleanly, not with a 500
    error = chunks[-1]
    assert error["type"] == "error" and error["code"] == "budget_exceeded", error
    assert error["retryable"] is False and "budget is 1500" in error["message"]
    assert not [c for c in chunks if c["type"] == "course"]
    # What was written before the budget ran out has been streamed.
    assert [c for c in chunks if c["type"] == "outline"]
    spent = sum(c["usage"]["total_tokens"] for c in chunks if c["type"] == "usage")
    assert spent > 1500
    await _assert_calls_stopped(scripted_llm, planned)


async def _assert_calls_stopped(llm: ScriptedLLM, planned: int) -> None:
    """No call goes on (or starts) after the run stopped, and not all calls were made."""
    await asyncio.sleep(0.3)
    calls = len(llm.calls)
    await asyncio.sleep(0.3)
    assert len(llm.calls) == calls < planned
    assert all(call.ended is not None for call in llm.calls)
