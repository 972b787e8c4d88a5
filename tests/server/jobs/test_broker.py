"""The Redis broker's listener outlives malformed messages and lost connections, and says so.

The broker reaches the shared Redis through a TCP proxy of the test's own (cut and restored
by the test) and listens on channels of its own, so other tests' messages never reach it.
"""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import redis.asyncio as redis

from coursegen.server.jobs import broker as broker_module
from coursegen.server.jobs.broker import RedisBroker
from tests.support.server_process import wait_until
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def direct() -> AsyncIterator[Any]:
    client = redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    yield client
    await client.aclose()


async def test_listener_survives_bad_messages_and_reconnects(
    direct: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker_module, "RECONNECT_S", 0.1)
    caplog.set_level(logging.INFO, logger="coursegen.server.jobs.broker")
    received: list[dict[str, Any]] = []
    with TcpProxy("127.0.0.1", 6379) as proxy:
        broker = RedisBroker(proxy.url(), "test-replica")
        prefix = f"coursegen-test:{uuid.uuid4().hex}:"
        broker.CONTROL, broker.EVENTS = prefix + "control", prefix + "events:"

        async def on_control(message: dict[str, Any]) -> None:
            received.append(message)

        await broker.start(on_control)
        try:
            await _subscribed(direct, broker)
            for bad in (b"not json", b"[1, 2]", b"\xff"):
                await direct.publish(broker.CONTROL, bad)
            await direct.publish(broker.EVENTS + "job1", b'{"events": "no sender"}')
            await direct.publish(broker.CONTROL, orjson.dumps({"kind": "wake", "n": 1}))
            await wait_until(lambda: bool(received), 5, "the good message after the bad ones")
            assert received == [{"kind": "wake", "n": 1}]
            ignored = [r for r in caplog.records if "ignored a malformed message" in r.message]
            assert len(ignored) == 4 and all(r.exc_info for r in ignored)

            proxy.cut()
            await wait_until(lambda: _logged(caplog, "lost its connection"), 10, "the cut")
            await asyncio.sleep(0.3)  # a few failed reconnects while Redis is unreachable
            assert not _logged(caplog, "reconnected")
            proxy.restore()
            await wait_until(lambda: _logged(caplog, "reconnected"), 10, "the reconnect")
            await _subscribed(direct, broker)
            await direct.publish(broker.CONTROL, orjson.dumps({"kind": "wake", "n": 2}))
            await wait_until(lambda: len(received) == 2, 5, "a message after the reconnect")
            assert received[1] == {"kind": "wake", "n": 2}
            assert broker._listener is not None and not broker._listener.done()
        finally:
            await broker.close()


async def _subscribed(direct: Any, broker: RedisBroker) -> None:
    """Wait until Redis has processed the listener's subscriptions (sent, not yet confirmed,
    when `start` returns); the pattern is subscribed first, so the control channel is last."""
    for _ in range(100):
        [(_, count)] = await direct.pubsub_numsub(broker.CONTROL)
        if count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the listener never subscribed to the control channel")


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.message for record in caplog.records)
