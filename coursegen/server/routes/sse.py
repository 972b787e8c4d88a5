"""Encode a job's stored events as Server-Sent Events, as they go out on the wire."""

from sse_starlette import ServerSentEvent

from coursegen.server.jobs.models import Event

HEARTBEAT_S = 15
# Event ids are SQL integers: a larger resume id would overflow SQLite's 64 bits mid-stream.
MAX_EVENT_ID = 2**63 - 1
# LF, not sse-starlette's default CRLF: clients that split lines on "\n" keep a stray "\r"
# (an id of "684\r" that they then send back as Last-Event-ID).
SSE_SEP = "\n"


def encode_event(event: Event) -> bytes:
    """One stored event as an SSE message (its data is one line of JSON, as stored)."""
    if "\n" in event.data or "\r" in event.data:  # not from orjson: let the library split it
        return ServerSentEvent(
            data=event.data, event=event.type, id=str(event.id), sep=SSE_SEP
        ).encode()
    return f"id: {event.id}\nevent: {event.type}\ndata: {event.data}\n\n".encode()
