"""Fan stored events out to live subscribers: in-process, or across replicas through Redis."""

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

from coursegen.server.core.tasks import stop_task
from coursegen.server.jobs.models import Event

log = logging.getLogger(__name__)
ControlHandler = Callable[[dict[str, Any]], Awaitable[None]]
QUEUE_BATCHES = 256  # a subscriber this far behind re-reads from the store instead
OVERFLOW: list[Event] = []  # sentinel batch: "you fell behind, re-read the log"
RECONNECT_S = 1.0  # between the listener's attempts to reach Redis again


class LocalBroker:
    """Deliver event batches to this process's subscribers; never blocks the publisher."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[list[Event]]]] = defaultdict(set)
        self._on_control: ControlHandler | None = None

    async def start(self, on_control: ControlHandler | None = None) -> None:
        """Start delivering: control messages go to `on_control` (this replica's worker)."""
        self._on_control = on_control

    async def close(self) -> None:
        """Nothing to disconnect in-process."""

    @contextlib.asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[asyncio.Queue[list[Event]]]:
        queue: asyncio.Queue[list[Event]] = asyncio.Queue(QUEUE_BATCHES)
        self._subscribers[job_id].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[job_id].discard(queue)
            if not self._subscribers[job_id]:
                del self._subscribers[job_id]

    def subscriber_count(self) -> int:
        return sum(len(queues) for queues in self._subscribers.values())

    def deliver(self, job_id: str, events: list[Event]) -> None:
        for queue in self._subscribers.get(job_id, ()):
            try:
                queue.put_nowait(events)
            except asyncio.QueueFull:  # a slow reader must not slow the job: it resyncs
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(OVERFLOW)

    async def publish(self, job_id: str, events: list[Event]) -> None:
        self.deliver(job_id, events)

    async def control(self, message: dict[str, Any]) -> None:
        """Tell every replica (here: this process) about a cancel or new work."""
        if self._on_control is not None:
            await self._on_control(message)


class RedisBroker(LocalBroker):
    """Relay batches and control messages between replicas over Redis pub/sub."""

    EVENTS = "coursegen:events:"
    CONTROL = "coursegen:control"

    def __init__(self, url: str, replica_id: str) -> None:
        super().__init__()
        import redis.asyncio as redis

        # Bounded waits: a Redis that does not answer must not hold a request for ever.
        self.redis = redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        self.replica_id = replica_id
        self._listener: asyncio.Task[None] | None = None

    async def start(self, on_control: ControlHandler | None = None) -> None:
        await super().start(on_control)
        self._listener = asyncio.create_task(self._listen(await self._subscribe()))

    async def _subscribe(self) -> Any:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.psubscribe(f"{self.EVENTS}*")
            await pubsub.subscribe(self.CONTROL)
        except BaseException:
            await pubsub.aclose()
            raise
        return pubsub

    async def close(self) -> None:
        await stop_task(self._listener)
        await self.redis.aclose()

    async def publish(self, job_id: str, events: list[Event]) -> None:
        self.deliver(job_id, events)
        payload = orjson.dumps(
            {"from": self.replica_id, "events": [e.model_dump() for e in events]}
        )
        await self.redis.publish(f"{self.EVENTS}{job_id}", payload)

    async def control(self, message: dict[str, Any]) -> None:
        # This replica acts at once, Redis or not; the others hear it through Redis (and
        # act twice on their own messages, which cancels and wakes allow).
        await super().control(message)
        await self.redis.publish(self.CONTROL, orjson.dumps(message))

    async def _listen(self, pubsub: Any) -> None:
        """Relay messages for as long as the broker runs, across lost connections.

        What was published while the connection was down is lost: subscribers resync from
        the store, and cancels reach the job through the lease heartbeat.
        """
        while True:
            try:
                async with pubsub:
                    await self._relay(pubsub)
            except Exception as exc:
                log.warning("redis listener lost its connection (%s); reconnecting", exc)
            pubsub = await self._reconnect()

    async def _reconnect(self) -> Any:
        while True:
            await asyncio.sleep(RECONNECT_S)
            try:
                await self.redis.ping()
                pubsub = await self._subscribe()
            except Exception as exc:
                log.debug("redis listener cannot reconnect yet: %s", exc)
                continue
            log.warning("redis listener reconnected; messages sent meanwhile were missed")
            return pubsub

    async def _relay(self, pubsub: Any) -> None:
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is None:
                continue
            try:
                await self._dispatch(message)
            except Exception:  # one bad message must not stop the listener
                log.exception("ignored a malformed message on %r", message.get("channel"))

    async def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message["channel"].decode()
        body = orjson.loads(message["data"])
        if channel == self.CONTROL:
            if not isinstance(body, dict):
                raise ValueError(f"a control message must be a JSON object, not {body!r:.80}")
            if self._on_control is not None:
                await self._on_control(body)
        elif body["from"] != self.replica_id:
            job_id = channel.removeprefix(self.EVENTS)
            self.deliver(job_id, [Event(**e) for e in body["events"]])
