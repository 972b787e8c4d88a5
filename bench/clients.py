"""Drive courses through each API and note when every marked token arrives.

The SSE reader is a plain asyncio HTTP/1.1 client: it timestamps each chunk as it is read
and only scans the bytes for token markers, so that many followers in this process cost
little CPU (the benchmark shares two cores with the server and the simulator).
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.simulated_llm import MARKER_RE

Marker = tuple[int, int]  # (simulator call index, token index in that call)


def course_request(name: str, themes: int, topics: int) -> dict[str, Any]:
    """A CourseRequest for an English course of `themes` × `topics`."""
    return {
        "course_name": name,
        "description": f"{name}: a course written by the simulated model for the benchmark",
        "requirements": "Beginner level; short lessons with worked examples.",
        "language": "en",
        "options": {"themes": themes, "topics_per_theme": topics},
    }


@dataclass
class CourseRun:
    """What a client saw of one course."""

    name: str
    started: float = 0.0  # before the request that starts it
    running: float | None = None  # first sign of the run (jobs: `status running`)
    ended: float | None = None  # the end of the stream (jobs: the `end` event)
    status: str = ""
    job_id: str | None = None
    events: int = 0
    token_events: int = 0
    markers: dict[Marker, float] = field(default_factory=dict)
    error: str | None = None

    def see(self, data: bytes, at: float) -> None:
        markers = self.markers
        for call, seq in MARKER_RE.findall(data):
            key = (int(call), int(seq))
            if key not in markers:  # the token event comes first; later copies are the result
                markers[key] = at


class SSEParser:
    """Incremental `text/event-stream` parser: yields (event name, data) per event."""

    def __init__(self) -> None:
        self._buf = b""
        self._event = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[tuple[bytes, bytes]]:
        lines = (self._buf + chunk).split(b"\n")
        self._buf = lines.pop()
        out = []
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if self._data or self._event:
                    out.append((self._event or b"message", b"\n".join(self._data)))
                self._event, self._data = b"", []
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
            elif line.startswith(b"event:"):
                self._event = line[6:].strip()
        return out


async def http_stream(
    url: str,
    method: str = "GET",
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[tuple[bytes, float]]:
    """Yield (bytes, time read) of a streamed HTTP/1.1 response body (chunked or not)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    reader, writer = await asyncio.open_connection(host, port, limit=2**22)
    try:
        payload = json.dumps(body).encode() if body is not None else b""
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Accept: text/event-stream",
            "Connection: close",
        ]
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status_line = await reader.readline()
        status = int(status_line.split()[1])
        chunked = False
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if status != 200:
            rest = await reader.read(4096)
            raise RuntimeError(f"{method} {url} answered {status}: {rest[:500]!r}")
        if chunked:
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    return
                data = await reader.readexactly(size)
                at = time.monotonic()
                await reader.readexactly(2)
                yield data, at
        else:
            while data := await reader.read(65536):
                yield data, time.monotonic()
    finally:
        writer.close()


async def sse_events(
    url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
) -> AsyncIterator[tuple[bytes, bytes, float]]:
    """Yield (event, data, time the chunk that completed it was read)."""
    parser = SSEParser()
    async for chunk, at in http_stream(url, method, body, headers):
        for event, data in parser.feed(chunk):
            yield event, data, at


async def run_job(http: httpx.AsyncClient, base: str, request: dict[str, Any]) -> CourseRun:
    """Jobs API: POST /courses, then follow /courses/{id}/events to the `end` event."""
    run = CourseRun(request["course_name"], started=time.monotonic())
    try:
        response = await http.post(f"{base}/courses", json=request)
        response.raise_for_status()
        job_id = run.job_id = response.json()["id"]
        last = 0
        for _attempt in range(5):  # reconnect with Last-Event-ID if a stream drops
            headers = {"Last-Event-ID": str(last)} if last else None
            try:
                async for event, data, at in sse_events(
                    f"{base}/courses/{job_id}/events", headers=headers
                ):
                    run.events += 1
                    run.see(data, at)
                    if event == b"token":
                        run.token_events += 1
                    elif event == b"status" and run.running is None and b"running" in data:
                        run.running = at
                    elif event == b"end":
                        run.ended, run.status = at, json.loads(data)["status"]
                        return run
            except (OSError, asyncio.IncompleteReadError) as exc:
                run.error = f"stream dropped: {exc!r}"
            last = run.events  # event ids are 1, 2, 3, … without gaps
        run.error = run.error or "the stream closed before the end event"
    except Exception as exc:
        run.error = f"{type(exc).__name__}: {exc}"
    return run


