"""What the sync and async clients share: errors, the SSE parser and the resume policy."""

import mimetypes
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import httpx
import orjson

from coursegen.names import ExportName

ExportFormat = ExportName  # the public name of the client's argument type
TERMINAL = frozenset({"completed", "failed", "cancelled"})
SETTLED = TERMINAL | {"awaiting_review"}  # where `wait()` returns
RETRYABLE_STATUS = frozenset({502, 503, 504})  # a proxy or a restarting server: resume
MAX_BACKOFF_S = 10.0


class Event(TypedDict):
    """One event of a job's log: its id (1, 2, 3, …), type and JSON data."""

    id: int
    type: str
    data: dict[str, Any]


class CourseClientError(Exception):
    """Base of the errors the coursegen client raises."""


class CourseAPIError(CourseClientError):
    """The server answered 4xx/5xx; `detail` is its message (a string, or 422's field list)."""

    def __init__(self, status: int, detail: Any) -> None:
        self.status, self.detail = status, detail
        super().__init__(f"{status}: {describe(detail)}")


class CourseConnectionError(CourseClientError):
    """The server could not be reached (or the connection broke) on a plain request."""


class CourseStreamError(CourseClientError):
    """An event stream broke more times in a row than the client retries."""


class StreamClosed(Exception):
    """The server closed an event stream before the job's final `end` (or answered 5xx)."""


# Called before each reconnection: (consecutive failures, last event id seen, the error).
RetryHook = Callable[[int, int, Exception], None]


def describe(detail: Any) -> str:
    """FastAPI's `detail` as one line: validation errors become `field: message; …`."""
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, Mapping):
                where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                parts.append(f"{where}: {item.get('msg', '')}" if where else str(item.get("msg")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


def raise_for_status(response: httpx.Response) -> None:
    """Raise CourseAPIError with the server's message for a 4xx/5xx answer (body read)."""
    if response.is_success:
        return
    try:
        body = response.json()
        detail = body.get("detail", body) if isinstance(body, dict) else body
    except ValueError:
        detail = response.text or response.reason_phrase
    raise CourseAPIError(response.status_code, detail)


def request_body(request: Any) -> dict[str, Any]:
    """A CourseRequest (any pydantic model) or a plain dict, as JSON-ready data."""
    if hasattr(request, "model_dump"):
        return dict(request.model_dump(mode="json", exclude_none=True))
    return dict(request)


def upload_file(path: str | os.PathLike[str]) -> dict[str, tuple[str, bytes, str]]:
    """The multipart `file` field of POST /sources for a file on disk."""
    file = Path(path)
    media = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return {"file": (file.name, file.read_bytes(), media)}


def headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


class SSEParser:
    """Turn lines of a `text/event-stream` into events; comments (`: ping`) are skipped."""

    def __init__(self) -> None:
        self._fields: dict[str, str] = {}
        self._data: list[str] = []

    def feed(self, line: str) -> Event | None:
        """Take one line (without its ending); return an event at the blank line closing it."""
        if not line:
            fields, data = self._fields, self._data
            self._fields, self._data = {}, []
            if not data or "id" not in fields:
                return None
            return Event(
                id=int(fields["id"]),
                type=fields.get("event", "message"),
                data=orjson.loads("\n".join(data)),
            )
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name in ("id", "event"):
            self._fields[name] = value
        return None


@dataclass
class Follow:
    """The resume state of one `events()` call: the last id seen and the failures in a row."""

    job_id: str
    last: int
    retries: int
    backoff_s: float
    on_retry: RetryHook | None = None
    failures: int = 0
    ended: bool = False

    @property
    def path(self) -> str:
        return f"/courses/{self.job_id}/events"

    def headers(self) -> dict[str, str]:
        return {"Last-Event-ID": str(self.last), "Accept": "text/event-stream"}

    def check(self, response: httpx.Response) -> None:
        """Raise for an answer that is not a stream (body read); 502/503/504 count as drops."""
        if response.status_code in RETRYABLE_STATUS:
            raise StreamClosed(f"the server answered {response.status_code}")
        raise_for_status(response)

    def seen(self, event: Event) -> None:
        self.last, self.failures, self.ended = event["id"], 0, event["type"] == "end"

    def closed(self, snapshot: Mapping[str, Any]) -> None:
        """The server closed the stream after a non-`end` event: done if the job is over."""
        if snapshot["status"] not in TERMINAL or self.last < snapshot["last_event_id"]:
            raise StreamClosed("the server closed the event stream before the end")
        self.ended = True

    def dropped(self, error: Exception) -> float:
        """Count a failure; return the delay before resuming, or give up after `retries`."""
        self.failures += 1
        if self.failures > self.retries:
            raise CourseStreamError(
                f"the event stream of job {self.job_id} failed {self.failures} times in a row "
                f"(last event {self.last}): {error}"
            ) from error
        if self.on_retry is not None:
            self.on_retry(self.failures, self.last, error)
        return float(min(self.backoff_s * 2 ** (self.failures - 1), MAX_BACKOFF_S))
