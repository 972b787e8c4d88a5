"""Relay event batches and control messages between the worker processes of one host."""

import asyncio
import contextlib
import itertools
import logging
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson

from coursegen.server.jobs.broker import ControlHandler, LocalBroker
from coursegen.server.jobs.models import Event

log = logging.getLogger(__name__)
# A frame: body length, kind, key length, the key (a job id, or empty), the body.
HEADER = struct.Struct("!IBH")
EVENTS, CONTROL, HELLO, FOLLOW, UNFOLLOW, ACK = range(6)
HELLO_TIMEOUT_S = 5.0
# How long a new follower waits for the others to confirm they will send it the job's
# batches; past it (a stuck worker) the follower goes on and heals gaps from the store.
ACK_TIMEOUT_S = 1.0
# A peer this far behind on reading gets no more frames until it catches up: its
# subscribers see the gap and re-read the store, as after Redis's lost messages.
MAX_BUFFER_BYTES = 16 * 1024 * 1024


def frame(kind: int, key: str, body: bytes = b"") -> bytes:
    """One message on the wire."""
    encoded = key.encode()
    return HEADER.pack(len(body), kind, len(encoded)) + encoded + body


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, str, bytes]:
    """The next message: (kind, key, body); IncompleteReadError when the peer has gone."""
    size, kind, key_size = HEADER.unpack(await reader.readexactly(HEADER.size))
    rest = await reader.readexactly(key_size + size)
    return kind, rest[:key_size].decode(), rest[key_size:]


def _prepare(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)


def _sockets(directory: Path) -> list[Path]:
    """The sockets of the workers there now (a few entries: no need to leave the loop)."""
    return sorted(directory.glob("*.sock"))


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


class _Peer:
    """One other worker process: the connection frames go out on, and the jobs it follows."""

    def __init__(self, name: str, writer: asyncio.StreamWriter, following: set[str]) -> None:
        self.name, self.writer, self.following = name, writer, following
        self.pending: dict[int, asyncio.Future[None]] = {}  # FOLLOWs it has not confirmed
        self.lagging = False

    def send(self, data: bytes) -> None:
        if self.writer.is_closing():
            return
        if self.writer.transport.get_write_buffer_size() > MAX_BUFFER_BYTES:
            if not self.lagging:
                log.warning("worker %s reads too slowly; dropping its live events", self.name)
            self.lagging = True
            return
        self.lagging = False
        self.writer.write(data)  # never awaited: a slow peer must not slow the job

    def gone(self) -> None:
        for future in self.pending.values():
            if not future.done():
                future.set_result(None)
        self.pending.clear()


