"""Test the sync client against the real app over HTTP, with the scripted LLM."""

from typing import Any

import pytest

from coursegen.client import (
    CourseAPIError,
    CourseClient,
    CourseConnectionError,
    CourseStreamError,
    Event,
)
from coursegen.domain import Course, CourseOptions, CourseRequest
from tests.client.flaky import FlakyTransport
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import Call, ScriptedLLM


def body(themes: int = 2, topics: int = 2, **options: Any) -> dict[str, Any]:
    return {
        "course_name": "Python basics",
        "description": "A first course",
        "language": "en",
        "options": {"themes": themes, "topics_per_theme": topics, **options},
    }


def ids(events: list[Event]) -> list[int]:
    return [e["id"] for e in events]


def test_create_follow_and_get_a_completed_course(live_app: LiveApp) -> None:
    request = CourseRequest(
        course_name="Python basics",
        language="en",
        options=CourseOptions(themes=2, topics_per_theme=2),
    )
    with CourseClient(live_app.url) as client:
        job = client.create(request, idempotency_key="one")
        assert client.create(request, idempotency_key="one")["id"] == job["id"]
        events = list(client.events(job["id"]))
        snapshot = client.get(job["id"])
        listed = client.list(limit=5)
    assert ids(events) == list(range(1, len(events) + 1))
    assert events[-1] == {"id": len(events), "type": "end", "data": {"status": "completed"}}
    assert sum(e["type"] == "content" for e in events) == 4
    assert snapshot["status"] == "completed" and snapshot["last_event_id"] == len(events)
    course = Course.model_validate(snapshot["course"])
    assert [len(t.topics) for t in course.themes] == [2, 2]
    assert all(topic.content is not None for t in course.themes for topic in t.topics)
    assert [item["id"] for item in listed["items"]] == [job["id"]]


