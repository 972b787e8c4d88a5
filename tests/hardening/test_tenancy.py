"""Tenants and secrets: keys and the provider key never leak; tenants never share a thread."""

import asyncio
import json
import logging
import sqlite3

import httpx
import pytest
from httpx_sse import aconnect_sse
from pydantic import SecretStr

from coursegen.graph.context import Context
from coursegen.graph.graph import chains_from_env
from coursegen.graph.graph import graph as course_graph
from coursegen.server.app import create_app
from coursegen.server.routes.langserve import thread_key
from coursegen.settings import Settings
from tests.server.conftest import create, wait_status
from tests.support.keys import make_key
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import ScriptedLLM

PROVIDER_KEY = "sk-provider-" + "S3CRET" * 6
SERVICE_KEY = "cgk_service-" + "T0KEN" * 6


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_secrets_stay_out_of_logs_answers_and_metrics(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings.model_copy(update={"openai_api_key": SecretStr(PROVIDER_KEY)})
    key = await asyncio.to_thread(make_key, settings, "alice")
    other = await asyncio.to_thread(make_key, settings, "bob")
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30, headers=_auth(key)) as client:
            job = await create(client, themes=1, topics=1)
            await wait_status(client, job, {"completed"})
            for path in (
                f"/courses/{job}",
                "/courses",
                f"/courses/{job}/events",
                f"/courses/{job}/export?format=md",
                "/metrics/",
                "/openapi.json",
            ):
                response = await client.get(path)
                assert response.status_code == 200, path
                seen.append(response.text + str(response.headers))
            wrong = await client.get("/courses", headers=_auth(key + "x"))
            assert wrong.status_code == 401
            seen.append(wrong.text + str(wrong.headers))
        # A key anywhere but the Authorization header is no key. (A key of its own: this
        # puts it in a URL, which the test's own HTTP client then logs.)
        cookies = {"api_key": other}
        async with httpx.AsyncClient(base_url=live.url, timeout=30, cookies=cookies) as bare:
            params = {"api_key": other, "key": other, "access_token": other, "token": other}
            assert (await bare.get("/courses", params=params)).status_code == 401
            assert (await bare.get("/courses", headers=_auth(other))).status_code == 200
    assert caplog.records, "nothing was logged: the log check below would be vacuous"
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    for secret in (key, PROVIDER_KEY):
        assert secret not in logged
        assert not [text for text in seen if secret in text]
    assert PROVIDER_KEY not in repr(settings) and PROVIDER_KEY not in str(settings.model_dump())


async def test_langserve_threads_belong_to_their_owner(settings: Settings) -> None:
    alice = await asyncio.to_thread(make_key, settings, "alice")
    bob = await asyncio.to_thread(make_key, settings, "bob")
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            for key, name in ((alice, "Alice's course"), (bob, "Bob's course")):
                body = {
                    "input": {"course_name": name, "options": {"themes": 1, "topics_per_theme": 1}}
                }
                response = await client.post(
                    "/course/invoke", json=body, headers={**_auth(key), "X-Thread-Id": "shared"}
                )
                assert response.status_code == 200, response.text
                assert response.json()["output"]["course_name"] == name
    with sqlite3.connect(settings.sqlite_path) as db:
        threads = {row[0] for row in db.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    # Bob's run with Alice's thread name did not continue (or overwrite) Alice's checkpoint.
    mine = {thread_key("alice", "shared"), thread_key("bob", "shared")}
    assert mine <= threads and "shared" not in threads


def test_thread_keys_cannot_be_made_to_collide() -> None:
    """Owner `acme` naming thread `eu:t1` must not land on owner `acme:eu`'s thread `t1`
    (the key is a hash of the pair, not a joined string), whatever the characters."""
    pairs = [("acme", "eu:t1"), ("acme:eu", "t1"), ("acme", 'eu", "t1'), ('acme", "eu', "t1")]
    assert len({thread_key(owner, thread) for owner, thread in pairs}) == len(pairs)


@pytest.mark.parametrize("owner", ["acme:eu", "acme eu", "", "-acme", "ac/me", "ä", "a" * 65])
def test_owner_names_keep_to_a_safe_alphabet(settings: Settings, owner: str) -> None:
    with pytest.raises(ValueError, match="invalid owner name") as info:
        make_key(settings, owner)
    assert "letters, digits" in str(info.value)
    assert make_key(settings, "acme.eu_2-b").startswith("cgk_")


async def test_a_reused_thread_never_streams_the_earlier_run(
    live_app: LiveApp, scripted_llm: ScriptedLLM
) -> None:
    small = {"themes": 1, "topics_per_theme": 1}
    headers = {"X-Thread-Id": "reused"}
    async with httpx.AsyncClient(base_url=live_app.url, timeout=30) as client:
        first = await client.post(
            "/course/invoke",
            json={"input": {"course_name": "First run", "options": small}},
            headers=headers,
        )
        assert first.status_code == 200, first.text
        calls = len(scripted_llm.calls)
        events = await _stream_events(
            client, {"course_name": "Second run", "options": small}, headers
        )
    courses = [e["course"] for e in events if e.get("type") == "course"]
    assert [c["course_name"] for c in courses] == ["Second run"]
    assert "First run" not in str(events)
    # Its usage is its own run's alone, not added to the earlier run's.
    assert courses[0]["usage"]["total"]["calls"] == len(scripted_llm.calls) - calls


async def _stream_events(
    client: httpx.AsyncClient, request: dict[str, object], headers: dict[str, str]
) -> list[dict[str, object]]:
    async with aconnect_sse(
        client, "POST", "/course/stream", json={"input": request}, headers=headers
    ) as source:
        return [json.loads(sse.data) async for sse in source.aiter_sse() if sse.event == "data"]


async def test_service_key_never_reaches_the_provider(
    scripted_llm: ScriptedLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`langgraph dev`'s graph takes its provider key from the model settings, not from
    COURSEGEN_API_KEY (the CLI's bearer token for the service)."""
    monkeypatch.setenv("COURSEGEN_API_KEY", SERVICE_KEY)
    monkeypatch.setenv("COURSEGEN_LLM_API_KEY", PROVIDER_KEY)
    monkeypatch.setenv("COURSEGEN_BASE_URL", scripted_llm.base_url)
    chains_from_env.cache_clear()
    try:
        request = {"course_name": "Keys", "options": {"themes": 1, "topics_per_theme": 1}}
        result = await course_graph.ainvoke(
            {"request": request}, context=Context(model="openai:scripted")
        )
    finally:
        chains_from_env.cache_clear()
    assert result["course"].themes
    sent = {call.authorization for call in scripted_llm.calls}
    assert sent == {f"Bearer {PROVIDER_KEY}"}
