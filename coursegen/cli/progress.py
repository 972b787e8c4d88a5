"""Follow a job in the terminal: progress bars per stage, outline review, Ctrl-C handling."""

import json
import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from coursegen.cli._app import console, fail
from coursegen.client import CourseAPIError, CourseClient, Event
from coursegen.names import PROGRESS_STAGES


class ProgressView:
    """One bar per stage (LLM calls done/total) and a line naming what is being written."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), console=console
        )
        self.tasks: dict[str, TaskID] = {
            s: self.progress.add_task(s, total=1 if s == "outline" else None)
            for s in PROGRESS_STAGES
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
        elif kind == "review" and "coverage" in data:  # the plan's requirements check
            missing = data.get("uncovered") or []
            self.line = (
                f"requirements not covered: {'; '.join(missing)}"
                if missing
                else ("every requirement item is covered")
            )
        elif kind in ("outline", "review"):
            self.outline = data["outline"]
            self.themes = [t["title"] for t in data["outline"]["themes"]]
            self.line = "outline ready" if kind == "outline" else "the outline awaits review"
        elif kind == "topics":
            self.topics[data["theme"]] = [t["title"] for t in data["topics"]["topics"]]
            self.line = f"planned the topics of {self.title(data['theme'])}"
        elif kind == "token":
            self.line = self.writing(data)
        elif kind == "error":
            where = f"{self.title(data['theme'], data['topic'])}: " if "topic" in data else ""
            self.live.console.print(f"[red]{escape(where + str(data.get('message')))}[/]")
        elif kind in ("status", "end"):
            self.line = f"job {data['status']}" if kind == "status" else "done"

    def writing(self, token: dict[str, Any]) -> str:
        """What a token event says is being written."""
        stage = token["stage"]
        if stage == "outline":
            return "writing the outline"
        if stage == "topics":
            return f"planning the topics of {self.title(token['theme'])}"
        verb = "writing" if stage == "content" else "polishing"
        return f"{verb}: {self.title(token['theme'], token['topic'])}"

    def retrying(self, failures: int, last: int, error: Exception) -> None:
        self.live.console.print(
            f"[yellow]connection lost ({escape(str(error) or type(error).__name__)}); "
            f"resuming after event {last} (attempt {failures})[/]"
        )

    def stop(self) -> None:
        """Stop the live display, ending its last line (on a terminal it ends it itself)."""
        self.live.stop()
        if not console.is_terminal:
            console.line()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the live display while asking the person something."""
        self.stop()
        yield  # not restarted after an error: the run is over, its last state was shown
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
        choice = ask_review(job_id)
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


def ask_review(job_id: str) -> str:
    """The person's answer to the review; no input at all (EOF) is an error, not a Ctrl-C."""
    try:
        return str(
            typer.prompt(
                "Approve (y), edit in $EDITOR (e) or cancel the job (c)?",
                default="y",
                type=Literal["y", "e", "c"],
                show_choices=False,
            )
        )
    except typer.Abort as exc:
        # click turns both EOF and Ctrl-C into Abort; only the EOF is kept as its context.
        if not isinstance(exc.__context__, EOFError):
            raise
        console.line()
        raise fail(
            f"job {job_id} awaits a review of its outline, and there is no one to answer "
            f"(no terminal input). Approve or edit it with POST /courses/{job_id}/review, "
            f"`coursegen watch {job_id}` on a terminal, or --outline-file; "
            "or generate without --review"
        ) from None


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
        view.stop()
    return client.get(job_id)
