"""Cross-site requests and DNS rebinding: what a hostile page can make a browser send is refused."""

import httpx
import pytest

from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import ScriptedLLM

EVIL = "https://evil.example"
COURSE = {"course_name": "Cross-site", "options": {"themes": 1, "topics_per_theme": 1}}
INVOKE = (
    b'{"input": {"course_name": "Cross-site", "options": {"themes": 1, "topics_per_theme": 1}}}'
)


async def test_a_simple_cross_site_request_runs_nothing(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    """A page anywhere can POST text/plain without a preflight; it must not run a course."""
    plain = {"Content-Type": "text/plain", "Origin": EVIL}
    refused = await client.post("/course/invoke", content=INVOKE, headers=plain)
    assert refused.status_code == 403 and EVIL in refused.json()["detail"]
    same_site_text = await client.post(
        "/course/invoke", content=INVOKE, headers={"Content-Type": "text/plain"}
    )
    assert same_site_text.status_code == 415
    assert "application/json" in same_site_text.json()["detail"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (
        await client.post("/courses", content=b"course_name=x", headers=form)
    ).status_code == 415
    assert (await client.post("/courses", content=b"{}", headers={})).status_code == 415
    assert scripted_llm.calls == []
    assert (await client.get("/courses")).json()["items"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/courses"), ("POST", "/courses/x/cancel"), ("DELETE", "/courses/x")],
)
async def test_state_changing_requests_from_a_foreign_origin_are_refused(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    answer = await client.request(method, path, json=COURSE, headers={"Origin": EVIL})
    assert answer.status_code == 403, answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"


async def test_own_origin_and_plain_clients_are_served(
    client: httpx.AsyncClient, live_app: LiveApp
) -> None:
    own = await client.post("/courses/estimate", json=COURSE, headers={"Origin": live_app.url})
    assert own.status_code == 200, own.text
    assert (await client.post("/courses/estimate", json=COURSE)).status_code == 200
    charset = {"Content-Type": "application/json; charset=utf-8"}
    body = b'{"course_name": "Cross-site"}'
    assert (
        await client.post("/courses/estimate", content=body, headers=charset)
    ).status_code == 200
    # Reads are not state-changing: CORS keeps their answers from a foreign page.
    assert (await client.get("/courses", headers={"Origin": EVIL})).status_code == 200


async def test_listed_cors_origins_may_write(settings: Settings) -> None:
    lms = "https://lms.example"
    with LiveApp(create_app(settings.model_copy(update={"cors_origins": [lms]}))) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            answer = await client.post("/courses/estimate", json=COURSE, headers={"Origin": lms})
            assert answer.status_code == 200
            assert answer.headers["access-control-allow-origin"] == lms
            evil = await client.post("/courses/estimate", json=COURSE, headers={"Origin": EVIL})
            assert evil.status_code == 403


async def test_unknown_host_names_are_refused(settings: Settings) -> None:
    """DNS rebinding: a page on rebind.example resolves its name to 127.0.0.1."""
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            for host in ("rebind.example", f"rebind.example:{live.port}"):
                answer = await client.post("/courses", json=COURSE, headers={"Host": host})
                assert answer.status_code == 400, host
                assert answer.headers["x-content-type-options"] == "nosniff"
            for host in ("localhost", f"127.0.0.1:{live.port}"):
                answer = await client.get("/healthz", headers={"Host": host})
                assert answer.status_code == 200, host
    listed = settings.model_copy(update={"allowed_hosts": ["courses.example"]})
    with LiveApp(create_app(listed)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            ok = await client.get("/healthz", headers={"Host": "courses.example"})
            loopback = await client.get("/healthz")
            assert (ok.status_code, loopback.status_code) == (200, 400)


@pytest.mark.parametrize(
    "body",
    [
        b'{"course_name": "x", "options": {"themes": NaN}}',
        b'{"course_name": "x", "options": {"themes": Infinity}}',
        b'{"course_name": "x", "options": {"themes": 1e400}}',
        b'{"course_name": "x\\ud800"}',
    ],
)
@pytest.mark.parametrize("path", ["/courses", "/courses/estimate", "/course/invoke"])
async def test_json_that_python_takes_but_cannot_answer_is_refused(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM, body: bytes, path: str
) -> None:
    if path.startswith("/course/"):
        body = b'{"input": ' + body + b"}"
    answer = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["type"] == "json_invalid"
    assert scripted_llm.calls == []


async def test_langserve_inputs_langserve_would_fail_on_are_refused(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    not_a_list = await client.post("/course/batch", json={"inputs": {"course_name": "x"}})
    assert not_a_list.status_code == 422 and "list" in not_a_list.text
    review = {**COURSE, "options": {"themes": 1, "review_outline": True}}
    for path, body in (
        ("/course/invoke", {"input": review}),
        ("/course/stream", {"input": review}),
        ("/course/batch", {"inputs": [COURSE, review]}),
    ):
        answer = await client.post(path, json=body)
        assert answer.status_code == 422, (path, answer.text)
        assert "POST /courses" in answer.text
    assert scripted_llm.calls == []


async def test_only_the_upload_route_takes_a_form_and_not_from_a_foreign_origin(
    client: httpx.AsyncClient, live_app: LiveApp
) -> None:
    """A multipart upload is what a hostile page's form can send: the Origin check holds."""
    upload = {"file": ("notes.txt", b"Rivers carry water to the sea.", "text/plain")}
    refused = await client.post("/sources", files=upload, headers={"Origin": EVIL})
    assert refused.status_code == 403, refused.text
    assert (await client.get("/sources")).json()["items"] == []
    own = await client.post("/sources", files=upload, headers={"Origin": live_app.url})
    assert own.status_code == 201, own.text
    as_json = await client.post("/sources", json={"file": "notes.txt"})
    assert as_json.status_code == 415 and "multipart/form-data" in as_json.json()["detail"]
    form_course = await client.post("/courses", files=upload)
    assert form_course.status_code == 415 and "application/json" in form_course.json()["detail"]
