"""Workers of one `serve` relay event batches and control messages to each other over sockets.

Three brokers in one event loop stand for three worker processes (the real processes are in
test_workers.py): what one publishes reaches the others' subscribers once, a control message
reaches every worker, a dead worker's socket is skipped, and a worker that stops is forgotten.
"""

import asyncio
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from coursegen.server.jobs.models import Event
from coursegen.server.jobs.peer_broker import PeerBroker
from tests.support.server_process import wait_until

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def peer_dir() -> Iterator[Path]:
    # Not tmp_path: a Unix socket's path must stay under ~100 bytes.
    with tempfile.TemporaryDirectory(prefix="cg-peers-") as directory:
        yield Path(directory)


class Worker:
    """One broker and the control messages it acted on."""

    def __init__(self, peer_dir: Path, name: str) -> None:
        self.broker = PeerBroker(peer_dir, name)
        self.controls: list[dict[str, Any]] = []

    async def start(self) -> None:
        await self.broker.start(self._on_control)

    async def _on_control(self, message: dict[str, Any]) -> None:
        self.controls.append(message)


@pytest.fixture
async def workers(peer_dir: Path) -> AsyncIterator[list[Worker]]:
    started = []
    for name in ("a", "b", "c"):
        worker = Worker(peer_dir, name)
        await worker.start()
        started.append(worker)
    yield started
    for worker in started:
        await worker.broker.close()


def events(first: int, n: int) -> list[Event]:
    return [Event(id=i, type="token", data=f'{{"text": "t{i}"}}') for i in range(first, first + n)]


async def test_batches_and_controls_reach_every_other_worker_once(workers: list[Worker]) -> None:
    a, b, c = workers
    # The later workers connected to the earlier ones: everyone knows everyone at once.
    assert [w.broker.peer_names() for w in workers] == [["b", "c"], ["a", "c"], ["a", "b"]]
    async with b.broker.subscribe("job1") as on_b, c.broker.subscribe("job1") as on_c:
        await a.broker.publish("job1", events(1, 3))
        await a.broker.publish("job2", events(1, 1))  # nobody follows job2: not decoded
        await a.broker.publish("job1", events(4, 2))
        for queue in (on_b, on_c):
            got = [await asyncio.wait_for(queue.get(), 5) for _ in range(2)]
            assert got == [events(1, 3), events(4, 2)]
            assert queue.empty()

    await c.broker.control({"kind": "cancel", "job_id": "job1"})
    await wait_until(lambda: all(w.controls for w in workers), 5, "the cancel everywhere")
    await asyncio.sleep(0.1)  # room for a duplicate to arrive, if one were sent
    assert [w.controls for w in workers] == [[{"kind": "cancel", "job_id": "job1"}]] * 3


async def test_a_stopped_worker_is_forgotten_and_a_dead_ones_socket_skipped(
    workers: list[Worker], peer_dir: Path
) -> None:
    a, b, c = workers
    await c.broker.close()
    await wait_until(lambda: "c" not in a.broker.peer_names(), 5, "a to forget c")
    await a.broker.publish("job1", events(1, 1))  # nobody to send to: no error

    # A worker killed without closing leaves its socket file behind, listened on by nobody.
    dead = peer_dir / "dead.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(dead))
    late = Worker(peer_dir, "late")
    await late.start()
    try:
        assert late.broker.peer_names() == ["a", "b"]
        assert not dead.exists()
        async with late.broker.subscribe("job1") as queue:
            await b.broker.publish("job1", events(7, 1))
            assert await asyncio.wait_for(queue.get(), 5) == events(7, 1)
    finally:
        await late.broker.close()


async def test_workers_starting_together_find_each_other_and_send_once(peer_dir: Path) -> None:
    together = [Worker(peer_dir, name) for name in ("x", "y", "z")]
    await asyncio.gather(*(w.start() for w in together))
    try:
        await wait_until(
            lambda: all(len(w.broker.peer_names()) == 2 for w in together), 5, "a full mesh"
        )
        x, y, z = together
        async with y.broker.subscribe("job") as on_y, z.broker.subscribe("job") as on_z:
            await x.broker.publish("job", events(1, 1))
            await x.broker.publish("job", events(2, 1))
            for queue in (on_y, on_z):
                got = [await asyncio.wait_for(queue.get(), 5) for _ in range(2)]
                assert got == [events(1, 1), events(2, 1)]
            await asyncio.sleep(0.1)  # room for a duplicate over a second connection
            assert on_y.empty() and on_z.empty()
    finally:
        for worker in together:
            await worker.broker.close()


async def test_batches_go_only_to_workers_that_follow_the_job(
    workers: list[Worker], peer_dir: Path
) -> None:
    a, b, _ = workers
    sent = []
    original = a.broker._peers["c"].send

    def recording(data: bytes) -> None:
        sent.append(data)
        original(data)

    a.broker._peers["c"].send = recording  # type: ignore[method-assign]
    async with b.broker.subscribe("job1") as on_b:
        # Once subscribe() returns, the others have confirmed: the next batch reaches b.
        await a.broker.publish("job1", events(1, 1))
        assert await asyncio.wait_for(on_b.get(), 5) == events(1, 1)
        assert not sent  # c follows nothing: a sent it nothing

        # A worker that starts now learns in the hello what b follows.
        late = Worker(peer_dir, "late")
        await late.start()
        try:
            await late.broker.publish("job1", events(2, 1))
            assert await asyncio.wait_for(on_b.get(), 5) == events(2, 1)
        finally:
            await late.broker.close()
    await wait_until(lambda: not a.broker._peers["b"].following, 5, "b to unfollow job1")
