"""Read Server-Sent Events from a real HTTP stream in tests."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class SSE:
    """One received event."""

    id: int
    event: str
    data: Any


async def read_events(
    client: httpx.AsyncClient,
    url: str,
    *,
    last_event_id: int | None = None,
    limit: int | None = None,
) -> list[SSE]:
    """Collect events until the server closes the stream, or until `limit` (then disconnect)."""
    events: list[SSE] = []
    async for event in iter_events(client, url, last_event_id=last_event_id):
        events.append(event)
        if limit is not None and len(events) >= limit:
            break
    return events


async def iter_events(
    client: httpx.AsyncClient, url: str, *, last_event_id: int | None = None
) -> AsyncIterator[SSE]:
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
    async with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        fields: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line.startswith(":"):
                continue  # heartbeat comment
            if not line:
                if "id" in fields:
                    yield SSE(
                        int(fields["id"]),
                        fields.get("event", "message"),
                        json.loads(fields.get("data", "null")),
                    )
                fields = {}
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value


def token_text(events: list[SSE], stage: str, theme: int | None, topic: int | None) -> str:
    """Concatenate one stream's token deltas after its last `start` marker."""
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
