"""httpx transports that break `/events` streams on purpose, to test automatic resuming."""

import re
from collections.abc import AsyncIterator, Iterator

import httpx

EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


class Cutter:
    """Let through `events` whole events and `extra` more bytes, then break the stream."""

    def __init__(self, events: int, extra: int) -> None:
        self.events, self.extra = events, extra
        self.sent, self.seen, self.tail = 0, 0, b""
        self.limit: int | None = self.extra if events == 0 else None

    def take(self, chunk: bytes) -> tuple[bytes, bool]:
        """The part of `chunk` to pass on, and whether to break after it."""
        if self.limit is None:
            window = self.tail + chunk
            for match in EVENT_END.finditer(window):
                if match.end() <= len(self.tail):
                    continue  # counted with the previous chunk
                self.seen += 1
                if self.seen == self.events:
                    self.limit = self.sent - len(self.tail) + match.end() + self.extra
                    break
            self.tail = window[-3:]
        start, self.sent = self.sent, self.sent + len(chunk)
        if self.limit is not None and self.sent >= self.limit:
            return chunk[: self.limit - start], True
        return chunk, False


class _Cut:
    """Which event-stream connections break where, and what each one asked for."""

    def __init__(self, cuts: list[tuple[int, int]], refuse: int = 0) -> None:
        self.cuts = list(cuts)  # per connection: (whole events, then bytes) before the break
        self.refuse = refuse  # then refuse this many connections outright
        self.last_event_ids: list[str | None] = []

    def plan(self, request: httpx.Request) -> tuple[bool, Cutter | None]:
        """(refuse the connection?, how to cut it) for one request."""
        if not request.url.path.endswith("/events"):
            return False, None
        self.last_event_ids.append(request.headers.get("last-event-id"))
        if self.cuts:
            return False, Cutter(*self.cuts.pop(0))
        if self.refuse:
            self.refuse -= 1
            return True, None
        return False, None


class _SyncCutStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, cutter: Cutter) -> None:
        self.inner, self.cutter = inner, cutter

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            part, stop = self.cutter.take(chunk)
            yield part
            if stop:
                raise httpx.ReadError("scripted drop")

    def close(self) -> None:
        self.inner.close()


class _AsyncCutStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, cutter: Cutter) -> None:
        self.inner, self.cutter = inner, cutter

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            part, stop = self.cutter.take(chunk)
            yield part
            if stop:
                raise httpx.ReadError("scripted drop")

    async def aclose(self) -> None:
        await self.inner.aclose()


class FlakyTransport(httpx.BaseTransport, _Cut):
    """Break the n-th `/events` response as `cuts[n]` says; then refuse `refuse` connections."""

    def __init__(self, cuts: list[tuple[int, int]], refuse: int = 0) -> None:
        _Cut.__init__(self, cuts, refuse)
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        refuse, cutter = self.plan(request)
        if refuse:
            raise httpx.ConnectError("scripted refusal", request=request)
        response = self.inner.handle_request(request)
        if cutter is None:
            return response
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_SyncCutStream(response.stream, cutter),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()


class AsyncFlakyTransport(httpx.AsyncBaseTransport, _Cut):
    """The async twin of FlakyTransport."""

    def __init__(self, cuts: list[tuple[int, int]], refuse: int = 0) -> None:
        _Cut.__init__(self, cuts, refuse)
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        refuse, cutter = self.plan(request)
        if refuse:
            raise httpx.ConnectError("scripted refusal", request=request)
        response = await self.inner.handle_async_request(request)
        if cutter is None:
            return response
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_AsyncCutStream(response.stream, cutter),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()
