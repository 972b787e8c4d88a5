"""A webhook receiver on 127.0.0.1 for tests: records every request, answers as scripted.

`WebhookReceiver(answers=[500])` answers the first request 500 and every later one 200
(`default`); a 3xx answer points to `/elsewhere`. Requests are kept in `received`, in
arrival order, bodies as text.
"""

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

# A signing secret for tests (whsec_ + base64 of 24 bytes).
TEST_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: str
    at: float  # time.monotonic()

    def json(self) -> Any:
        return orjson.loads(self.body)


class WebhookReceiver:
    """Serve on a free loopback port until the block ends."""

    def __init__(self, answers: Iterable[int] = (), default: int = 200) -> None:
        self.answers = list(answers)
        self.default = default
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def _answer(self, request: Received) -> int:
        with self._lock:
            self.received.append(request)
            return self.answers.pop(0) if self.answers else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                code = receiver._answer(Received(self.path, headers, body, time.monotonic()))
                self.send_response(code)
                if 300 <= code < 400:  # a redirect a sender must not follow
                    self.send_header("location", "/elsewhere")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test reads `received`

        return Handler

    def __enter__(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
