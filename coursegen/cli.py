"""Command line: `serve` runs the HTTP service; `generate`, `watch`, `status`, `export` use it.

Without `--server` the client commands run the service in-process on a free loopback port
(configured like `coursegen serve`, from COURSEGEN_* variables), so a course can be generated
with no server running.
"""

import json
import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from coursegen.client import (
    CourseAPIError,
    CourseClient,
    CourseClientError,
    Event,
    ExportFormat,
)

app = typer.Typer(help="Generate educational courses with an LLM.", no_args_is_help=True)
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

STAGES = ("outline", "topics", "content", "polish")


class Format(StrEnum):
    """What to save: the course as JSON, or an export the server renders."""

    json = "json"
    md = "md"
    html = "html"
    scorm = "scorm"
    imscc = "imscc"


SUFFIX = {"json": "json", "md": "md", "html": "html", "scorm": "zip", "imscc": "imscc"}

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
    Path | None, typer.Option("--output", "-o", help="File to save (default <slug>.<format>).")
]


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

    from coursegen.chains.models import ProviderConfigError
    from coursegen.server.app import create_app
    from coursegen.server.settings import get_settings

    settings = get_settings()
    try:
        application = create_app(settings)
    except ProviderConfigError as exc:
        typer.secho(f"coursegen cannot start: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc
    from coursegen.server.logs import configure_logging

    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=10,
        log_config=configure_logging(settings.log_level),
    )


# --- plumbing -------------------------------------------------------------------------------


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
    from coursegen.chains.models import ProviderConfigError
    from coursegen.server.embedded import EmbeddedServer
    from coursegen.server.settings import Settings

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


def slug(name: str) -> str:
    return re.sub(r"\W+", "-", name.casefold()).strip("-_")[:60] or "course"


def save(client: CourseClient, snapshot: dict[str, Any], fmt: Format, path: Path | None) -> None:
    """Write the finished course as JSON, or the server's export of it."""
    course = snapshot.get("course") or {}
    path = path or Path(f"{slug(course.get('course_name', ''))}.{SUFFIX[fmt.value]}")
    if fmt is Format.json:
        data = json.dumps(course, ensure_ascii=False, indent=2).encode()
    else:
        data = client.export(snapshot["id"], cast(ExportFormat, fmt.value))
    path.write_bytes(data)
    console.print(f"Saved [bold]{escape(str(path))}[/] ({len(data):,} bytes)")


