"""Hold the CLI's Typer app, its shared options and the plumbing every command uses."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.markup import escape

from coursegen.client import CourseAPIError, CourseClient, CourseClientError
from coursegen.exports import export_filename
from coursegen.names import ExportName

app = typer.Typer(help="Generate educational courses with an LLM.", no_args_is_help=True)
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

Format = Literal["json", ExportName]
"""What to save: the course as JSON, or an export the server renders."""


ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="COURSEGEN_SERVER",
        help="Base URL of a coursegen server; unset: run the service in-process.",
    ),
]
ApiKeyOpt = Annotated[
    str | None, typer.Option("--api-key", envvar="COURSEGEN_API_KEY", help="Bearer token.")
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="File to save (default: named after the course)."),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite the output file if it exists.")]


@app.callback()
def main() -> None:
    """coursegen: write whole courses with an LLM and stream them while they are written."""


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one red line on stderr; return the Exit to raise."""
    errors.print(f"[bold red]error:[/] [red]{escape(message)}[/]")
    return typer.Exit(code)


@contextmanager
def session(server: str | None, api_key: str | None) -> Iterator[CourseClient]:
    """A client for `server`, or for the service run in-process; client errors → one line."""
    try:
        if server:
            with CourseClient(server, api_key=api_key) as client:
                yield client
            return
        with embedded() as url, CourseClient(url) as client:
            yield client
    except CourseAPIError as exc:
        raise fail(f"the server answered {exc}") from exc
    except CourseClientError as exc:
        raise fail(str(exc)) from exc


@contextmanager
def embedded() -> Iterator[str]:
    """Run the service in-process (configured from COURSEGEN_* like `serve`); yield its URL."""
    from coursegen.providers.loading import ProviderConfigError
    from coursegen.server.embedded import EmbeddedServer
    from coursegen.settings import Settings

    try:
        local = EmbeddedServer(settings=Settings())
    except ProviderConfigError as exc:
        raise fail(f"coursegen cannot start the service: {exc}", 2) from exc
    try:
        local.start()
    except RuntimeError as exc:
        raise fail(str(exc), 2) from exc
    try:
        yield local.url
    finally:
        local.stop()


def output_path(course_name: str, fmt: Format, path: Path | None, force: bool) -> Path:
    """Where to save: `path`, or the server's file name for the export; never an existing
    file unless `force` (checked before a course is generated, so no run is wasted)."""
    path = path or Path(export_filename(course_name, fmt))
    if path.exists() and not force:
        raise _exists(path)
    return path


def _exists(path: Path) -> typer.Exit:
    return fail(f"{path} exists: pass --force to overwrite it, or --output another file")


def save(
    client: CourseClient, snapshot: dict[str, Any], fmt: Format, path: Path, force: bool
) -> None:
    """Write the finished course as JSON, or the server's export of it."""
    if fmt == "json":
        course = snapshot.get("course") or {}
        data = json.dumps(course, ensure_ascii=False, indent=2).encode()
    else:
        data = client.export(snapshot["id"], fmt)
    try:
        with path.open("wb" if force else "xb") as file:
            file.write(data)
    except FileExistsError:  # created while the course was being written
        raise _exists(path) from None
    except OSError as exc:
        raise fail(f"cannot save {path}: {exc.strerror or exc}") from exc
    # Never wrapped: a path broken over two lines cannot be copied.
    console.print(f"Saved [bold]{escape(str(path))}[/] ({len(data):,} bytes)", soft_wrap=True)


def finished(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot of a completed job; a failed or cancelled one is an error."""
    if snapshot["status"] == "completed":
        return snapshot
    error = snapshot.get("error") or {}
    reason = f": {error.get('message')}" if error.get("message") else ""
    raise fail(f"job {snapshot['id']} {snapshot['status']}{reason}")
