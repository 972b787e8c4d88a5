"""Guard every request: a body size limit and security headers on every response."""

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class GuardMiddleware:
    """Refuse bodies over `max_body_bytes` with 413 and add security headers to responses.

    `path_limits` names paths with a limit of their own (file uploads). `worker` names the
    process in an `X-Coursegen-Worker` header (which of `serve --workers N` answered).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        path_limits: dict[str, int] | None = None,
        worker: str | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.path_limits = path_limits or {}
        self.headers = list(SECURITY_HEADERS)
        if worker is not None:
            self.headers.append((b"x-coursegen-worker", worker.encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        limit = self.path_limits.get(scope["path"].rstrip("/"), self.max_body_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                await self._too_large(send, limit)
                return
            await self.app(scope, receive, secured_send)
            return
        # No length given (chunked): read the body here, within the limit, and replay it.
        messages: list[Message] = []
        size, more = 0, scope["method"] not in ("GET", "HEAD", "DELETE", "OPTIONS")
        while more:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            more = message["type"] == "http.request" and message.get("more_body", False)
            if size > limit:
                await self._too_large(send, limit)
                return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, secured_send)

    async def _too_large(self, send: Send, limit: int) -> None:
        body = b'{"detail":"request body too large (limit %d bytes)"}' % limit
        headers: list[Any] = [(b"content-type", b"application/json"), *self.headers]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
