"""A real `coursegen serve` killed with SIGKILL between two attempts of a webhook: the
restarted process sends it again (same webhook-id) from the durable outbox, on SQLite and on
PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from tests.support.backends import Backend
from tests.support.scripted_llm import ScriptedLLM
from tests.support.server_process import (
    ServerGroup,
    course_request,
    get_json,
    post_json,
    wait_until,
)
from tests.support.webhook_receiver import TEST_SECRET, WebhookReceiver

pytestmark = [pytest.mark.processes, pytest.mark.timeout(180)]
START_S = 60  # a loaded machine can take this long to import and start a server

SECRET = TEST_SECRET


@pytest.fixture
def servers(tmp_path: Path, backend: Backend) -> Iterator[ServerGroup]:
    """Servers sharing one store on each backend: the SQLite file, or a private PostgreSQL."""
    with ScriptedLLM() as llm:
        group = ServerGroup(
            tmp_path / "logs",
            {
                **backend.environment(),
                "COURSEGEN_MODEL": "openai:scripted",
                "COURSEGEN_BASE_URL": llm.base_url,
                "COURSEGEN_DATA_DIR": str(tmp_path / "data"),
                "COURSEGEN_LLM_MAX_RETRIES": "0",
                "COURSEGEN_WEBHOOK_SECRET": SECRET,
                "COURSEGEN_WEBHOOK_ALLOW_PRIVATE": "true",
                # The retry comes 3-5 s after the first attempt: the kill lands between them.
                "COURSEGEN_WEBHOOK_RETRY_BASE_S": "4",
            },
        )
        try:
            yield group
        finally:
            group.stop_all()
            print(group.report())  # pytest shows it only when the test fails


async def test_sigkill_between_attempts_then_restart_delivers(servers: ServerGroup) -> None:
    with WebhookReceiver(answers=[500]) as receiver:
        first = await servers.new("first").astart(START_S)
        body = {**course_request("Durable hooks", 1, 1), "webhook_url": receiver.url}
        job = (await post_json(first.url, "/courses", body))["id"]

        async def tried() -> bool:
            items = (await get_json(first.url, f"/courses/{job}/webhooks"))["items"]
            return bool(items) and bool(items[0]["attempts"])

        await wait_until(tried, 30, "the first attempt (answered 500) to be recorded")
        [delivery] = (await get_json(first.url, f"/courses/{job}/webhooks"))["items"]
        assert first.kill() == -9
        # Killed before the retry was due: one attempt made, and recorded.
        assert len(receiver.received) == 1, receiver.received
        assert [a["status_code"] for a in delivery["attempts"]] == [500], delivery
        assert delivery["state"] == "pending", delivery

        second = await servers.new("second").astart(START_S)
        await wait_until(lambda: len(receiver.received) == 2, 30, "the retry after the restart")

        async def delivered() -> bool:
            items = (await get_json(second.url, f"/courses/{job}/webhooks"))["items"]
            return items[0]["state"] == "delivered"

        await wait_until(delivered, 10, "the delivery to be recorded as delivered")
        [final] = (await get_json(second.url, f"/courses/{job}/webhooks"))["items"]
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery["id"]] * 2
    assert [(a["attempt"], a["status_code"]) for a in final["attempts"]] == [(1, 500), (2, 200)]
    message = Webhook(SECRET).verify(receiver.received[1].body, receiver.received[1].headers)
    assert message["type"] == "course.completed" and message["data"]["id"] == job