def finished(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot of a completed job; a failed or cancelled one is an error."""
    if snapshot["status"] == "completed":
        return snapshot
    error = snapshot.get("error") or {}
    reason = f": {error.get('message')}" if error.get("message") else ""
    raise fail(f"job {snapshot['id']} {snapshot['status']}{reason}")


# --- following a job ------------------------------------------------------------------------


class ProgressView:
    """One bar per stage (LLM calls done/total) and a line naming what is being written."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), console=console
        )
        self.tasks: dict[str, TaskID] = {
            s: self.progress.add_task(s, total=1 if s == "outline" else None) for s in STAGES
        }
        self.line = "waiting for the job to start…"
        self.themes: list[str] = []
        self.topics: dict[int, list[str]] = {}
        self.outline: dict[str, Any] | None = None
        self.live = Live(get_renderable=self.render, console=console, refresh_per_second=8)

    def render(self) -> RenderableType:
        return Group(self.progress, Text(self.line, style="cyan", overflow="ellipsis"))

    def title(self, theme: int, topic: int | None = None) -> str:
        name = self.themes[theme] if theme < len(self.themes) else f"theme {theme + 1}"
        if topic is None:
            return name
        titles = self.topics.get(theme, [])
        return f"{name} › {titles[topic] if topic < len(titles) else f'topic {topic + 1}'}"

    def apply(self, event: Event) -> None:
        kind, data = event["type"], event["data"]
        if kind == "progress":
            for stage, counts in data["stages"].items():
                if stage in self.tasks:
                    total = counts["total"] or None
                    self.progress.update(self.tasks[stage], completed=counts["done"], total=total)
        elif kind in ("outline", "review"):
            self.outline = data["outline"]
            self.themes = [t["title"] for t in data["outline"]["themes"]]
            self.line = "outline ready" if kind == "outline" else "the outline awaits review"
        elif kind == "topics":
            self.topics[data["theme"]] = [t["title"] for t in data["topics"]["topics"]]
            self.line = f"planned the topics of {self.title(data['theme'])}"
        elif kind == "token":
            verb = "writing" if data["stage"] == "content" else "polishing"
            self.line = f"{verb}: {self.title(data['theme'], data['topic'])}"
        elif kind == "error":
            where = f"{self.title(data['theme'], data['topic'])}: " if "topic" in data else ""
            self.live.console.print(f"[red]{escape(where + str(data.get('message')))}[/]")
        elif kind in ("status", "end"):
            self.line = f"job {data['status']}" if kind == "status" else "done"

    def retrying(self, failures: int, last: int, error: Exception) -> None:
        self.live.console.print(
            f"[yellow]connection lost ({escape(str(error) or type(error).__name__)}); "
            f"resuming after event {last} (attempt {failures})[/]"
        )

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the live display while asking the person something."""
        self.live.stop()
        try:
            yield
        finally:
            self.live.start()


def show_outline(outline: dict[str, Any]) -> None:
    table = Table("#", "theme", "description", title="Outline", title_justify="left")
    for i, theme in enumerate(outline.get("themes", []), 1):
        table.add_row(str(i), escape(theme["title"]), escape(theme.get("description", "")))
    console.print(table)


def edit_json(data: Any) -> str | None:
    """Open `data` as JSON in $VISUAL / $EDITOR; the edited text, or None if unchanged."""
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "outline.json"
        path.write_text(text, encoding="utf-8")
        subprocess.run([*editor, str(path)], check=True)
        edited = path.read_text(encoding="utf-8")
    return None if edited == text else edited


def review(
    client: CourseClient, job_id: str, outline: dict[str, Any], outline_file: Path | None
) -> None:
    """Approve the outline, send an edited one (from $EDITOR or --outline-file), or cancel."""
    if outline_file is not None:
        try:
            edited = json.loads(outline_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise fail(f"{outline_file} is not valid JSON: {exc}") from exc
        client.review(job_id, outline=edited)
        console.print(f"Sent the outline from {escape(str(outline_file))}")
        return
    show_outline(outline)
    while True:
        choice = typer.prompt(
            "Approve (y), edit in $EDITOR (e) or cancel the job (c)?",
            default="y",
            type=Literal["y", "e", "c"],
            show_choices=False,
        )
        if choice == "c":
            client.cancel(job_id)
            return
        if choice == "y":
            client.review(job_id)
            return
        try:
            text = edit_json(outline)
            if text is None:
                console.print("The outline was not changed.")
                continue
            client.review(job_id, outline=json.loads(text))
            return
        except (OSError, subprocess.CalledProcessError) as exc:
            console.print(f"[red]the editor failed: {escape(str(exc))}[/]")
        except ValueError as exc:
            console.print(f"[red]not valid JSON: {escape(str(exc))}[/]")
        except CourseAPIError as exc:
            console.print(f"[red]the server refused the outline: {escape(str(exc))}[/]")


def interrupted(client: CourseClient, job_id: str, server: str | None) -> typer.Exit:
    """Ctrl-C: cancel the job, or leave it running and say how to re-attach."""
    try:
        choice = typer.prompt(
            "\nInterrupted. Cancel the job (c) or leave it running (l)?",
            default="l",
            type=Literal["c", "l"],
            show_choices=False,
        )
    except typer.Abort:
        choice = "l"
    if choice == "c":
        client.cancel(job_id)
        console.print(f"Cancelled job {job_id}.")
        return typer.Exit(130)
    where = f" --server {server}" if server else ""
    note = "" if server else " (it goes on when the in-process service starts again)"
    console.print(f"Job {job_id} is left running{note}. Re-attach with:", soft_wrap=True)
    console.print(f"  coursegen watch {job_id}{where}", soft_wrap=True)
    return typer.Exit(130)


def follow(
    client: CourseClient, job_id: str, server: str | None, outline_file: Path | None = None
) -> dict[str, Any]:
    """Show the job's progress until its run ends (answering a review); return its snapshot."""
    view = ProgressView()
    with view.live:
        try:
            for event in client.events(job_id, on_retry=view.retrying):
                view.apply(event)
                if event["type"] == "status" and event["data"]["status"] == "awaiting_review":
                    snapshot = client.get(job_id)  # a replayed pause may be long over
                    if snapshot["status"] == "awaiting_review":
                        with view.paused():
                            outline = view.outline or {"themes": snapshot["course"]["themes"]}
                            review(client, job_id, outline, outline_file)
        except (KeyboardInterrupt, typer.Abort):
            view.live.stop()
            raise interrupted(client, job_id, server) from None
    if not console.is_terminal:
        console.line()  # a live display ends its last line only on a terminal
    return client.get(job_id)