class PeerBroker(LocalBroker):
    """Relay to the other workers of `coursegen serve --workers N` over Unix sockets.

    Each worker listens on `<directory>/<name>.sock` and, when it starts, connects to every
    socket already there; the workers that started earlier accept. One connection per pair
    carries frames both ways. A worker tells the others which jobs it has subscribers for
    (in its hello, then as they come and go), and a job's batches go only to those workers:
    one that follows nothing of a job pays nothing for it. A job's first subscriber waits
    until every other worker has confirmed, so that no batch published after its replay of
    the store can pass it by.
    """

    def __init__(self, directory: Path, name: str) -> None:
        super().__init__()
        self.directory, self.name = directory, name
        self.path = directory / f"{name}.sock"
        self._peers: dict[str, _Peer] = {}
        self._readers: set[asyncio.Task[None]] = set()
        self._confirmed: dict[str, asyncio.Future[None]] = {}  # per followed job
        self._seq = itertools.count(1)
        self._server: asyncio.Server | None = None

    def peer_names(self) -> list[str]:
        return sorted(self._peers)

    def _hello(self) -> bytes:
        body = {"name": self.name, "following": sorted(self._subscribers)}
        return frame(HELLO, "", orjson.dumps(body))

    async def start(self, on_control: ControlHandler | None = None) -> None:
        await super().start(on_control)
        _prepare(self.directory)
        # Listening before looking: of two workers starting together, at least the second
        # to look finds the other (both may: then they share two connections).
        self._server = await asyncio.start_unix_server(self._accepted, path=self.path)
        for path in _sockets(self.directory):
            if path != self.path:
                await self._connect(path)

    async def _connect(self, path: Path) -> None:
        try:
            reader, writer = await asyncio.open_unix_connection(path)
        except (ConnectionRefusedError, FileNotFoundError):
            # Nobody listens: a worker that was killed. Names are never reused, so the
            # file is nobody else's.
            _remove(path)
            return
        try:
            writer.write(self._hello())
            hello = await asyncio.wait_for(read_frame(reader), HELLO_TIMEOUT_S)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            log.warning("worker socket %s did not answer (%s); skipped", path.name, exc)
            writer.close()
            return
        self._add(hello, reader, writer)

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            hello = await asyncio.wait_for(read_frame(reader), HELLO_TIMEOUT_S)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            writer.close()
            return
        # Registered before the answer: once the newcomer has it, it hears every publish.
        self._add(hello, reader, writer)
        writer.write(self._hello())

    def _add(
        self,
        hello: tuple[int, str, bytes],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        kind, _, body = hello
        if kind != HELLO:
            writer.close()
            return
        about = orjson.loads(body)
        # Two workers starting together may connect to each other twice: both connections
        # are read, but frames go out on the first only, so nothing arrives twice.
        peer = self._peers.setdefault(about["name"], _Peer(about["name"], writer, set()))
        peer.following |= set(about["following"])
        task = asyncio.create_task(self._read(peer, reader, writer), name=f"peer-{peer.name}")
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    async def _read(
        self, peer: _Peer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                kind, key, body = await read_frame(reader)
                try:
                    await self._dispatch(peer, kind, key, body)
                except Exception:  # one bad frame must not stop the relay
                    log.exception("ignored a malformed frame from worker %s", peer.name)
        except (OSError, asyncio.IncompleteReadError):
            pass  # the peer stopped (or died): its jobs move to others through their leases
        finally:
            if self._peers.get(peer.name) is peer and peer.writer is writer:
                del self._peers[peer.name]
                peer.gone()
            writer.close()

    async def _dispatch(self, peer: _Peer, kind: int, key: str, body: bytes) -> None:
        if kind == EVENTS:
            if self._subscribers.get(key):
                self.deliver(key, [Event(id=i, type=t, data=d) for i, t, d in orjson.loads(body)])
        elif kind == CONTROL:
            message = orjson.loads(body)
            if not isinstance(message, dict):
                raise ValueError(f"a control message must be a JSON object, not {message!r:.80}")
            await LocalBroker.control(self, message)  # act here; the sender told the others
        elif kind == FOLLOW:
            peer.following.add(key)
            peer.send(frame(ACK, "", body))
        elif kind == UNFOLLOW:
            peer.following.discard(key)
        elif kind == ACK:
            future = peer.pending.pop(int(body), None)
            if future is not None and not future.done():
                future.set_result(None)
        else:
            raise ValueError(f"unknown frame kind {kind}")

    @contextlib.asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[asyncio.Queue[list[Event]]]:
        try:
            async with super().subscribe(job_id) as queue:
                await self._followed(job_id)
                yield queue
        finally:
            if job_id not in self._subscribers:
                self._confirmed.pop(job_id, None)
                for peer in list(self._peers.values()):
                    peer.send(frame(UNFOLLOW, job_id))

    async def _followed(self, job_id: str) -> None:
        """Return once every other worker has confirmed it sends us the job's batches."""
        confirmed = self._confirmed.get(job_id)
        if confirmed is None:
            confirmed = asyncio.ensure_future(self._follow(job_id))
            self._confirmed[job_id] = confirmed
        await asyncio.shield(confirmed)

    async def _follow(self, job_id: str) -> None:
        waits = []
        for peer in list(self._peers.values()):
            seq = next(self._seq)
            peer.pending[seq] = waiting = asyncio.get_running_loop().create_future()
            waits.append(waiting)
            peer.send(frame(FOLLOW, job_id, str(seq).encode()))
        if waits:
            await asyncio.wait(waits, timeout=ACK_TIMEOUT_S)

    async def publish(self, job_id: str, events: list[Event]) -> None:
        self.deliver(job_id, events)
        data = b""
        for peer in list(self._peers.values()):
            if job_id in peer.following:
                data = data or frame(
                    EVENTS, job_id, orjson.dumps([(e.id, e.type, e.data) for e in events])
                )
                peer.send(data)

    async def control(self, message: dict[str, Any]) -> None:
        await super().control(message)
        data = frame(CONTROL, "", orjson.dumps(message))
        for peer in list(self._peers.values()):
            peer.send(data)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for peer in list(self._peers.values()):
            peer.writer.close()
            peer.gone()
        for task in list(self._readers):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._readers, return_exceptions=True)
        _remove(self.path)
