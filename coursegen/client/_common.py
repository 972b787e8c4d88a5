"""What the sync and async clients share: settings, requests, errors, SSE and resuming."""

import mimetypes
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypedDict, TypeVar

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


# What ends one attempt at an event stream but not `events()`: it resumes after these.
RESUMABLE = (httpx.TransportError, StreamClosed, CourseConnectionError)


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


def create_options(request: Any, idempotency_key: str | None) -> dict[str, Any]:
    """The httpx arguments of POST /courses."""
    extra = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return {"json": request_body(request), "headers": extra}


def review_body(approve: bool, outline: dict[str, Any] | None) -> dict[str, Any]:
    """The body of POST /courses/{id}/review: approve, or continue with an edited outline."""
    body: dict[str, Any] = {"approve": approve}
    if outline is not None:
        body["outline"] = outline
    return body


def list_params(limit: int, cursor: str | None) -> dict[str, Any]:
    """The query of GET /courses."""
    params: dict[str, Any] = {"limit": limit}
    if cursor:
        params["cursor"] = cursor
    return params


def ends_wait(event: Event) -> bool:
    """Whether `wait()` stops following at this event: the run ended or awaits review."""
    return event["type"] == "end" or event["data"].get("status") == "awaiting_review"


HttpT = TypeVar("HttpT")
TransportT = TypeVar("TransportT")


class ClientCore(Generic[HttpT, TransportT]):
    """The settings both clients keep; a flavour says how to open its httpx client.

    `timeout` bounds each plain request; `stream_timeout` is the longest silence an event
    stream may have (the server pings every 15 s) before it counts as dropped. A stream is
    resumed `retries` times in a row at most, waiting `backoff_s`, 2×, 4×, … in between.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 30.0,
        *,
        stream_timeout: float = 60.0,
        retries: int = 5,
        backoff_s: float = 0.5,
        transport: TransportT | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries, self.backoff_s = retries, backoff_s
        self._stream_timeout = httpx.Timeout(timeout, read=stream_timeout)
        self._http = self._open(
            base_url=self.base_url, headers=headers(api_key), timeout=timeout, transport=transport
        )

    def _open(self, **options: Any) -> HttpT:
        raise NotImplementedError

    def _unreachable(self, exc: httpx.TransportError) -> "CourseConnectionError":
        return CourseConnectionError(
            f"cannot reach {self.base_url}: {str(exc) or type(exc).__name__}"
        )

    def _follow(self, job_id: str, after: int, on_retry: "RetryHook | None") -> "Follow":
        return Follow(job_id, after, self.retries, self.backoff_s, on_retry)

    def _stream_options(self, state: "Follow") -> dict[str, Any]:
        """The httpx arguments of one attempt at the event stream."""
        return {"headers": state.headers(), "timeout": self._stream_timeout}


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
