"""Test the LangServe routes against a live uvicorn server with LangServe's own client."""

import json

import httpx
from langserve import RemoteRunnable

from coursegen.domain import Course
from coursegen.server.routes.langserve import thread_key
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import ScriptedLLM

REQUEST = {
    "course_name": "Основы Python",
    "description": "Первый курс",
    "options": {"themes": 2, "topics_per_theme": 2},
}


async def test_remote_runnable_invokes_the_course(
    live_app: LiveApp, scripted_llm: ScriptedLLM
) -> None:
    course = Course.model_validate(await RemoteRunnable(f"{live_app.url}/course").ainvoke(REQUEST))
    assert [t.title for t in course.themes] == ["Тема 1", "Тема 2"]
    assert all(topic.polished is not None for theme in course.themes for topic in theme.topics)
    assert (
        course.language == "ru"
        and course.usage.total.calls == len(scripted_llm.calls) == 1 + 2 + 4 + 4
    )


async def test_course_stream_yields_progress_and_tokens_before_the_end(
    live_app: LiveApp, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.token_s = 0.001
    kinds = [
        chunk["type"] async for chunk in RemoteRunnable(f"{live_app.url}/course").astream(REQUEST)
    ]
    assert kinds[-1] == "course"
    first_token, first_progress = kinds.index("token"), kinds.index("progress")
    assert first_token < len(kinds) - 1 and first_progress < len(kinds) - 1
    assert kinds.count("content") == 4 and kinds.count("polished") == 4
    progress = [c for c in kinds if c == "progress"]
    assert len(progress) == 1 + 2 + 4 + 4


async def test_thread_id_header_names_the_checkpoint(live_app: LiveApp) -> None:
    async with httpx.AsyncClient(base_url=live_app.url, timeout=30) as client:
        response = await client.post(
            "/course/invoke", json={"input": REQUEST}, headers={"X-Thread-Id": "thread-42"}
        )
        assert response.status_code == 200, response.text
    graph = live_app.app.state.graph
    # On the app's loop: the checkpointer's lock and connection belong to it.
    config = {"configurable": {"thread_id": thread_key("local", "thread-42")}}
    state = await live_app.call(lambda: graph.aget_state(config))
    assert state.values["course"].course_name == "Основы Python"


async def test_stream_events_survives_send(live_app: LiveApp) -> None:
    events = [
        e
        async for e in RemoteRunnable(f"{live_app.url}/course").astream_events(
            REQUEST, version="v2"
        )
    ]
    assert any(e["event"] == "on_chat_model_stream" for e in events)
    # Every call streams there, those whose tokens also go to the job's log included.
    streamed = {e["run_id"] for e in events if e["event"] == "on_chat_model_stream"}
    assert len(streamed) == 1 + 2 + 2 * 2 * 2
    assert events[-1]["event"] == "on_chain_end"


async def test_stage_chain_and_playground(live_app: LiveApp) -> None:
    outline = await RemoteRunnable(f"{live_app.url}/chains/outline").ainvoke(
        {"course_name": "Rust", "options": {"themes": 4}}
    )
    assert len(outline["output"]["themes"]) == 4 and outline["usage"]["calls"] == 1
    async with httpx.AsyncClient(base_url=live_app.url) as client:
        page = await client.get("/course/playground/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        schema = (await client.get("/course/input_schema")).json()
        assert "course_name" in schema["properties"]
        assert (await client.get("/healthz")).json() == {"status": "ok"}


async def test_course_stream_writes_an_8_by_5_course_in_89_calls(
    live_app: LiveApp, scripted_llm: ScriptedLLM
) -> None:
    request = {"course_name": "Data engineering", "options": {"themes": 8, "topics_per_theme": 5}}
    chunks = [c async for c in RemoteRunnable(f"{live_app.url}/course").astream(request)]
    course = Course.model_validate(chunks[-1]["course"])
    assert len(course.themes) == 8 and all(len(t.topics) == 5 for t in course.themes)
    assert len(scripted_llm.calls) == 89 and course.usage.total.calls == 89
    assert chunks[-2]["type"] == "progress" and chunks[-2]["done"] == chunks[-2]["total"] == 89


async def test_published_input_schemas_have_no_null_members(live_app: LiveApp) -> None:
    """The playground's form cannot draw `{"type": "null"}` (a blank page): none is published,
    while the request still accepts what it accepted (null options included)."""
    async with httpx.AsyncClient(base_url=live_app.url, timeout=30) as client:
        for path in ("/course", *(f"/chains/{s}" for s in ("outline", "topics", "content"))):
            schema = (await client.get(f"{path}/input_schema")).json()
            assert '"null"' not in json.dumps(schema), path
            assert "course_name" in json.dumps(schema), path
        body = {"input": {"course_name": "Rust", "language": None, "options": {"themes": None}}}
        answer = await client.post("/chains/outline/invoke", json=body)
        assert answer.status_code == 200, answer.text
        openapi = json.dumps((await client.get("/openapi.json")).json())
        assert '"null"' in openapi  # the API's own schema still says what is nullable
