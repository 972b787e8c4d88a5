"""Test the jobs API over real HTTP: replay, resume, disconnects, cancel, review, regenerate."""

import asyncio
import json
from pathlib import Path

import httpx

from coursegen.domain import Outline, ThemeTopics
from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.server.conftest import create, wait_status
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import Call, ScriptedLLM
from tests.support.sse import SSE, read_events, token_text


def _key(events: list[SSE]) -> list[tuple[int, str, object]]:
    return [(e.id, e.event, e.data) for e in events]


async def test_replay_equals_live_and_subscribers_agree(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.token_s = 0.002
    job = await create(client)
    url = f"/courses/{job}/events"
    first, second = await asyncio.gather(read_events(client, url), read_events(client, url))
    replay = await read_events(client, url)
    assert _key(first) == _key(second) == _key(replay)
    assert [e.id for e in replay] == list(range(1, len(replay) + 1))
    assert replay[-1].event == "end" and replay[-1].data == {"status": "completed"}
    contents = {
        (e.data["theme"], e.data["topic"]): e.data["content"]
        for e in replay
        if e.event == "content"
    }
    assert len(contents) == 4
    for (theme, topic), content in contents.items():
        assert json.loads(token_text(replay, "content", theme, topic)) == content


async def test_every_stage_streams_and_stage_names_the_one_being_written(
    client: httpx.AsyncClient,
) -> None:
    job = await create(client, themes=2, topics=1)
    events = await read_events(client, f"/courses/{job}/events")
    kinds = [e.event for e in events]
    stages = [(i, e.data["stage"]) for i, e in enumerate(events) if e.event == "stage"]
    assert [stage for _, stage in stages] == ["outline", "topics", "content", "polish"]
    # Each stage is named when its first call can start, before that call's first token.
    for (at, stage), opened_by in zip(stages, [None, "outline", "topics", "content"], strict=True):
        first_token = next(
            i for i, e in enumerate(events) if e.event == "token" and e.data["stage"] == stage
        )
        assert at < first_token, stage
        if opened_by is not None:
            assert kinds.index(opened_by) < at, stage
    outline = next(e.data["outline"] for e in events if e.event == "outline")
    # The streamed answer is the event's object (with the defaults of fields it left out).
    written = Outline.model_validate_json(token_text(events, "outline", None, None))
    assert written.model_dump(mode="json") == outline
    for theme in range(2):
        topics = next(
            e.data["topics"] for e in events if e.event == "topics" and e.data["theme"] == theme
        )
        written_topics = ThemeTopics.model_validate_json(token_text(events, "topics", theme, None))
        assert written_topics.model_dump(mode="json") == topics
    snapshot = (await client.get(f"/courses/{job}")).json()
    assert snapshot["status"] == "completed" and snapshot["stage"] == "polish"


async def test_resume_after_every_event_id(client: httpx.AsyncClient) -> None:
    job = await create(client, themes=1, topics=2)
    full = await read_events(client, f"/courses/{job}/events")
    last = full[-1].id
    for after in range(last):
        tail = await read_events(client, f"/courses/{job}/events", last_event_id=after)
        assert [e.id for e in tail] == list(range(after + 1, last + 1))
    query = await read_events(client, f"/courses/{job}/events?after={last - 3}")
    assert _key(query) == _key(full[-3:])


async def test_disconnect_keeps_running_and_reconnect_loses_nothing(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.token_s = 0.01
    job = await create(client)
    url = f"/courses/{job}/events"
    head = await read_events(client, url, limit=12)
    snapshot = (await client.get(f"/courses/{job}")).json()
    assert snapshot["status"] in {"queued", "running"}
    await asyncio.sleep(0.3)  # generation goes on with nobody listening
    assert (await client.get(f"/courses/{job}")).json()["last_event_id"] > head[-1].id
    tail = await read_events(client, url, last_event_id=head[-1].id)
    ids = [e.id for e in head + tail]
    assert ids == list(range(1, len(ids) + 1))
    assert tail[-1].event == "end"
    assert _key(head + tail) == _key(await read_events(client, url))


async def test_cancel_aborts_calls_in_flight(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.token_s = 0.05
    job = await create(client, themes=2, topics=3)
    for _ in range(200):
        if scripted_llm.calls_for("TopicContent"):
            break
        await asyncio.sleep(0.02)
    response = await client.post(f"/courses/{job}/cancel")
    assert response.status_code == 200
    snapshot = await wait_status(client, job, {"cancelled"})
    await asyncio.sleep(0.3)
    in_flight = [c for c in scripted_llm.calls if c.schema == "TopicContent"]
    assert any(c.disconnected for c in in_flight), "no provider stream was closed"
    assert all(c.ended is not None for c in scripted_llm.calls), "a provider call is still open"
    calls = len(scripted_llm.calls)
    await asyncio.sleep(0.3)
    assert len(scripted_llm.calls) == calls
    again = await client.post(f"/courses/{job}/cancel")
    assert again.json()["status"] == "cancelled"
    events = await read_events(client, f"/courses/{job}/events")
    assert [e.event for e in events[-2:]] == ["status", "end"]
    assert events[-1].data == {"status": "cancelled"} and snapshot["last_event_id"] == events[-1].id


async def test_review_approve(client: httpx.AsyncClient, scripted_llm: ScriptedLLM) -> None:
    job = await create(client, themes=3, topics=1, review_outline=True)
    paused = await wait_status(client, job, {"awaiting_review"})
    assert len(scripted_llm.calls) == 1 and [t["title"] for t in paused["course"]["themes"]] == [
        "Theme 1",
        "Theme 2",
        "Theme 3",
    ]
    events = await read_events(
        client, f"/courses/{job}/events?after=0", limit=paused["last_event_id"]
    )
    review = [e for e in events if e.event == "review"]
    assert review and len(review[0].data["outline"]["themes"]) == 3
    assert (await client.post(f"/courses/{job}/review", json={"approve": True})).status_code == 200
    done = await wait_status(client, job, {"completed"})
    assert [t["title"] for t in done["course"]["themes"]] == ["Theme 1", "Theme 2", "Theme 3"]
    assert len(scripted_llm.calls) == 1 + 3 + 3 + 3


async def test_review_with_edited_outline(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    job = await create(client, themes=3, topics=1, review_outline=True)
    await wait_status(client, job, {"awaiting_review"})
    edited = {
        "themes": [
            {"title": "Intro", "description": "Start"},
            {"title": "Loops", "description": "for"},
        ]
    }
    response = await client.post(
        f"/courses/{job}/review", json={"approve": True, "outline": edited}
    )
    assert response.status_code == 200
    done = await wait_status(client, job, {"completed"})
    assert [t["title"] for t in done["course"]["themes"]] == ["Intro", "Loops"]
    assert [c.data["theme"]["title"] for c in scripted_llm.calls_for("ThemeTopics")] == [
        "Intro",
        "Loops",
    ] or sorted(c.data["theme"]["title"] for c in scripted_llm.calls_for("ThemeTopics")) == [
        "Intro",
        "Loops",
    ]
    conflict = await client.post(f"/courses/{job}/review", json={"approve": True})
    assert conflict.status_code == 409


async def test_regenerate_topic_leaves_the_rest_identical(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    job = await create(client)
    before = (await wait_status(client, job, {"completed"}))["course"]

    def rewrite(call: Call) -> dict[str, object] | None:
        if call.schema == "TopicContent":
            return {
                "body_markdown": "REWRITTEN",
                "key_points": ["k"],
                "examples": [],
                "self_check": [{"question": f"q{i}", "answer": "a"} for i in range(3)],
            }
        return None

    scripted_llm.script = rewrite
    response = await client.post(
        f"/courses/{job}/regenerate", json={"theme": 1, "topic": 0, "instructions": "simpler"}
    )
    assert response.status_code == 202
    await asyncio.sleep(0.05)
    after = (await wait_status(client, job, {"completed"}))["course"]
    assert after["themes"][1]["topics"][0]["content"]["body_markdown"] == "REWRITTEN"
    for i, theme in enumerate(before["themes"]):
        for j, topic in enumerate(theme["topics"]):
            if (i, j) != (1, 0):
                assert json.dumps(after["themes"][i]["topics"][j], sort_keys=True) == json.dumps(
                    topic, sort_keys=True
                )
    regen_calls = scripted_llm.calls[-2:]
    assert [c.schema for c in regen_calls] == ["TopicContent", "PolishedTopic"]
    assert "Revision request: simpler" in regen_calls[0].data["requirements"]
    assert after["usage"]["total"]["calls"] == before["usage"]["total"]["calls"] + 2
    # the rewritten lesson still sees the whole course by number
    assert len(regen_calls[0].data["course_map"]) == 2 + 4
    assert regen_calls[0].data["topic"]["number"] == "2.1"
    # the glossary follows the lessons: the rewritten one defines no term any more
    introduced = [(g["theme"], g["topic"]) for g in before["glossary"]]
    assert (2, 1) in introduced and len(introduced) == 4
    assert [(g["theme"], g["topic"]) for g in after["glossary"]] == [
        t for t in introduced if t != (2, 1)
    ]


async def test_idempotency_key_returns_the_same_job(client: httpx.AsyncClient) -> None:
    body = {"course_name": "Go", "options": {"themes": 1, "topics_per_theme": 1}}
    first = await client.post("/courses", json=body, headers={"Idempotency-Key": "abc"})
    second = await client.post("/courses", json=body, headers={"Idempotency-Key": "abc"})
    other = await client.post("/courses", json=body, headers={"Idempotency-Key": "xyz"})
    assert first.json()["id"] == second.json()["id"] != other.json()["id"]
    assert first.headers["location"] == f"/courses/{first.json()['id']}"


async def test_list_paginates_newest_first_and_delete(client: httpx.AsyncClient) -> None:
    ids = [await create(client, themes=1, topics=1) for _ in range(3)]
    page = (await client.get("/courses?limit=2")).json()
    assert [item["id"] for item in page["items"]] == ids[::-1][:2]
    rest = (await client.get(f"/courses?limit=2&cursor={page['next_cursor']}")).json()
    assert [item["id"] for item in rest["items"]] == ids[:1] and rest["next_cursor"] is None
    for job in ids:
        await wait_status(client, job, {"completed"})
    assert (await client.delete(f"/courses/{ids[0]}")).status_code == 204
    assert (await client.get(f"/courses/{ids[0]}")).status_code == 404
    assert (await client.get(f"/courses/{ids[0]}/events")).status_code == 404


async def test_bad_requests_are_rejected_clearly(client: httpx.AsyncClient) -> None:
    empty = await client.post("/courses", json={"course_name": ""})
    assert empty.status_code == 422 and "course_name" in empty.text
    unknown = await client.post("/courses", json={"course_name": "x", "colour": "red"})
    assert unknown.status_code == 422 and "colour" in unknown.text
    language = await client.post("/courses", json={"course_name": "x", "language": "xx"})
    assert language.status_code == 422 and "unknown language code" in language.text
    assert (await client.get("/courses/nope")).status_code == 404
    job = await create(client, themes=1, topics=1)
    await wait_status(client, job, {"completed"})
    bad = await client.post(f"/courses/{job}/regenerate", json={"theme": 5})
    assert bad.status_code == 409 and "theme 5 does not exist" in bad.text


async def test_jobs_beyond_the_replica_limit_wait_queued(
    tmp_path: Path, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.token_s = 0.01
    settings = Settings(
        base_url=scripted_llm.base_url,
        model="openai:scripted",
        data_dir=tmp_path,
        max_running_jobs=1,
    )
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            first = await create(client, themes=1, topics=2)
            await wait_status(client, first, {"running"})
            second = await create(client, themes=1, topics=1)
            await asyncio.sleep(0.3)
            queued = (await client.get(f"/courses/{second}")).json()
            assert queued["status"] == "queued"
            # Named from creation on, so a list never shows a bare id for a waiting course.
            assert queued["course"]["course_name"] == "Python basics"
            assert queued["course"]["themes"] == []
            assert (await client.get(f"/courses/{first}")).json()["status"] == "running"
            await wait_status(client, first, {"completed"})
            await wait_status(client, second, {"completed"})


async def test_export_every_format(client: httpx.AsyncClient) -> None:
    job = await create(client, themes=2, topics=1)
    await wait_status(client, job, {"completed"})
    expected = {
        "md": "text/markdown",
        "html": "text/html",
        "scorm": "application/zip",
        "imscc": "application/zip",
    }
    for fmt, media in expected.items():
        response = await client.get(f"/courses/{job}/export", params={"format": fmt})
        assert response.status_code == 200 and response.headers["content-type"].startswith(media)
        assert "attachment; filename=" in response.headers["content-disposition"]
    markdown = (await client.get(f"/courses/{job}/export?format=md")).text
    assert "Python basics" in markdown and "Theme 2 / Topic 1" in markdown
    assert (await client.get(f"/courses/{job}/export?format=pdf")).status_code == 422


async def test_estimate_predicts_calls_and_tokens(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    body = {"course_name": "Python basics", "options": {"themes": 2, "topics_per_theme": 3}}
    estimate = (await client.post("/courses/estimate", json=body)).json()
    assert estimate["calls"] == 1 + 2 + 2 * 6 and estimate["topics"] == 6
    assert estimate["total_tokens"] == estimate["prompt_tokens"] + estimate["completion_tokens"]
    job = await create(client, themes=2, topics=3)
    done = await wait_status(client, job, {"completed"})
    assert done["usage"]["total"]["calls"] == estimate["calls"]
    spent = done["usage"]["total"]["prompt_tokens"]
    assert spent / 3 < estimate["prompt_tokens"] < spent * 3  # the scripted server counts chars / 4
    default = (await client.post("/courses/estimate", json={"course_name": "x"})).json()
    assert default["themes"] == 6 and default["calls"] == 1 + 6 + 2 * 24
    with_items = {**body, "requirements": "Beginner level; worked examples"}
    checked = (await client.post("/courses/estimate", json=with_items)).json()
    assert checked["calls"] == estimate["calls"] + 1  # one coverage check of the plan