def test_events_resume_after_drops_without_gaps_or_duplicates(
    live_app: LiveApp, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.token_s = 0.003
    # Break the first three streams: inside event 5, right after event 20, and inside the
    # first event of the third connection (no progress: two failures in a row).
    flaky = FlakyTransport(cuts=[(4, 30), (16, 0), (0, 20)])
    retries: list[tuple[int, int]] = []
    with CourseClient(live_app.url, transport=flaky, backoff_s=0.01) as client:
        job = client.create(body())["id"]
        events = list(client.events(job, on_retry=lambda n, last, exc: retries.append((n, last))))
    with CourseClient(live_app.url) as clean:
        replay = list(clean.events(job))
    assert ids(events) == list(range(1, len(events) + 1))
    assert events == replay and events[-1]["type"] == "end"
    # The third stream broke before its first whole event: two failures in a row, then success.
    assert [n for n, _ in retries] == [1, 1, 2]
    resumed_from = [last for _, last in retries]
    assert resumed_from == [4, 20, 20]
    assert flaky.last_event_ids == ["0"] + [str(last) for last in resumed_from]


def test_events_from_an_id_and_of_a_finished_job(live_app: LiveApp) -> None:
    with CourseClient(live_app.url) as client:
        job = client.create(body(themes=1, topics=1))["id"]
        snapshot = client.wait(job)
        last = snapshot["last_event_id"]
        tail = list(client.events(job, after=last - 2))
        # After the very last event the server has nothing to send: the iterator just ends.
        assert list(client.events(job, after=last)) == []
    assert ids(tail) == [last - 1, last] and tail[-1]["type"] == "end"


def test_events_give_up_after_consecutive_failures(live_app: LiveApp) -> None:
    flaky = FlakyTransport(cuts=[(3, 10)], refuse=100)
    retries: list[int] = []
    with CourseClient(live_app.url, transport=flaky, retries=3, backoff_s=0.01) as client:
        job = client.create(body(themes=1, topics=1))["id"]
        seen: list[Event] = []
        with pytest.raises(CourseStreamError, match="failed 4 times in a row"):
            for event in client.events(job, on_retry=lambda n, last, exc: retries.append(n)):
                seen.append(event)
    assert retries == [1, 2, 3]
    assert ids(seen) == [1, 2, 3]
    # The first stream broke, then three resumes were refused: four failures, three retries.
    assert flaky.last_event_ids == ["0", "3", "3", "3"]


def test_review_then_regenerate(live_app: LiveApp, scripted_llm: ScriptedLLM) -> None:
    edited = {
        "themes": [
            {"title": "Intro", "description": "Start"},
            {"title": "Loops", "description": "for"},
        ]
    }
    with CourseClient(live_app.url) as client:
        job = client.create(body(themes=3, topics=1, review_outline=True))["id"]
        paused = client.wait(job)
        assert paused["status"] == "awaiting_review"
        assert [t["title"] for t in paused["course"]["themes"]] == ["Theme 1", "Theme 2", "Theme 3"]
        assert client.review(job, outline=edited)["status"] == "queued"
        done = client.wait(job)
        assert done["status"] == "completed"
        assert [t["title"] for t in done["course"]["themes"]] == ["Intro", "Loops"]
        with pytest.raises(CourseAPIError) as conflict:
            client.review(job)
        assert conflict.value.status == 409 and "not awaiting_review" in str(conflict.value)

        def rewrite(call: Call) -> dict[str, Any] | None:
            if call.schema != "TopicContent":
                return None
            qa = [{"question": f"q{i}", "answer": "a"} for i in range(3)]
            return {
                "body_markdown": "REWRITTEN",
                "key_points": ["k"],
                "examples": [],
                "self_check": qa,
            }

        scripted_llm.script = rewrite
        before = done["last_event_id"]
        assert (
            client.regenerate(job, theme=1, topic=0, instructions="simpler")["status"] == "queued"
        )
        again = client.wait(job)
        new = list(client.events(job, after=before))
    assert again["status"] == "completed"
    assert again["course"]["themes"][1]["topics"][0]["content"]["body_markdown"] == "REWRITTEN"
    assert again["course"]["themes"][0] == done["course"]["themes"][0]
    assert new[0]["id"] == before + 1 and new[-1] == {
        "id": again["last_event_id"],
        "type": "end",
        "data": {"status": "completed"},
    }
    assert (
        "Revision request: simpler"
        in scripted_llm.calls_for("TopicContent")[-1].data["requirements"]
    )


def test_cancel_and_delete(live_app: LiveApp, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.token_s = 0.05
    with CourseClient(live_app.url) as client:
        job = client.create(body(themes=2, topics=3))["id"]
        for event in client.events(job):
            if event["type"] == "token":
                break
        assert client.cancel(job)["id"] == job
        snapshot = client.wait(job)
        assert snapshot["status"] == "cancelled"
        assert client.cancel(job)["status"] == "cancelled"  # idempotent
        client.delete(job)
        with pytest.raises(CourseAPIError) as gone:
            client.get(job)
    assert gone.value.status == 404


def test_errors_map_to_course_api_error(live_app: LiveApp) -> None:
    with CourseClient(live_app.url, retries=5, backoff_s=0.01) as client:
        with pytest.raises(CourseAPIError) as missing:
            client.get("nope")
        with pytest.raises(CourseAPIError) as no_stream:
            list(client.events("nope"))  # a 404 is final: no resuming
        with pytest.raises(CourseAPIError) as invalid:
            client.create({"course_name": "", "colour": "red"})
    assert missing.value.status == 404 and missing.value.detail == "no course job nope"
    assert no_stream.value.status == 404
    assert invalid.value.status == 422
    assert "course_name" in str(invalid.value) and "colour" in str(invalid.value)


def test_unreachable_server_is_a_connection_error() -> None:
    with (
        CourseClient("http://127.0.0.1:9", timeout=2) as client,
        pytest.raises(CourseConnectionError, match=r"cannot reach http://127\.0\.0\.1:9"),
    ):
        client.get("x")


@pytest.mark.parametrize("fmt", ["md", "html", "scorm", "imscc"])
def test_export(live_app: LiveApp, fmt: str) -> None:
    with CourseClient(live_app.url) as client:
        job = client.create(body(themes=1, topics=1))["id"]
        assert client.wait(job)["status"] == "completed"
        try:
            data = client.export(job, fmt)  # type: ignore[arg-type]
        except CourseAPIError as exc:
            if exc.status == 404 and exc.detail == "Not Found":
                pytest.skip("the server has no /courses/{id}/export route yet")
            raise
    assert data
    if fmt in ("scorm", "imscc"):
        assert data[:2] == b"PK"  # a zip package
    else:
        assert "Theme 1" in data.decode()


def test_export_of_an_unknown_job_is_404(live_app: LiveApp) -> None:
    with CourseClient(live_app.url) as client, pytest.raises(CourseAPIError) as caught:
        client.export("nope", "md")
    assert caught.value.status == 404
