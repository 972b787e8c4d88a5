"""Test the `coursegen` command line against the real app (or in-process), scripted LLM."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook
from typer.testing import CliRunner, Result

import coursegen.cli._app
from coursegen.cli import app
from coursegen.client import CourseClient
from coursegen.domain import Course
from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.support.flaky import FlakyTransport
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import ScriptedLLM

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def live_app(tmp_path: Path, scripted_llm: ScriptedLLM) -> Iterator[LiveApp]:
    settings = Settings(
        base_url=scripted_llm.base_url,
        model="openai:scripted",
        data_dir=tmp_path / "data",
        llm_max_retries=0,
    )
    with LiveApp(create_app(settings)) as live:
        yield live


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COURSEGEN_SERVER", "COURSEGEN_API_KEY", "VISUAL", "EDITOR"):
        monkeypatch.delenv(name, raising=False)


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)


def course_args(server: str, *extra: str) -> list[str]:
    return [
        "generate",
        "Python basics",
        "--description",
        "A first course",
        "--language",
        "en",
        "--themes",
        "2",
        "--topics",
        "2",
        "--server",
        server,
        *extra,
    ]


def finished_job(url: str, **options: Any) -> str:
    body = {"course_name": "Python basics", "language": "en", "options": options}
    with CourseClient(url) as client:
        job = client.create(body)["id"]
        assert client.wait(job)["status"] == "completed"
    return str(job)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_generate_shows_progress_and_saves_the_course(live_app: LiveApp, tmp_path: Path) -> None:
    out = tmp_path / "course.json"
    result = invoke(*course_args(live_app.url, "-o", str(out)))
    assert result.exit_code == 0, result.output
    course = Course.model_validate(json.loads(out.read_text()))
    assert [len(theme.topics) for theme in course.themes] == [2, 2]
    assert all(t.content and t.polished for theme in course.themes for t in theme.topics)
    lines = result.stdout.splitlines()
    for stage, total in (("outline", 1), ("topics", 2), ("content", 4)):
        bar = next(line for line in lines if line.startswith(stage))
        assert "━" in bar and f"{total}/{total}" in bar, bar
    assert any(line.startswith("polish") and "━" in line for line in lines)
    assert f"Saved {out}" in result.stdout
    with CourseClient(live_app.url) as client:
        [job] = client.list()["items"]
    assert result.stdout.startswith(f"Job {job['id']}: Python basics")
    assert job["status"] == "completed" and job["course"] == json.loads(out.read_text())


def test_generate_survives_dropped_connections(
    live_app: LiveApp, scripted_llm: ScriptedLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted_llm.token_s = 0.003
    flaky = FlakyTransport(cuts=[(5, 12), (9, 0)])

    def client(url: str, api_key: str | None = None) -> CourseClient:
        return CourseClient(url, api_key=api_key, transport=flaky, backoff_s=0.01)

    monkeypatch.setattr(coursegen.cli._app, "CourseClient", client)
    out = tmp_path / "course.json"
    result = invoke(*course_args(live_app.url, "-o", str(out)))
    assert result.exit_code == 0, result.output
    assert "connection lost (scripted drop); resuming after event 5 (attempt 1)" in result.stdout
    assert "resuming after event 14 (attempt 1)" in result.stdout
    assert flaky.last_event_ids == ["0", "5", "14"]
    Course.model_validate(json.loads(out.read_text()))


def test_generate_with_review_edits_the_outline_in_the_editor(
    live_app: LiveApp, tmp_path: Path
) -> None:
    editor = tmp_path / "editor.sh"
    # Sleep first: click only takes the text back if the file's mtime changed.
    editor.write_text('#!/bin/sh\nsed -i \'s/"Theme 1"/"Intro"/\' "$1"\n')
    editor.chmod(0o755)
    out = tmp_path / "course.json"
    result = invoke(
        *course_args(live_app.url, "--review", "-o", str(out)),
        input="e\n",
        env={"EDITOR": str(editor)},
    )
    assert result.exit_code == 0, result.output
    assert "Outline" in result.stdout and "Theme 2" in result.stdout
    assert "Approve (y), edit in $EDITOR (e) or cancel the job (c)?" in result.stdout
    course = Course.model_validate(json.loads(out.read_text()))
    assert [t.title for t in course.themes] == ["Intro", "Theme 2"]


def test_generate_with_an_outline_file(live_app: LiveApp, tmp_path: Path) -> None:
    outline = tmp_path / "outline.json"
    outline.write_text(json.dumps({"themes": [{"title": "Only", "description": "One theme"}]}))
    out = tmp_path / "course.json"
    result = invoke(*course_args(live_app.url, "--outline-file", str(outline), "-o", str(out)))
    assert result.exit_code == 0, result.output
    course = Course.model_validate(json.loads(out.read_text()))
    assert [t.title for t in course.themes] == ["Only"] and len(course.themes[0].topics) == 2


@pytest.mark.parametrize(
    ("text", "error"),
    [("{not json", "is not valid JSON"), ('{"themes": []}', "the server answered 422: outline")],
)
def test_a_bad_outline_file_is_a_clear_error(
    live_app: LiveApp, tmp_path: Path, text: str, error: str
) -> None:
    outline = tmp_path / "outline.json"
    outline.write_text(text)
    result = invoke(*course_args(live_app.url, "--outline-file", str(outline)))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and error in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_generate_review_cancel(live_app: LiveApp, tmp_path: Path) -> None:
    out = tmp_path / "course.json"
    result = invoke(*course_args(live_app.url, "--review", "-o", str(out)), input="c\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: job ") and "cancelled" in result.stderr
    assert not out.exists()
    with CourseClient(live_app.url) as client:
        assert client.list()["items"][0]["status"] == "cancelled"


def test_generate_an_export_format_to_the_default_path(
    live_app: LiveApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(*course_args(live_app.url, "--format", "md"))
    assert result.exit_code == 0, result.output
    text = (tmp_path / "python-basics.md").read_text()
    assert "Theme 1" in text and "Theme 2" in text


def test_file_names_keep_the_course_name_and_match_the_server(
    live_app: LiveApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["generate", "Основы Python", "--themes", "1", "--topics", "1", "-f", "md"]
    result = invoke(*args, "--server", live_app.url)
    assert result.exit_code == 0, result.output
    assert "Тема 1" in (tmp_path / "основы-python.md").read_text()
    with CourseClient(live_app.url) as client:
        [job] = client.list()["items"]
    response = httpx.get(f"{live_app.url}/courses/{job['id']}/export", params={"format": "md"})
    disposition = response.headers["content-disposition"]
    assert disposition == (
        "attachment; filename=\"python.md\"; filename*=UTF-8''"
        "%D0%BE%D1%81%D0%BD%D0%BE%D0%B2%D1%8B-python.md"
    )
    result = invoke("export", job["id"], "-f", "scorm", "--server", live_app.url)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "основы-python.scorm12.zip").read_bytes()[:2] == b"PK"


def test_no_file_is_overwritten_without_force(live_app: LiveApp, tmp_path: Path) -> None:
    out = tmp_path / "course.html"
    out.write_text("mine")
    result = invoke(*course_args(live_app.url, "-f", "html", "-o", str(out)))
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"error: {out} exists: pass --force to overwrite it, or --output another file\n"
    )
    assert out.read_text() == "mine"
    with CourseClient(live_app.url) as client:
        assert client.list()["items"] == []  # refused before a course was paid for
    job = finished_job(live_app.url, themes=1, topics_per_theme=1)
    result = invoke("export", job, "-f", "html", "-o", str(out), "--server", live_app.url)
    assert result.exit_code == 1 and "exists: pass --force" in result.stderr
    assert out.read_text() == "mine"
    result = invoke(
        "export", job, "-f", "html", "-o", str(out), "--force", "--server", live_app.url
    )
    assert result.exit_code == 0, result.output
    assert "Theme 1" in out.read_text()
    result = invoke(*course_args(live_app.url, "-f", "html", "-o", str(out), "--force"))
    assert result.exit_code == 0, result.output
    assert "Theme 2" in out.read_text()


def test_review_without_anyone_to_answer_is_a_clear_error(
    live_app: LiveApp, tmp_path: Path
) -> None:
    out = tmp_path / "course.json"
    result = invoke(*course_args(live_app.url, "--review", "-o", str(out)), input="")
    assert result.exit_code == 1, result.output  # not 130: nobody pressed Ctrl-C
    with CourseClient(live_app.url) as client:
        [job] = client.list()["items"]
    assert job["status"] == "awaiting_review"  # nothing was approved for the person
    assert result.stderr.startswith(f"error: job {job['id']} awaits a review of its outline")
    assert (
        "--outline-file" in result.stderr and f"POST /courses/{job['id']}/review" in result.stderr
    )
    assert "Interrupted" not in result.stdout and not out.exists()
    assert "job awaiting_review\n" in result.stdout  # its own line, then the outline table
    assert "awaiting_reviewOutline" not in result.stdout


def test_generate_runs_the_service_in_process(
    scripted_llm: ScriptedLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COURSEGEN_BASE_URL", scripted_llm.base_url)
    monkeypatch.setenv("COURSEGEN_MODEL", "openai:scripted")
    monkeypatch.setenv("COURSEGEN_DATA_DIR", str(tmp_path / "data"))
    args = ["generate", "Python basics", "--language", "en", "--themes", "1", "--topics", "2"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    course = Course.model_validate(json.loads((tmp_path / "python-basics.json").read_text()))
    assert len(course.themes[0].topics) == 2
    assert (tmp_path / "data" / "coursegen.sqlite").exists()  # the in-process service's store
    assert len(scripted_llm.calls) == 1 + 1 + 2 + 2


def test_in_process_service_is_loopback_whatever_the_bind_setting_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # COURSEGEN_HOST is where `coursegen serve` binds; the in-process service binds loopback,
    # so a network address there must not make it demand API keys.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COURSEGEN_HOST", "0.0.0.0")
    monkeypatch.setenv("COURSEGEN_MODEL", "sandbox")
    monkeypatch.setenv("COURSEGEN_SANDBOX_TOKENS_PER_S", "0")
    monkeypatch.setenv("COURSEGEN_DATA_DIR", str(tmp_path / "data"))
    result = invoke("generate", "Python basics", "--themes", "1", "--topics", "1")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "python-basics.json").exists()


def test_status(live_app: LiveApp) -> None:
    job = finished_job(live_app.url, themes=1, topics_per_theme=2)
    result = invoke("status", job, "--server", live_app.url)
    assert result.exit_code == 0, result.output
    rows = dict(line.strip().split(None, 1) for line in result.stdout.splitlines())
    assert rows["job"] == job and rows["status"] == "completed"
    assert rows["course"] == "Python basics" and rows["content"] == "1 themes, 2/2 topics"
    raw = invoke("status", job, "--server", live_app.url, "--json")
    assert raw.exit_code == 0 and json.loads(raw.stdout)["last_event_id"] > 10


def test_report(live_app: LiveApp) -> None:
    job = finished_job(live_app.url, themes=1, topics_per_theme=2)
    result = invoke("report", job, "--server", live_app.url)
    assert result.exit_code == 0, result.output
    rows = dict(line.strip().split(None, 1) for line in result.stdout.splitlines())
    assert rows["Shape"] == "ok: asked 1×2, got 1×2"
    assert rows["Overlap"].endswith("0 pairs ≥ 0.80") and "Self-check" in rows
    raw = invoke("report", job, "--server", live_app.url, "--json")
    assert raw.exit_code == 0 and json.loads(raw.stdout)["shape"]["ok"] is True


def test_report_of_an_unfinished_job_is_one_red_line(live_app: LiveApp) -> None:
    with CourseClient(live_app.url) as client:
        body = {"course_name": "x", "language": "en", "options": {"review_outline": True}}
        job = client.create(body)["id"]
        assert client.wait(job)["status"] == "awaiting_review"
    result = invoke("report", job, "--server", live_app.url)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the server answered 409: job is awaiting_review")
    assert len(result.stderr.splitlines()) == 1


def test_status_of_an_unknown_job_is_one_red_line(live_app: LiveApp) -> None:
    result = invoke("status", "nope", "--server", live_app.url)
    assert result.exit_code == 1
    assert result.stderr == "error: the server answered 404: no course job nope\n"
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["status", "generate", "watch", "export"])
def test_unreachable_server_is_a_clear_error(command: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = invoke(command, "Python basics", "--server", url)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot reach {url}: ")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output


def test_invalid_request_is_a_clear_error(live_app: LiveApp) -> None:
    result = invoke("generate", "x", "--themes", "40", "--server", live_app.url)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the server answered 422: options.themes: ")


def test_watch_reattaches_and_saves(
    live_app: LiveApp, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.token_s = 0.003
    with CourseClient(live_app.url) as client:
        body = {"course_name": "Python basics", "language": "en"}
        job = client.create({**body, "options": {"themes": 2, "topics_per_theme": 2}})["id"]
        for event in client.events(job):
            if event["type"] == "content":
                break  # the job is well under way: detach
    out = tmp_path / "watched.json"
    result = invoke("watch", job, "--server", live_app.url, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"Job {job} completed." in result.stdout and "content" in result.stdout
    course = Course.model_validate(json.loads(out.read_text()))
    assert sum(len(theme.topics) for theme in course.themes) == 4


def test_export_command(live_app: LiveApp, tmp_path: Path) -> None:
    job = finished_job(live_app.url, themes=1, topics_per_theme=1)
    as_json = tmp_path / "c.json"
    result = invoke("export", job, "--format", "json", "-o", str(as_json), "--server", live_app.url)
    assert result.exit_code == 0, result.output
    assert Course.model_validate(json.loads(as_json.read_text())).themes[0].title == "Theme 1"
    html = tmp_path / "c.html"
    result = invoke("export", job, "-f", "html", "-o", str(html), "--server", live_app.url)
    assert result.exit_code == 0, result.output
    assert "<html" in html.read_text().lower() and "Theme 1" in html.read_text()


@pytest.mark.processes
@pytest.mark.parametrize("answer", ["c", "l"])
def test_ctrl_c_cancels_or_leaves_the_job(
    live_app: LiveApp, scripted_llm: ScriptedLLM, tmp_path: Path, answer: str
) -> None:
    scripted_llm.token_s = 0.02
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "coursegen.cli", *course_args(live_app.url, "-o", "c.json")]
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with CourseClient(live_app.url) as client:
            deadline = time.monotonic() + 60
            while not (items := client.list()["items"]) or items[0]["last_event_id"] < 5:
                assert time.monotonic() < deadline and proc.poll() is None, "no job started"
                time.sleep(0.05)
            job = items[0]["id"]
            time.sleep(0.3)  # the CLI is following the stream
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(input=f"{answer}\n", timeout=60)
            final = client.wait(job)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stdout + stderr
    assert "Interrupted. Cancel the job (c) or leave it running (l)?" in stdout
    if answer == "c":
        assert f"Cancelled job {job}." in stdout and final["status"] == "cancelled"
    else:
        assert f"coursegen watch {job} --server {live_app.url}" in stdout
        assert final["status"] == "completed"
    assert not (tmp_path / "c.json").exists()


@pytest.mark.processes
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_cleanly_on_ctrl_c_and_sigterm(
    scripted_llm: ScriptedLLM, tmp_path: Path, sig: signal.Signals
) -> None:
    port = closed_port()
    env = {
        **os.environ,
        "COURSEGEN_BASE_URL": scripted_llm.base_url,
        "COURSEGEN_MODEL": "openai:scripted",
        "COURSEGEN_DATA_DIR": str(tmp_path),
    }
    cmd = [sys.executable, "-m", "coursegen.cli", "serve", "--port", str(port)]
    # A session of its own: on a failure below, its workers are killed with it (killed alone,
    # serve would leave them to stop by themselves).
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline and proc.poll() is None, "the server did not start"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    # uvicorn raised the signal again after its shutdown: 143 for SIGTERM ("make: Error 143").
    assert proc.returncode == 0, output.decode()
    assert b"Traceback" not in output and b"Aborted" not in output


def test_keys_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from coursegen.settings import get_settings

    monkeypatch.setenv("COURSEGEN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        created = CliRunner().invoke(app, ["keys", "create", "alice", "--name", "lms"])
        assert created.exit_code == 0, created.output
        secret = created.output.strip().splitlines()[-1]
        assert secret.startswith("cgk_") and len(secret) > 40
        listed = CliRunner().invoke(app, ["keys", "list"])
        assert "alice" in listed.output and secret not in listed.output
        key_id = created.output.split()[1]
        assert CliRunner().invoke(app, ["keys", "revoke", key_id]).exit_code == 0
        again = CliRunner().invoke(app, ["keys", "revoke", key_id])
        assert again.exit_code == 1 and "no active key" in again.output
    finally:
        get_settings.cache_clear()


def test_progress_view_reads_the_requirements_check() -> None:
    from coursegen.cli.progress import ProgressView

    view = ProgressView()
    check = {"coverage": [], "uncovered": ["Reading documentation"], "revising": [2]}
    view.apply({"type": "review", "data": check})
    assert view.line == "requirements not covered: Reading documentation"
    assert view.outline is None  # not an outline review
    view.apply({"type": "review", "data": {"outline": {"themes": [{"title": "Intro"}]}}})
    assert view.themes == ["Intro"] and view.line == "the outline awaits review"


def test_keys_create_refuses_unsafe_owner_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coursegen.settings import get_settings

    monkeypatch.setenv("COURSEGEN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        refused = CliRunner().invoke(app, ["keys", "create", "acme:eu"])
        assert refused.exit_code == 1, refused.output
        assert (
            "invalid owner name 'acme:eu'" in refused.output and "letters, digits" in refused.output
        )
        assert "acme" not in CliRunner().invoke(app, ["keys", "list"]).output
    finally:
        get_settings.cache_clear()


def test_keys_create_with_a_webhook_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from coursegen.settings import get_settings

    monkeypatch.setenv("COURSEGEN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        url = "https://93.184.215.14/hooks"
        created = CliRunner().invoke(app, ["keys", "create", "alice", "--webhook-url", url])
        assert created.exit_code == 0, created.output
        lines = created.output.strip().splitlines()
        assert lines[1].startswith("cgk_") and "signing secret" in lines[2]
        signing = lines[3]
        assert signing.startswith("whsec_") and Webhook(signing)  # the library can sign with it
        refused = CliRunner().invoke(
            app, ["keys", "create", "bob", "--webhook-url", "http://127.0.0.1/hooks"]
        )
        assert refused.exit_code == 1 and "COURSEGEN_WEBHOOK_ALLOW_PRIVATE" in refused.output
        assert "bob" not in CliRunner().invoke(app, ["keys", "list"]).output
    finally:
        get_settings.cache_clear()
