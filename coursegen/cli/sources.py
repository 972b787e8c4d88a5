"""Upload, list and delete the source documents courses are grounded in."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from coursegen.cli._app import ApiKeyOpt, ServerOpt, app, console, session

sources_app = typer.Typer(help="Manage source documents (PDF, DOCX, Markdown, HTML, text).")
app.add_typer(sources_app, name="sources")
FileArg = Annotated[
    list[Path], typer.Argument(exists=True, dir_okay=False, help="Files to upload.")
]


def describe(source: dict[str, object]) -> str:
    """One line about an uploaded source."""
    pages = f", {source['pages']} pages" if source.get("pages") else ""
    return (
        f"[bold]{source['id']}[/] {escape(str(source['title']))} "
        f"({source['kind']}{pages}, {source['chunks']} chunks)"
    )


@sources_app.command("add")
def add(files: FileArg, server: ServerOpt = None, api_key: ApiKeyOpt = None) -> None:
    """Upload files; prints each one's id (pass it to a course's `sources`)."""
    with session(server, api_key) as client:
        for file in files:
            console.print(describe(client.add_source(file)))


@sources_app.command("list")
def list_sources(server: ServerOpt = None, api_key: ApiKeyOpt = None) -> None:
    """List your sources, newest first."""
    with session(server, api_key) as client:
        items = client.sources()["items"]
    table = Table("id", "title", "kind", "pages", "chunks")
    for s in items:
        pages = str(s["pages"] or "—")
        table.add_row(s["id"], escape(s["title"]), s["kind"], pages, str(s["chunks"]))
    console.print(table)


@sources_app.command("rm")
def remove(
    source_ids: Annotated[list[str], typer.Argument(help="Source ids.")],
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
) -> None:
    """Delete sources with their chunks and index entries."""
    with session(server, api_key) as client:
        for source_id in source_ids:
            client.delete_source(source_id)
            console.print(f"Deleted {source_id}")