# --- commands -------------------------------------------------------------------------------


@app.command()
def generate(
    name: Annotated[str, typer.Argument(help="The course's name.")],
    description: Annotated[str, typer.Option(help="What the course is about.")] = "",
    requirements: Annotated[str, typer.Option(help="Audience, level, focus, format.")] = "",
    language: Annotated[
        str | None, typer.Option(help="ISO 639-1 code (ru, en, …); unset: detected.")
    ] = None,
    themes: Annotated[int | None, typer.Option(help="Number of themes (1–12).")] = None,
    topics: Annotated[int | None, typer.Option(help="Topics per theme (1–10).")] = None,
    review_outline: Annotated[
        bool, typer.Option("--review", help="Show the outline and ask before writing.")
    ] = False,
    outline_file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Continue with this outline (JSON)."),
    ] = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="What to save.")] = Format.json,
) -> None:
    """Generate a course, showing its progress, and save it."""
    options = {"themes": themes, "topics_per_theme": topics}
    request: dict[str, Any] = {
        "course_name": name,
        "description": description,
        "requirements": requirements,
        "options": {k: v for k, v in options.items() if v is not None},
    }
    if review_outline or outline_file is not None:
        request["options"]["review_outline"] = True
    if language:
        request["language"] = language
    with session(server, api_key) as client:
        job = client.create(request)
        console.print(f"Job [bold]{job['id']}[/]: {escape(name)}")
        snapshot = finished(follow(client, job["id"], server, outline_file))
        save(client, snapshot, fmt, output or Path(f"{slug(name)}.{SUFFIX[fmt.value]}"))


@app.command()
def watch(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = None,
    fmt: Annotated[
        Format | None, typer.Option("--format", "-f", help="Save the course when it is done.")
    ] = None,
) -> None:
    """Re-attach to a job: its progress from the start, then live, until it ends."""
    with session(server, api_key) as client:
        course = client.get(job_id).get("course") or {}  # fails fast: unknown job, no server
        name = course.get("course_name")
        console.print(f"Job [bold]{job_id}[/]" + (f": {escape(name)}" if name else ""))
        snapshot = finished(follow(client, job_id, server))
        console.print(f"Job {job_id} completed.")
        if output is not None or fmt is not None:
            save(client, snapshot, fmt or Format.json, output)


@app.command()
def status(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw snapshot.")] = False,
) -> None:
    """Show a job's status, progress and course so far."""
    with session(server, api_key) as client:
        snapshot = client.get(job_id)
    if as_json:
        console.print_json(data=snapshot)
        return
    course = snapshot.get("course") or {}
    topics = [t for theme in course.get("themes", []) for t in theme.get("topics", [])]
    written = sum(1 for t in topics if t.get("polished"))
    progress, usage = snapshot["progress"], snapshot["usage"]["total"]
    table = Table(show_header=False, box=None)
    table.add_row("job", snapshot["id"])
    table.add_row("course", escape(course.get("course_name") or "—"))
    table.add_row("status", f"[bold]{snapshot['status']}[/]")
    table.add_row("stage", snapshot["stage"] or "—")
    table.add_row("progress", f"{progress['done']}/{progress['total']} LLM calls")
    table.add_row(
        "content", f"{len(course.get('themes', []))} themes, {written}/{len(topics)} topics"
    )
    table.add_row("tokens", f"{usage['total_tokens']:,} in {usage['calls']} calls")
    if snapshot.get("error"):
        table.add_row("error", f"[red]{escape(str(snapshot['error'].get('message')))}[/]")
    console.print(table)


@app.command()
def export(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="File format.")] = Format.md,
    output: OutputOpt = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
) -> None:
    """Save a finished course: Markdown, HTML, SCORM, IMS Common Cartridge, or JSON."""
    with session(server, api_key) as client:
        save(client, finished(client.get(job_id)), fmt, output)


if __name__ == "__main__":
    app()
