"""An asyncio network backend for httpcore2: a read that finds data waiting costs no timer."""
# httpcore2's default backend (anyio) enters a cancel scope and a timeout on every read, and
# the connection pool probes every idle connection's socket (`is_readable`) through anyio's
# attribute table each time a request starts or ends: in `make bench`'s profile the two took
# a fifth of the server's CPU. httpcore2 lets a client plug in its own `AsyncNetworkBackend`
# for exactly this; this one is a plain asyncio protocol, whose buffer answers both questions.

import asyncio
import contextlib
import ssl
import urllib.request
from collections.abc import Iterable
from typing import Any, cast

import httpcore2
import httpx2
import openai
from httpcore2 import AsyncNetworkBackend, AsyncNetworkStream

# ChatOpenAI's own keep-alive options (LANGCHAIN_OPENAI_TCP_* honoured, unsupported ones dropped).
from langchain_openai.chat_models._client_utils import _default_socket_options
from openai._constants import DEFAULT_CONNECTION_LIMITS

# ruff: noqa: ASYNC109 - httpcore2's interface passes each timeout as an argument

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)
# Past this much unread data the protocol stops reading from the socket (back-pressure).
READ_HIGH_WATER = 256 * 1024


class _Protocol(asyncio.Protocol):
    """Buffers what arrives and wakes the one reader or writer waiting on it."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.closed = False
        self.error: BaseException | None = None
        self._transport: asyncio.Transport | None = None
        self._reader: asyncio.Future[None] | None = None
        self._writer: asyncio.Future[None] | None = None
        self._reading_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > READ_HIGH_WATER and self._transport and not self._reading_paused:
            self._reading_paused = True
            self._transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake_reader()
        return False  # close the transport: an HTTP/1.1 client has nothing left to send

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.error = exc
        self._wake_reader()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None and not writer.done():
            writer.set_result(None)

    def take(self, max_bytes: int) -> bytes:
        data = bytes(self.buffer[:max_bytes])
        del self.buffer[:max_bytes]
        if self._reading_paused and len(self.buffer) <= READ_HIGH_WATER // 2 and self._transport:
            self._reading_paused = False
            self._transport.resume_reading()
        return data

    async def readable(self, timeout: float | None) -> None:
        """Wait until data or the end of the stream arrives; ReadTimeout after `timeout`."""
        waiter = self._reader = asyncio.get_running_loop().create_future()
        await _within(waiter, timeout, httpcore2.ReadTimeout)

    async def drained(self, timeout: float | None) -> None:
        if self._writer is not None:
            await _within(asyncio.shield(self._writer), timeout, httpcore2.WriteTimeout)

    def _wake_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and not reader.done():
            reader.set_result(None)


async def _within(
    waiter: "asyncio.Future[None]", timeout: float | None, error: type[Exception]
) -> None:
    if timeout is None:
        await waiter
        return
    timer = asyncio.get_running_loop().call_later(timeout, _expire, waiter, error)
    try:
        await waiter
    finally:
        timer.cancel()


def _expire(waiter: "asyncio.Future[None]", error: type[Exception]) -> None:
    if not waiter.done():
        waiter.set_exception(error("timed out"))


class AsyncioStream(AsyncNetworkStream):
    """One connection: an asyncio transport and the protocol buffering what it reads."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.buffer and not protocol.closed:
            await protocol.readable(timeout)
        if protocol.buffer:
            return protocol.take(max_bytes)
        if protocol.error is not None:
            raise httpcore2.ReadError(str(protocol.error)) from protocol.error
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._protocol.closed or self._transport.is_closing():
            raise httpcore2.WriteError("the connection is closed")
        self._transport.write(buffer)
        await self._protocol.drained(timeout)

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            self._transport.close()
            raise httpcore2.ConnectTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            self._transport.close()
            raise httpcore2.ConnectError(str(exc)) from exc
        return AsyncioStream(cast(asyncio.Transport, transport), self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # The loop reads a live socket as soon as data comes: anything that arrived on
            # an idle connection (or its end) is in the buffer already.
            return bool(self._protocol.buffer) or self._protocol.closed
        names = {"client_addr": "sockname", "server_addr": "peername"}
        if info in ("ssl_object", "socket", *names):
            return self._transport.get_extra_info(names.get(info, info))
        return None


class AsyncioBackend(AsyncNetworkBackend):
    """Connections as asyncio transports (uvloop's, where the loop is uvloop)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        return await _connected(
            loop.create_connection(_Protocol, host, port, local_addr=local), timeout, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        return await _connected(
            loop.create_unix_connection(_Protocol, path), timeout, socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _connected(
    connecting: Any, timeout: float | None, socket_options: Iterable[SocketOption] | None
) -> AsyncioStream:
    try:
        async with asyncio.timeout(timeout):
            transport, protocol = await connecting
    except TimeoutError as exc:
        raise httpcore2.ConnectTimeout(str(exc)) from exc
    except OSError as exc:
        raise httpcore2.ConnectError(str(exc)) from exc
    sock = transport.get_extra_info("socket")
    for option in socket_options or ():
        with contextlib.suppress(OSError):  # an option this kernel lacks: as langchain-openai
            sock.setsockopt(*option)
    return AsyncioStream(transport, protocol)


def asyncio_transport(ssl_context: ssl.SSLContext | None = None) -> httpx2.AsyncHTTPTransport:
    """httpx2's transport with the OpenAI SDK's connection limits, on `AsyncioBackend`."""
    transport = httpx2.AsyncHTTPTransport()
    # httpx2's transport takes no backend; its pool, built from public arguments, does.
    transport._pool = httpcore2.AsyncConnectionPool(
        ssl_context=ssl_context or httpx2.create_ssl_context(),
        max_connections=DEFAULT_CONNECTION_LIMITS.max_connections,
        max_keepalive_connections=DEFAULT_CONNECTION_LIMITS.max_keepalive_connections,
        keepalive_expiry=DEFAULT_CONNECTION_LIMITS.keepalive_expiry,
        socket_options=list(_default_socket_options()),
        network_backend=AsyncioBackend(),
    )
    return transport


def lean_async_client() -> httpx2.AsyncClient | None:
    """The OpenAI SDK's default async client, on `AsyncioBackend`; None where a proxy is set.

    httpx2 follows `HTTP(S)_PROXY` only on its own default transport, so with a proxy in the
    environment the caller keeps the SDK's stock client.
    """
    if urllib.request.getproxies():
        return None
    return openai.DefaultAsyncHttpxClient(transport=asyncio_transport())
