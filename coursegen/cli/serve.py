"""Run the HTTP service."""

import asyncio
import logging.config
import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coursegen.cli._app import app

if TYPE_CHECKING:
    from coursegen.settings import Settings


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default COURSEGEN_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default COURSEGEN_PORT).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Worker processes (default COURSEGEN_WORKERS, else one per core; 1 with the "
            "local model).",
        ),
    ] = None,
) -> None:
    """Run the HTTP service (LangServe /course, jobs API /courses, /healthz)."""
    from coursegen.providers.loading import ProviderConfigError
    from coursegen.server.core.logs import configure_logging
    from coursegen.server.workers import worker_count
    from coursegen.settings import get_settings

    base = get_settings()
    # The bind address decides whether API keys are required, so it goes into the settings.
    settings = base.model_copy(
        update={
            "host": host or base.host,
            "port": port or base.port,
            "workers": workers or base.workers,
        }
    )
    # JSON from the first line: what runs before uvicorn (the workers' preparation) logs too.
    logging.config.dictConfig(configure_logging(settings.log_level))
    try:
        count = worker_count(settings)
        if count == 1:
            _serve_one(settings)
        else:
            _serve_many(settings, count)
    except ProviderConfigError as exc:
        typer.secho(f"coursegen cannot start: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc


def _uvicorn_options(settings: "Settings") -> dict[str, Any]:
    from coursegen.server.core.logs import configure_logging

    return {
        "host": settings.host,
        "port": settings.port,
        "timeout_graceful_shutdown": 10,
        # The levels are all in our log config. uvicorn's `log_level` would set them again
        # after it, uvicorn.access (every URL, query string included) to info among them.
        "log_config": configure_logging(settings.log_level),
        "log_level": None,
        "access_log": False,
    }


def _serve_one(settings: "Settings") -> None:
    """One process: the app built here, its lifespan owning the store."""
    import uvicorn

    from coursegen.server.app import create_app

    application = create_app(settings)
    with stopped_cleanly():
        uvicorn.run(application, **_uvicorn_options(settings))


def _serve_many(settings: "Settings", count: int) -> None:
    """`count` uvicorn workers on one socket; each builds the app from the environment."""
    import uvicorn

    from coursegen.server.workers import check_model, prepare, uses_local_model

    check_model(settings)
    if uses_local_model(settings):
        typer.secho(
            f"each of the {count} workers loads its own copy of the local model",
            fg=typer.colors.YELLOW,
            err=True,
        )
    try:
        asyncio.run(prepare(settings))
    except RuntimeError as exc:  # a network bind without API keys
        typer.secho(f"coursegen cannot start: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc
    # The workers are spawned: they read their settings from the environment, as this
    # process did, plus what the command line changed and where to find each other.
    with tempfile.TemporaryDirectory(prefix="coursegen-") as peers:
        os.environ.update(
            COURSEGEN_HOST=settings.host,
            COURSEGEN_PORT=str(settings.port),
            COURSEGEN_WORKERS=str(count),
            COURSEGEN_PEER_DIR=peers,
        )
        with stopped_cleanly():
            uvicorn.run(
                "coursegen.server.app:create_app",
                factory=True,
                workers=count,
                **_uvicorn_options(settings),
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