async def run_langserve(
    base: str, request: dict[str, Any], endpoint: str = "stream", wrap: str | None = None
) -> CourseRun:
    """LangServe: POST /course/<endpoint>, read its SSE to the `end` event.

    `stream` is coursegen's route (token events of its own); `stream_events` is the stock
    peer's `astream_events` (tokens are `on_chat_model_stream` events). `wrap` nests the
    request under that input key (the stock graph's state is `{"request": …}`).
    """
    run = CourseRun(request["course_name"], started=time.monotonic())
    token_mark = b'"type":"token"' if endpoint == "stream" else b'"on_chat_model_stream"'
    body = {"input": {wrap: request} if wrap else request}
    try:
        async for event, data, at in sse_events(f"{base}/course/{endpoint}", "POST", body):
            run.events += 1
            run.see(data, at)
            if run.running is None:
                run.running = at
            if token_mark in data[:60]:
                run.token_events += 1
            if event == b"error":
                run.error = data.decode(errors="replace")[:500]
            elif event == b"end":
                run.ended, run.status = at, "error" if run.error else "completed"
                return run
        run.error = run.error or "the stream closed before the end event"
    except Exception as exc:
        run.error = f"{type(exc).__name__}: {exc}"
    return run


async def run_langgraph(
    client: Any, request: dict[str, Any], graph: str = "coursegen", mode: str = "custom"
) -> CourseRun:
    """`langgraph dev`: a thread, then runs.stream(stream_mode=mode) with the SDK.

    `custom`: coursegen's token events; `messages-tuple`: the stock peer's message chunks.
    """
    run = CourseRun(request["course_name"], started=time.monotonic())
    try:
        thread = await client.threads.create()
        async for part in client.runs.stream(
            thread["thread_id"], graph, input={"request": request}, stream_mode=mode
        ):
            at = time.monotonic()
            run.events += 1
            if run.running is None:
                run.running = at
            if part.event == "error":
                run.error = str(part.data)[:500]
            elif part.event.startswith("messages") and isinstance(part.data, list):
                message = part.data[0] if part.data else None
                text = message.get("content") if isinstance(message, dict) else None
                if isinstance(text, str) and text:
                    run.token_events += 1
                    run.see(text.encode(), at)
            elif isinstance(part.data, dict) and part.data.get("type") == "token":
                run.token_events += 1
                text = part.data.get("text")
                if text:
                    run.see(text.encode(), at)
        run.ended = time.monotonic()
        run.status = "error" if run.error else "completed"
    except Exception as exc:
        run.error = f"{type(exc).__name__}: {exc}"
    return run


def latencies(runs: list[CourseRun], calls: list[dict[str, Any]]) -> tuple[list[float], int]:
    """Seconds from each marked token's emission to its arrival; and how many never arrived."""
    emitted = {c["idx"]: c["tokens"] for c in calls}
    values: list[float] = []
    for run in runs:
        for (call, seq), at in run.markers.items():
            times = emitted.get(call)
            if times is not None and seq < len(times):
                values.append(at - times[seq])
    courses = {run.name for run in runs}
    expected = sum(
        c["body"][1] - c["body"][0]
        for c in calls
        if c["status"] == "completed" and c["course"] in courses and c.get("body")
    )
    return values, max(0, expected - len(values))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100), linear between closest ranks; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
