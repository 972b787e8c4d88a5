"""The asyncio network backend under httpx2: keep-alive, a closed idle connection, timeouts, TLS."""

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpcore2
import httpx2
import pytest
import trustme
import uvloop

from coursegen.providers.core import network
from coursegen.providers.core.network import AsyncioBackend, asyncio_transport, lean_async_client
from coursegen.providers.loading import ModelOptions, load_chat_model
from tests.support.scripted_llm import ScriptedLLM

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
LOOPS = {"asyncio": asyncio.run, "uvloop": uvloop.run}


@pytest.fixture(params=sorted(LOOPS))
def run(request: pytest.FixtureRequest) -> Callable[[Awaitable[None]], None]:
    """Run a test body on a fresh loop of each kind the server may run on."""
    return LOOPS[request.param]  # type: ignore[return-value]


@asynccontextmanager
async def raw_server(
    handle: Handler, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[str]:
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ssl_context)
    port = server.sockets[0].getsockname()[1]
    scheme = "https" if ssl_context else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        server.close()


async def _request_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def lean(ssl_context: ssl.SSLContext | None = None) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=asyncio_transport(ssl_context))


def _ok(body: bytes, keep_alive: bool = True) -> bytes:
    connection = b"keep-alive" if keep_alive else b"close"
    return (
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n" % (len(body), connection)
        + body
    )


def test_streams_a_completion_and_reuses_the_connection(scripted_llm: ScriptedLLM, run) -> None:
    async def body() -> None:
        transport = asyncio_transport()
        async with httpx2.AsyncClient(transport=transport) as client:
            for _ in range(2):
                async with client.stream(
                    "POST",
                    f"{scripted_llm.base_url}/chat/completions",
                    json={
                        "model": "m",
                        "stream": True,
                        "messages": [{"role": "user", "content": ""}],
                    },
                ) as response:
                    raw = b"".join([chunk async for chunk in response.aiter_bytes()])
                assert response.status_code == 200
                assert raw.rstrip().endswith(b"data: [DONE]")
            assert len(transport._pool.connections) == 1  # the second call reused the first's

    run(body())


def test_a_connection_the_server_closed_while_idle_is_replaced(run) -> None:
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _request_head(reader)
        writer.write(_ok(b"one"))  # says keep-alive, then hangs up
        await writer.drain()
        writer.close()

    async def body() -> None:
        async with raw_server(handle) as url, lean() as client:
            first = await client.get(url)
            await asyncio.sleep(0.1)  # the close reaches the idle connection
            second = await client.get(url)
        assert (first.text, second.text, connections) == ("one", "one", 2)

    run(body())


def test_a_silent_server_gives_a_read_timeout(run) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        await asyncio.sleep(5)

    async def body() -> None:
        async with raw_server(handle) as url, lean() as client:
            with pytest.raises(httpx2.ReadTimeout):
                await client.get(url, timeout=httpx2.Timeout(5.0, read=0.2))

    run(body())


def test_a_cut_body_and_a_refused_connection_are_transport_errors(run) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await writer.drain()
        writer.transport.abort()

    async def body() -> None:
        async with lean() as client:
            async with raw_server(handle) as url:
                with pytest.raises(httpx2.TransportError):
                    await client.get(url)
            with pytest.raises(httpx2.ConnectError):
                await client.get("http://127.0.0.1:9/")  # discard port: nothing listens

    run(body())


def test_a_body_larger_than_the_read_buffer_arrives_whole(run) -> None:
    payload = bytes(range(256)) * (4 * network.READ_HIGH_WATER // 256)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        writer.write(_ok(payload, keep_alive=False))
        await writer.drain()
        writer.close()

    async def body() -> None:
        chunks = []
        async with raw_server(handle) as url, lean() as client, client.stream("GET", url) as answer:
            async for chunk in answer.aiter_bytes():
                chunks.append(chunk)
                await asyncio.sleep(0)  # a slow reader: the protocol pauses the socket
        assert b"".join(chunks) == payload

    run(body())


def test_https_through_start_tls(run) -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        writer.write(_ok(b"secret"))
        await writer.drain()

    async def body() -> None:
        async with raw_server(handle, server_context) as url, lean(client_context) as client:
            response = await client.get(url)
            assert response.text == "secret"
            with pytest.raises(httpx2.ConnectError):  # a certificate nobody vouched for
                await lean().get(url)

    run(body())


def test_the_openai_client_uses_the_backend_unless_a_proxy_is_set(monkeypatch) -> None:
    def backend() -> httpcore2.AsyncNetworkBackend:
        chat = load_chat_model("openai:m", ModelOptions(base_url="http://127.0.0.1:9/v1"))
        return chat.root_async_client._client._transport._pool._network_backend  # type: ignore[attr-defined]

    assert isinstance(backend(), AsyncioBackend)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert lean_async_client() is None
    assert not isinstance(backend(), AsyncioBackend)  # the SDK's own client follows the proxy
