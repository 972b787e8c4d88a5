"""Read Server-Sent Events in tests with httpx-sse: a job's event log, resumable by id."""

import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, aconnect_sse


@dataclass
class SSE:
    """One received event of a job's log."""

    id: int
    event: str
    data: Any
    connection: int = 0  # which connection of a reader delivered it (EventReader counts them)
    received: float = 0.0  # time.monotonic() when it arrived (ScriptedLLM's clock too)


def json_data(sse: ServerSentEvent) -> Any:
    """An event's data as JSON (None for an event without data lines)."""
    return json.loads(sse.data) if sse.data else None


async def iter_events(
    client: httpx.AsyncClient,
    url: str,
    *,
    last_event_id: int | None = None,
    connection: int = 0,
    opened: Callable[[httpx.Response], None] | None = None,
) -> AsyncIterator[SSE]:
    """Yield a job's events from one connection until the server closes it.

    `opened` sees the response once connected (its headers: which worker answered).
    Close the generator (`contextlib.aclosing`) to disconnect early.
    """
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
    async with aconnect_sse(client, "GET", url, headers=headers) as source:
        source.response.raise_for_status()
        if opened is not None:
            opened(source.response)
        async for sse in source.aiter_sse():
            # Every event of the log has an id and data. httpx-sse keeps the last id (as the
            # spec says) and dispatches a data-less "event" at a heartbeat's blank line: skip
            # it, as browsers do.
            if not sse.id or not sse.data:
                continue
            at = time.monotonic()
            yield SSE(int(sse.id), sse.event or "message", json_data(sse), connection, at)


async def read_events(
    client: httpx.AsyncClient,
    url: str,
    *,
    last_event_id: int | None = None,
    limit: int | None = None,
) -> list[SSE]:
    """Collect events until the server closes the stream, or until `limit` (then disconnect)."""
    events: list[SSE] = []
    async with aclosing(iter_events(client, url, last_event_id=last_event_id)) as stream:
        async for event in stream:
            events.append(event)
            if limit is not None and len(events) >= limit:
                break
    return events


def token_text(events: Iterable[SSE], stage: str, theme: int | None, topic: int | None) -> str:
    """One token stream's text as a reader rebuilds it: deltas after the last `start` marker."""
    text = ""
    for event in events:
        data = event.data
        if event.event == "token" and (data["stage"], data["theme"], data["topic"]) == (
            stage,
            theme,
            topic,
        ):
            text = "" if data.get("start") else text + data["text"]
    return text
