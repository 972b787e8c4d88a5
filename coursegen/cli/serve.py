"""Run the HTTP service."""

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated

import typer

from coursegen.cli._app import app


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default COURSEGEN_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default COURSEGEN_PORT).")] = None,
) -> None:
    """Run the HTTP service (LangServe /course, jobs API /courses, /healthz)."""
    import uvicorn

    from coursegen.providers.loading import ProviderConfigError
    from coursegen.server.app import create_app
    from coursegen.settings import get_settings

    base = get_settings()
    # The bind address decides whether API keys are required, so it goes into the settings.
    settings = base.model_copy(update={"host": host or base.host, "port": port or base.port})
    try:
        application = create_app(settings)
    except ProviderConfigError as exc:
        typer.secho(f"coursegen cannot start: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc
    from coursegen.server.logs import configure_logging

    with stopped_cleanly():
        uvicorn.run(
            application,
            host=settings.host,
            port=settings.port,
            timeout_graceful_shutdown=10,
            # The levels are all in our log config. uvicorn's `log_level` would set them again
            # after it, uvicorn.access (every URL, query string included) to info among them.
            log_config=configure_logging(settings.log_level),
            log_level=None,
            access_log=False,
        )


class _Stop(Exception):
    """SIGTERM arrived (or was raised again by uvicorn after its graceful shutdown)."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


@contextmanager
def stopped_cleanly() -> Iterator[None]:
    """Make Ctrl-C and SIGTERM a normal end of `serve`: exit status 0.

    After shutting down, uvicorn raises the signal again with the handlers it found: SIGTERM
    then killed the process (status 143, `make run` printed "Error 143") and SIGINT became
    a KeyboardInterrupt. Both now end here, once the server has stopped.
    """
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
