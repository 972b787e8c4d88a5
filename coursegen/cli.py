"""Command line: `coursegen serve` runs the HTTP service."""

from typing import Annotated

import typer

from coursegen.chains.models import ProviderConfigError

app = typer.Typer(help="Generate educational courses with an LLM.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """coursegen: write whole courses with an LLM and stream them while they are written."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default COURSEGEN_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default COURSEGEN_PORT).")] = None,
) -> None:
    """Run the HTTP service (LangServe /course, jobs API /courses, /healthz)."""
    import uvicorn

    from coursegen.server.app import create_app
    from coursegen.server.settings import get_settings

    settings = get_settings()
    try:
        application = create_app(settings)
    except ProviderConfigError as exc:
        typer.secho(f"coursegen cannot start: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    app()
