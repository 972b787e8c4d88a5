"""Refuse cross-site requests: foreign origins, non-JSON bodies, and JSON that is not JSON."""

from collections.abc import Sequence
from urllib.parse import urlsplit

import orjson
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What a page on another site can send without a CORS preflight is a "simple" request: any
# origin, a form or text/plain body. Requiring JSON and a known Origin closes that door.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JSON_MEDIA_TYPE = "application/json"
FORM_MEDIA_TYPE = "multipart/form-data"


class RequestGuardMiddleware:
    """Answer 403 to a state-changing request from a foreign `Origin`, 415 to a body that is not
    `application/json`, and 422 to a body that is not strict JSON (NaN, Infinity, numbers out
    of range, lone surrogates: what Python's parser takes but no encoder can answer with).

    An origin is ours when it names the host the request was sent to (already checked against
    the allowed hosts), or is one of `cors_origins`. A request without `Origin` is not from a
    browser page on another site (browsers send it on every cross-origin POST).

    The paths in `upload_paths` take `multipart/form-data` (a file upload) instead of JSON;
    the `Origin` check holds for them all the same.
    """

    def __init__(
        self, app: ASGIApp, cors_origins: Sequence[str] = (), upload_paths: Sequence[str] = ()
    ) -> None:
        self.app = app
        self.cors_origins = frozenset(o.rstrip("/").lower() for o in cors_origins)
        self.upload_paths = frozenset(upload_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is not None and not self._ours(origin, headers.get("host", "")):
            detail = f"cross-origin request from {origin!r} refused (see COURSEGEN_CORS_ORIGINS)"
            await JSONResponse({"detail": detail}, status_code=403)(scope, receive, send)
            return
        body, messages = await _read(receive)
        expected = FORM_MEDIA_TYPE if scope["path"] in self.upload_paths else JSON_MEDIA_TYPE
        content_type = headers.get("content-type", "")
        if body and (refusal := _refusal(content_type, body, expected)) is not None:
            await refusal(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    def _ours(self, origin: str, host: str) -> bool:
        origin = origin.rstrip("/").lower()
        return origin in self.cors_origins or (
            bool(host) and urlsplit(origin).netloc == host.lower()
        )


async def _read(receive: Receive) -> tuple[bytes, list[Message]]:
    """The whole body (the guard outside has bounded its size) and the messages it came in."""
    messages: list[Message] = []
    more = True
    while more:
        message = await receive()
        messages.append(message)
        more = message["type"] == "http.request" and message.get("more_body", False)
    return b"".join(m.get("body", b"") for m in messages), messages


def _refusal(content_type: str, body: bytes, expected: str) -> JSONResponse | None:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != expected:
        got = media_type or "none"
        form = "JSON" if expected == JSON_MEDIA_TYPE else "a form upload"
        detail = f"send the body as {form} with Content-Type: {expected} (got {got})"
        return JSONResponse({"detail": detail}, status_code=415)
    if expected == FORM_MEDIA_TYPE:
        return None  # the upload route parses the form and checks the file
    try:
        body.decode()
    except UnicodeDecodeError:
        return None  # the route answers 400: the body is not text at all
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ["body"], "msg": f"invalid JSON: {exc}"}
        return JSONResponse({"detail": [{**error, "input": None}]}, status_code=422)
    return None
