"""Test the SSE parser the sync and async clients share, and request/response plumbing."""

import httpx
import pytest

from coursegen.client import CourseAPIError, CourseClient, SSEParser
from coursegen.domain import CourseOptions, CourseRequest


def parse(lines: list[str]) -> list[object]:
    parser = SSEParser()
    return [event for line in lines if (event := parser.feed(line)) is not None]


def test_parser_reads_events_skips_comments_and_joins_data_lines() -> None:
    lines = [
        ": ping",
        "id: 1",
        "event: token",
        'data: {"text":',
        'data: "a: b"}',
        "",
        "",  # a stray blank line is no event
        "id:2",
        "event:end",
        'data:{"status":"completed"}',
        "",
    ]
    assert parse(lines) == [
        {"id": 1, "type": "token", "data": {"text": "a: b"}},
        {"id": 2, "type": "end", "data": {"status": "completed"}},
    ]


def test_parser_drops_an_unfinished_event_and_events_without_id() -> None:
    assert parse(["data: {}", "", "id: 3", "event: status", 'data: {"status": "x"}']) == []


def test_headers_body_and_error_detail() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            detail = [{"loc": ["body", "options", "themes"], "msg": "too many", "type": "x"}]
            return httpx.Response(422, json={"detail": detail})
        return httpx.Response(202, json={"id": "j1", "status": "queued", "events_url": "/e"})

    request = CourseRequest(course_name="Go", options=CourseOptions(themes=2))
    with CourseClient(
        "http://test/", api_key="s3cret", transport=httpx.MockTransport(handler)
    ) as c:
        assert c.create(request, idempotency_key="k1")["id"] == "j1"
        with pytest.raises(CourseAPIError) as caught:
            c.get("j1")
    post = seen[0]
    assert post.url == "http://test/courses"
    assert post.headers["authorization"] == "Bearer s3cret"
    assert post.headers["idempotency-key"] == "k1"
    assert httpx.Response(200, content=post.content).json() == {
        "course_name": "Go",
        "description": "",
        "requirements": "",
        "options": {"themes": 2, "review_outline": False, "cover_requirements": True},
    }
    assert caught.value.status == 422
    assert str(caught.value) == "422: options.themes: too many"


def test_no_authorization_header_without_a_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": [], "next_cursor": None})

    with CourseClient("http://test", transport=httpx.MockTransport(handler)) as client:
        assert client.list(limit=5, cursor="abc") == {"items": [], "next_cursor": None}
    assert "authorization" not in seen[0].headers
    assert seen[0].url.params == httpx.QueryParams({"limit": "5", "cursor": "abc"})
