"""Run the coursegen service in-process on a free loopback port, in a background thread."""

import socket
import threading
import time
from typing import Any

import uvicorn

from coursegen.settings import Settings, get_settings


class EmbeddedServer:
    """Serve an ASGI app (default: the coursegen app) on 127.0.0.1:<free port> inside `with`.

    The app's lifespan runs as under `coursegen serve`, so jobs are durable in the configured
    store: a job left unfinished when the block ends resumes the next time the service starts.
    """

    def __init__(
        self,
        app: Any | None = None,
        *,
        settings: Settings | None = None,
        host: str = "127.0.0.1",
        log_level: str = "warning",
        start_timeout_s: float = 30.0,
    ) -> None:
        if app is None:
            from coursegen.server.app import create_app

            # The app's host setting decides whether API keys are required and which Host
            # headers it answers: here that is the address it binds, not COURSEGEN_HOST (the
            # address `coursegen serve` binds), which would refuse a loopback service run
            # without keys when COURSEGEN_HOST names a network address.
            base = settings or get_settings()
            app = create_app(base.model_copy(update={"host": host}))
        self.app, self.host, self.port = app, host, 0
        self.start_timeout_s = start_timeout_s
        self._config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "EmbeddedServer":
        sock = socket.socket()
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        self._server = server = uvicorn.Server(self._config)
        # Off the main thread uvicorn installs no signal handlers: Ctrl-C stays the caller's.
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="coursegen-embedded", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout_s
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the embedded coursegen service did not start (see the log)")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Shut down (the lifespan hands unfinished jobs back to the store) and wait."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)

    def __enter__(self) -> "EmbeddedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
