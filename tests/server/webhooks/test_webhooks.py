"""Webhooks over real HTTP: a loopback receiver gets signed course.* messages, retried with
the same webhook-id; private targets are refused unless allowed; deliveries can be listed and
resent."""

import asyncio
import ipaddress
import itertools
import re
import socket
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from coursegen.server.app import create_app
from coursegen.server.webhooks import targets
from coursegen.settings import Settings
from tests.support.jobs import wait_status
from tests.support.keys import make_webhook_key
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import Fault, ScriptedLLM
from tests.support.server_process import wait_until
from tests.support.webhook_receiver import TEST_SECRET, WebhookReceiver

SECRET = TEST_SECRET
OTHER_SECRET = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"
COURSE = {"course_name": "Python basics", "description": "A first course"}


@pytest.fixture
def settings(tmp_path: Path, scripted_llm: ScriptedLLM) -> Settings:
    return Settings(
        base_url=scripted_llm.base_url,
        model="openai:scripted",
        data_dir=tmp_path,
        llm_max_retries=0,
        webhook_secret=SECRET,
        webhook_allow_private=True,  # the receiver is on loopback
        webhook_retry_base_s=0.3,
        public_url="https://courses.example.org",
    )


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


async def start(
    client: httpx.AsyncClient, url: str | None, review: bool = False, **headers: str
) -> str:
    body: dict[str, Any] = {
        **COURSE,
        "options": {"themes": 1, "topics_per_theme": 1, "review_outline": review},
    }
    if url is not None:
        body["webhook_url"] = url
    response = await client.post("/courses", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def deliveries(client: httpx.AsyncClient, job: str, **headers: str) -> list[dict[str, Any]]:
    response = await client.get(f"/courses/{job}/webhooks", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def wait_delivered(
    client: httpx.AsyncClient, job: str, count: int = 1, timeout: float = 20, **headers: str
) -> list[dict[str, Any]]:
    """Poll the job's deliveries until `count` exist and none is pending."""
    deadline = time.monotonic() + timeout
    while True:
        items = await deliveries(client, job, **headers)
        if len(items) >= count and all(i["state"] != "pending" for i in items):
            return items
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries of {job} still pending: {items}")
        await asyncio.sleep(0.05)


async def wait_attempted(client: httpx.AsyncClient, job: str) -> dict[str, Any]:
    """Poll the job's one delivery until its first attempt is recorded; return it."""

    async def tried() -> bool:
        items = await deliveries(client, job)
        return bool(items) and bool(items[0]["attempts"])

    await wait_until(tried, 20, "the first attempt")
    [delivery] = await deliveries(client, job)
    return delivery


def verified(request: Any, secret: str = SECRET) -> dict[str, Any]:
    """The body, once the library's own verifier accepts its signature."""
    return dict(Webhook(secret).verify(request.body, request.headers))


async def test_a_completed_course_delivers_one_signed_course_completed(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    job = await start(client, receiver.url)
    snapshot = await wait_status(client, job, {"completed"})
    [delivery] = await wait_delivered(client, job)

    assert len(receiver.received) == 1
    request = receiver.received[0]
    body = verified(request)
    assert request.path == "/hooks"
    assert request.headers["webhook-id"] == delivery["id"]
    assert request.headers["content-type"] == "application/json"
    assert body["type"] == "course.completed"
    assert body["timestamp"].endswith("Z")
    data = body["data"]
    assert set(data) == {"id", "status", "stage", "progress", "usage", "error", "links"}
    assert data["id"] == job and data["status"] == "completed" and data["error"] is None
    assert data["stage"] == snapshot["stage"] and data["progress"] == snapshot["progress"]
    assert data["usage"] == snapshot["usage"]
    assert data["links"]["self"] == f"https://courses.example.org/courses/{job}"
    assert "themes" not in request.body  # no course text: the receiver fetches it
    # Tampering with the body or using another secret fails the library's verification.
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request.body.replace("completed", "failed"), request.headers)
    with pytest.raises(WebhookVerificationError):
        verified(request, OTHER_SECRET)

    assert delivery["type"] == "course.completed" and delivery["state"] == "delivered"
    assert [(a["attempt"], a["status_code"]) for a in delivery["attempts"]] == [(1, 200)]
    assert delivery["next_attempt_at"] is None and delivery["delivered_at"] is not None
    metrics = (await client.get("/metrics/")).text
    assert 'coursegen_webhooks_sent_total{type="course.completed"}' in metrics


async def test_a_receiver_answering_500_gets_the_same_webhook_id_again(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    receiver.answers = [500, 302]
    job = await start(client, receiver.url)
    [delivery] = await wait_delivered(client, job)

    assert len(receiver.received) == 3
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {delivery["id"]}
    assert len({r.body for r in receiver.received}) == 1  # the same message each time
    for request in receiver.received:
        assert verified(request)["type"] == "course.completed"
    assert delivery["state"] == "delivered" and delivery["last_status_code"] == 200
    attempts = delivery["attempts"]
    assert [(a["attempt"], a["status_code"]) for a in attempts] == [(1, 500), (2, 302), (3, 200)]
    assert [a["error"] for a in attempts] == ["HTTP 500", "HTTP 302", None]
    assert {r.path for r in receiver.received} == {"/hooks"}  # the redirect was not followed
    # Backed off: the second wait is longer than the first (base 0.3 s, ×3, jitter ±25 %).
    gaps = [b.at - a.at for a, b in zip(receiver.received, receiver.received[1:], strict=False)]
    assert gaps[0] >= 0.3 * 0.75 and gaps[1] >= 0.9 * 0.75


async def test_a_receiver_that_keeps_failing_is_given_up_after_the_window(
    settings: Settings, receiver: WebhookReceiver
) -> None:
    receiver.default = 500
    short = settings.model_copy(update={"webhook_retry_window_s": 1.5})
    with LiveApp(create_app(short)) as app:
        async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
            job = await start(client, receiver.url)
            [delivery] = await wait_delivered(client, job)

            async def nothing_pending() -> bool:
                return "coursegen_webhooks_pending 0.0" in (await client.get("/metrics/")).text

            await wait_until(nothing_pending, 5, "the pending gauge to drop to 0")
            metrics = (await client.get("/metrics/")).text
    assert delivery["state"] == "failed" and delivery["last_status_code"] == 500
    # Every attempt that fitted in the window was made (and recorded), then none.
    assert len(delivery["attempts"]) == len(receiver.received) >= 1
    assert {r.headers["webhook-id"] for r in receiver.received} == {delivery["id"]}
    assert 'coursegen_webhooks_failed_total{type="course.completed"}' in metrics


async def test_review_and_cancel_each_deliver_their_event(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    job = await start(client, receiver.url, review=True)
    await wait_status(client, job, {"awaiting_review"})
    await wait_delivered(client, job)
    assert (await client.post(f"/courses/{job}/cancel")).status_code == 200
    await wait_status(client, job, {"cancelled"})
    items = await wait_delivered(client, job, count=2)
    assert [i["type"] for i in items] == ["course.awaiting_review", "course.cancelled"]
    bodies = [verified(r) for r in receiver.received]
    assert [(b["type"], b["data"]["status"]) for b in bodies] == [
        ("course.awaiting_review", "awaiting_review"),
        ("course.cancelled", "cancelled"),
    ]


async def test_a_failed_course_delivers_course_failed_with_its_error(
    client: httpx.AsyncClient, receiver: WebhookReceiver, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.script = lambda call: Fault("http", status=401)
    job = await start(client, receiver.url)
    await wait_status(client, job, {"failed"})
    await wait_delivered(client, job)
    [request] = receiver.received
    body = verified(request)
    assert body["type"] == "course.failed"
    assert body["data"]["error"]["code"] == "provider_auth"


async def test_a_job_without_a_webhook_sends_nothing(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    job = await start(client, None)
    await wait_status(client, job, {"completed"})
    assert await deliveries(client, job) == []
    assert receiver.received == []


async def test_retry_resends_with_the_same_webhook_id(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    job = await start(client, receiver.url)
    [delivery] = await wait_delivered(client, job)
    response = await client.post(f"/courses/{job}/webhooks/{delivery['id']}/retry")
    assert response.status_code == 202, response.text
    assert response.json()["state"] == "pending"
    await wait_until(lambda: len(receiver.received) == 2, 10, "the resent webhook")
    [again] = await wait_delivered(client, job)
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery["id"]] * 2
    assert [a["attempt"] for a in again["attempts"]] == [1, 2]
    missing = await client.post(f"/courses/{job}/webhooks/msg_nope/retry")
    assert missing.status_code == 404
    assert (await client.get("/courses/nope/webhooks")).status_code == 404


PRIVATE = [
    "http://127.0.0.1:9/hooks",
    "https://127.0.0.1/hooks",
    "https://10.1.2.3/hooks",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://[64:ff9b::a00:1]/hooks",  # NAT64 of 10.0.0.1
    "https://localhost/hooks",
]


async def test_a_private_target_without_the_flag_is_a_clear_422(settings: Settings) -> None:
    closed = settings.model_copy(update={"webhook_allow_private": False})
    with LiveApp(create_app(closed)) as app:
        async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
            for url in PRIVATE:
                response = await client.post("/courses", json={**COURSE, "webhook_url": url})
                assert response.status_code == 422, (url, response.text)
                [error] = response.json()["detail"]
                assert error["loc"] == ["body", "webhook_url"]
                assert "private, loopback or link-local" in error["msg"], url
                assert "COURSEGEN_WEBHOOK_ALLOW_PRIVATE=true" in error["msg"]
            assert (await client.get("/courses")).json()["items"] == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://93.184.215.14/hooks", "must be https://"),
        ("ftp://93.184.215.14/hooks", "absolute https:// URL"),
        ("https://user:pw@93.184.215.14/hooks", "user name or password"),
        ("/relative", "absolute https:// URL"),
    ],
)
async def test_bad_webhook_urls_are_refused(
    client: httpx.AsyncClient, url: str, message: str
) -> None:
    response = await client.post("/courses", json={**COURSE, "webhook_url": url})
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"][0]["msg"]


async def test_no_signing_secret_is_a_clear_422(settings: Settings) -> None:
    unsigned = settings.model_copy(update={"webhook_secret": None})
    with LiveApp(create_app(unsigned)) as app:
        async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
            response = await client.post(
                "/courses", json={**COURSE, "webhook_url": "https://93.184.215.14/h"}
            )
    assert response.status_code == 422
    assert "COURSEGEN_WEBHOOK_SECRET" in response.json()["detail"][0]["msg"]


async def test_a_key_default_url_and_its_own_secret(
    settings: Settings, receiver: WebhookReceiver
) -> None:
    key, signing = await asyncio.to_thread(make_webhook_key, settings, "alice", receiver.url)
    other = await asyncio.to_thread(make_webhook_key, settings, "bob", None)
    bearer = f"Bearer {key}"
    with LiveApp(create_app(settings)) as app:
        async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
            job = await start(client, None, Authorization=bearer)
            [delivery] = await wait_delivered(client, job, Authorization=bearer)
            hidden = await client.get(
                f"/courses/{job}/webhooks", headers={"Authorization": f"Bearer {other[0]}"}
            )
    assert hidden.status_code == 404  # another owner's deliveries are not there
    [request] = receiver.received
    assert request.headers["webhook-id"] == delivery["id"]
    assert verified(request, signing)["data"]["id"] == job
    with pytest.raises(WebhookVerificationError):
        verified(request, SECRET)  # the key's own secret signs, not the service's


async def test_a_name_that_rebinds_to_loopback_is_refused_at_delivery(
    settings: Settings, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked when the job is made (a public address) and again before the attempt: the
    name now resolving to 127.0.0.1 is refused, and nothing reaches the receiver there."""
    answers = iter([[ipaddress.ip_address("93.184.215.14")]])

    async def rebinding(host: str, port: int) -> list[Any]:
        return next(answers, [ipaddress.ip_address("127.0.0.1")])

    monkeypatch.setattr(targets, "addresses", rebinding)
    closed = settings.model_copy(update={"webhook_allow_private": False})
    port = receiver.url.split(":")[2].split("/")[0]
    with LiveApp(create_app(closed)) as app:
        async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
            job = await start(client, f"https://rebind.example.test:{port}/hooks")
            delivery = await wait_attempted(client, job)
    [attempt, *_] = delivery["attempts"]
    assert attempt["status_code"] is None
    assert "private, loopback or link-local" in attempt["error"] and "127.0.0.1" in attempt["error"]
    assert delivery["state"] == "pending"  # retried: the name may point back out later
    assert receiver.received == []


async def test_an_attempt_without_an_answer_in_time_is_retried(
    settings: Settings, receiver: WebhookReceiver
) -> None:
    hang = threading.Event()
    answer, calls = receiver._answer, itertools.count()

    def slow_once(request: Any) -> int:
        if next(calls) == 0:
            hang.wait(5)  # longer than the attempt's timeout
        return answer(request)

    receiver._answer = slow_once  # type: ignore[method-assign]
    quick = settings.model_copy(update={"webhook_timeout_s": 0.5})
    with LiveApp(create_app(quick)) as app:
        async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
            job = await start(client, receiver.url)
            [delivery] = await wait_delivered(client, job)
    hang.set()
    first, second = delivery["attempts"]
    assert (first["status_code"], first["error"]) == (None, "no answer within 0.5 s")
    assert second["status_code"] == 200 and delivery["state"] == "delivered"
    assert {r.headers["webhook-id"] for r in receiver.received} == {delivery["id"]}


async def test_a_refused_connection_is_retried(client: httpx.AsyncClient) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    job = await start(client, f"http://127.0.0.1:{port}/hooks")
    delivery = await wait_attempted(client, job)
    assert delivery["attempts"][0]["error"].startswith("ConnectError")
    assert delivery["state"] == "pending" and delivery["next_attempt_at"] is not None


def docs_receiver(monkeypatch: pytest.MonkeyPatch, secret: str) -> Any:
    """The FastAPI app of docs/webhooks.md's Python example, as written there."""
    [code] = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S)
    monkeypatch.setenv("COURSEGEN_WEBHOOK_SECRET", secret)
    module = types.ModuleType("docs_receiver")
    exec(compile(code, str(DOCS), "exec"), module.__dict__)
    return module.app


@pytest.mark.parametrize(("secret", "code"), [(SECRET, 200), (OTHER_SECRET, 400)])
async def test_the_docs_receiver_example_verifies_a_delivery(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, secret: str, code: int
) -> None:
    once = settings.model_copy(update={"webhook_retry_window_s": 0.1})  # one attempt only
    with LiveApp(docs_receiver(monkeypatch, secret)) as hooks, LiveApp(create_app(once)) as app:
        async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
            job = await start(client, f"{hooks.url}/coursegen")
            [delivery] = await wait_delivered(client, job)
    assert [a["status_code"] for a in delivery["attempts"]] == [code]
    assert delivery["state"] == ("delivered" if code == 200 else "failed")
