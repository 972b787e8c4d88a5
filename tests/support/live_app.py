"""Run an ASGI app under a real uvicorn server in a background thread, for HTTP-level tests."""

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import uvicorn

T = TypeVar("T")


class _Server(uvicorn.Server):
    """A uvicorn server that remembers the event loop it serves on."""

    loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)


class LiveApp:
    """Serve `app` on 127.0.0.1:<free port> until the block ends (lifespan included).

    The app runs on its own event loop in another thread. Its stores hold asyncio locks and
    connections bound to that loop: a test touches them only through `call()`, never by
    awaiting them from its own loop (that can hang).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def call(self, work: Callable[[], Awaitable[T]], timeout: float = 30) -> T:
        """Run `work()` on the app's event loop and return its result (to the test's loop)."""
        assert self._server is not None and self._server.loop is not None, "not started"

        async def run() -> T:
            return await work()

        future = asyncio.run_coroutine_threadsafe(run(), self._server.loop)
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout)

    def __enter__(self) -> "LiveApp":
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", timeout_graceful_shutdown=3)
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=15)
