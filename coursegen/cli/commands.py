"""Generate a course, re-attach to one, show its status, export it."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from coursegen.cli._app import (
    ApiKeyOpt,
    ForceOpt,
    Format,
    OutputOpt,
    ServerOpt,
    app,
    console,
    finished,
    output_path,
    save,
    session,
)
from coursegen.cli.progress import follow


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
    source: Annotated[
        list[Path] | None,
        typer.Option(
            exists=True, dir_okay=False, help="Ground the course in this file (repeatable)."
        ),
    ] = None,
    grounding: Annotated[
        str, typer.Option(help="With sources: prefer (default) or strict.")
    ] = "prefer",
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="What to save.")] = "json",
    force: ForceOpt = False,
) -> None:
    """Generate a course, showing its progress, and save it."""
    path = output_path(name, fmt, output, force)
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
        if source:
            request["sources"] = [client.add_source(file)["id"] for file in source]
            request["options"]["grounding"] = grounding
        job = client.create(request)
        console.print(f"Job [bold]{job['id']}[/]: {escape(name)}")
        snapshot = finished(follow(client, job["id"], server, outline_file))
        save(client, snapshot, fmt, path, force)


@app.command()
def watch(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = None,
    fmt: Annotated[
        Format | None, typer.Option("--format", "-f", help="Save the course when it is done.")
    ] = None,
    force: ForceOpt = False,
) -> None:
    """Re-attach to a job: its progress from the start, then live, until it ends."""
    with session(server, api_key) as client:
        course = client.get(job_id).get("course") or {}  # fails fast: unknown job, no server
        name = course.get("course_name")
        saving, fmt = output is not None or fmt is not None, fmt or "json"
        if output is not None:
            output_path("", fmt, output, force)  # refused now, not after the whole course
        console.print(f"Job [bold]{job_id}[/]" + (f": {escape(name)}" if name else ""))
        snapshot = finished(follow(client, job_id, server))
        console.print(f"Job {job_id} completed.")
        if saving:
            name = (snapshot.get("course") or {}).get("course_name", "")
            save(client, snapshot, fmt, output_path(name, fmt, output, force), force)


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
    fmt: Annotated[Format, typer.Option("--format", "-f", help="File format.")] = "md",
    output: OutputOpt = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    force: ForceOpt = False,
) -> None:
    """Save a finished course: Markdown, HTML, SCORM, IMS Common Cartridge, or JSON."""
    with session(server, api_key) as client:
        snapshot = finished(client.get(job_id))
        name = (snapshot.get("course") or {}).get("course_name", "")
        save(client, snapshot, fmt, output_path(name, fmt, output, force), force)


@app.command()
def report(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole report.")] = False,
) -> None:
    """Show the quality report of a finished course: shape, language, overlap and more."""
    with session(server, api_key) as client:
        data = client.report(job_id)
    if as_json:
        console.print_json(data=data)
        return
    table = Table(show_header=False, box=None)
    for name, value in data.get("summary", {}).items():
        table.add_row(name, escape(value))
    console.print(table)
