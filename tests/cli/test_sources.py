"""Test `coursegen sources add|list|rm` and `generate --source` against the real app."""

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from coursegen.cli import app
from coursegen.client import CourseClient
from tests.support.documents import MARKDOWN, make_pdf
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import ScriptedLLM


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_sources_add_list_rm(live_app: LiveApp, tmp_path: Path) -> None:
    pdf = tmp_path / "biology.pdf"
    pdf.write_bytes(make_pdf(title="Cell biology"))
    added = invoke("sources", "add", str(pdf), "--server", live_app.url)
    assert added.exit_code == 0, added.output
    assert "Cell biology" in added.output and "2 pages" in added.output
    with CourseClient(live_app.url) as client:
        [source] = client.sources()["items"]
    assert source["id"] in added.output
    listed = invoke("sources", "list", "--server", live_app.url)
    assert source["id"] in listed.output and "Cell biology" in listed.output
    removed = invoke("sources", "rm", source["id"], "--server", live_app.url)
    assert removed.exit_code == 0
    with CourseClient(live_app.url) as client:
        assert client.sources() == {"items": []}
    again = invoke("sources", "rm", source["id"], "--server", live_app.url)
    assert again.exit_code != 0 and "404" in again.output


def test_generate_with_a_source_grounds_the_course(
    live_app: LiveApp, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    notes = tmp_path / "ocean.md"
    notes.write_text(MARKDOWN, encoding="utf-8")
    out = tmp_path / "course.json"
    result = invoke(
        "generate",
        "Ocean currents and plankton",
        "--language",
        "en",
        "--themes",
        "1",
        "--topics",
        "1",
        "--source",
        str(notes),
        "--grounding",
        "strict",
        "--server",
        live_app.url,
        "--output",
        str(out),
    )
    assert result.exit_code == 0, result.output
    [content] = scripted_llm.calls_for("TopicContent")
    assert content.data["passages"], "the lesson prompt got no passages"
    assert "Write only what the passages support" in content.system
    saved = json.loads(out.read_text(encoding="utf-8"))
    course = saved.get("course", saved)
    [citation] = course["themes"][0]["topics"][0]["citations"]
    assert citation["title"] == "Ocean currents"
