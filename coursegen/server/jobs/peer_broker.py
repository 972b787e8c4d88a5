"""Relay event batches and control messages between the worker processes of one host."""

import asyncio
import contextlib
import logging
import struct
from pathlib import Path
from typing import Any

import orjson

from coursegen.server.jobs.broker import LocalBroker
from coursegen.server.jobs.models import Event

log = logging.getLogger(__name__)
# A frame: body length, job-id length, the job id ("" for a control message), the body.
HEADER = struct.Struct("!IH")
HELLO_TIMEOUT_S = 5.0
# A peer this far behind on reading gets no more frames until it catches up: its
# subscribers see the gap and re-read the store, as after Redis's lost messages.
MAX_BUFFER_BYTES = 16 * 1024 * 1024


def frame(job_id: str, body: bytes) -> bytes:
    """One message on the wire."""
    key = job_id.encode()
    return HEADER.pack(len(body), len(key)) + key + body


async def read_frame(reader: asyncio.StreamReader) -> tuple[str, bytes]:
    """The next message: (job id, body); IncompleteReadError when the peer has gone."""
    size, key_size = HEADER.unpack(await reader.readexactly(HEADER.size))
    rest = await reader.readexactly(key_size + size)
    return rest[:key_size].decode(), rest[key_size:]


def _prepare(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)


def _sockets(directory: Path) -> list[Path]:
    """The sockets of the workers there now (a few entries: no need to leave the loop)."""
    return sorted(directory.glob("*.sock"))


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


class _Peer:
    """One other worker process, reached through one stream connection."""

    def __init__(self, name: str, writer: asyncio.StreamWriter) -> None:
        self.name, self.writer = name, writer
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


class PeerBroker(LocalBroker):
    """Broadcast to the other workers of `coursegen serve --workers N` over Unix sockets.

    Each worker listens on `<directory>/<name>.sock` and, when it starts, connects to every
    socket already there; the workers that started earlier accept. One connection per pair
    then carries frames both ways. Every batch goes to every peer (as with Redis); a peer
    decodes only the batches of jobs it has subscribers for.
    """

    def __init__(self, directory: Path, name: str) -> None:
        super().__init__()
        self.directory, self.name = directory, name
        self.path = directory / f"{name}.sock"
        self._peers: dict[str, _Peer] = {}
        self._readers: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    def peer_names(self) -> list[str]:
        return sorted(self._peers)

    async def start(self) -> None:
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
            writer.write(frame("", self.name.encode()))
            _, name = await asyncio.wait_for(read_frame(reader), HELLO_TIMEOUT_S)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            log.warning("worker socket %s did not answer (%s); skipped", path.name, exc)
            writer.close()
            return
        self._add(name.decode(), reader, writer)

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            _, name = await asyncio.wait_for(read_frame(reader), HELLO_TIMEOUT_S)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            writer.close()
            return
        # Registered before the answer: once the newcomer has it, it hears every publish.
        self._add(name.decode(), reader, writer)
        writer.write(frame("", self.name.encode()))

    def _add(self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Two workers starting together may connect to each other twice: both connections
        # are read, but frames go out on the first only, so nothing arrives twice.
        peer = self._peers.setdefault(name, _Peer(name, writer))
        task = asyncio.create_task(self._read(peer, reader, writer), name=f"peer-{name}")
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    async def _read(
        self, peer: _Peer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                job_id, body = await read_frame(reader)
                try:
                    await self._dispatch(job_id, body)
                except Exception:  # one bad frame must not stop the relay
                    log.exception("ignored a malformed frame from worker %s", peer.name)
        except (OSError, asyncio.IncompleteReadError):
            pass  # the peer stopped (or died): its jobs move to others through their leases
        finally:
            if self._peers.get(peer.name) is peer and peer.writer is writer:
                del self._peers[peer.name]
            writer.close()

    async def _dispatch(self, job_id: str, body: bytes) -> None:
        if not job_id:
            message = orjson.loads(body)
            if not isinstance(message, dict):
                raise ValueError(f"a control message must be a JSON object, not {message!r:.80}")
            await LocalBroker.control(self, message)  # act here; the sender told the others
        elif self._subscribers.get(job_id):
            self.deliver(job_id, [Event(id=i, type=t, data=d) for i, t, d in orjson.loads(body)])

    async def publish(self, job_id: str, events: list[Event]) -> None:
        self.deliver(job_id, events)
        if self._peers:
            data = frame(job_id, orjson.dumps([(e.id, e.type, e.data) for e in events]))
            for peer in list(self._peers.values()):
                peer.send(data)

    async def control(self, message: dict[str, Any]) -> None:
        await super().control(message)
        data = frame("", orjson.dumps(message))
        for peer in list(self._peers.values()):
            peer.send(data)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for peer in list(self._peers.values()):
            peer.writer.close()
        for task in list(self._readers):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._readers, return_exceptions=True)
        _remove(self.path)
