"""With Redis down, jobs can still be stopped and writes are refused clearly (503), and the
service recovers by itself once Redis is back.

The app runs on SQLite with a private redis-server (broker and rate limiter) that the test
stops and starts again on the same port; the machine's shared Redis is never touched.
"""

from collections.abc import Iterator

import httpx
import pytest

from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.server.conftest import create, wait_status
from tests.support.live_app import LiveApp
from tests.support.redis_server import PrivateRedis
from tests.support.scripted_llm import Fault, ScriptedLLM
from tests.support.server_process import wait_until

pytestmark = [pytest.mark.redis, pytest.mark.timeout(90)]


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    with PrivateRedis() as server:
        yield server


async def test_cancel_and_delete_work_and_writes_get_503_while_redis_is_down(
    settings: Settings, scripted_llm: ScriptedLLM, private_redis: PrivateRedis
) -> None:
    # Every topic's content stalls: the jobs stay running until they are stopped.
    scripted_llm.script = lambda call: Fault("stall") if call.schema == "TopicContent" else None
    settings = settings.model_copy(update={"redis_url": private_redis.url, "lease_s": 1.5})
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            running = [await create(client, themes=1, topics=1) for _ in range(2)]
            await wait_until(
                lambda: len(scripted_llm.calls_for("TopicContent")) == 2, 20, "both jobs running"
            )
            stalled = scripted_llm.calls_for("TopicContent")

            private_redis.stop()
            body = {"course_name": "During the outage"}
            refused = await client.post("/courses", json=body)
            assert refused.status_code == 503, refused.text
            assert int(refused.headers["retry-after"]) >= 1
            assert "Redis" in refused.json()["detail"]
            invoked = await client.post("/course/invoke", json={"input": body})
            assert invoked.status_code == 503, invoked.text
            assert int(invoked.headers["retry-after"]) >= 1

            cancelled = await client.post(f"/courses/{running[0]}/cancel")
            assert cancelled.status_code == 200, cancelled.text
            await wait_status(client, running[0], {"cancelled"}, timeout=10)
            deleted = await client.delete(f"/courses/{running[1]}")
            assert deleted.status_code == 204, deleted.text
            assert (await client.get(f"/courses/{running[1]}")).status_code == 404
            # Both jobs' provider streams were closed: nothing more is spent.
            await wait_until(lambda: all(c.ended for c in stalled), 10, "the calls to close")
            assert all(c.disconnected and not c.completed for c in stalled)

            # Redis is back: the first write works (no stale pooled connection answers 500).
            private_redis.start()
            again = await client.post("/courses", json=body)
            assert again.status_code == 202, again.text
            assert (await client.post(f"/courses/{again.json()['id']}/cancel")).status_code == 200
