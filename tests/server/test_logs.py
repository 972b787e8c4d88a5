"""Test the JSON log format, and what a real `coursegen serve` process logs."""

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from coursegen.server.core.logs import JsonFormatter, current_job
from coursegen.settings import Settings
from tests.support.jobs import create, wait_status
from tests.support.keys import make_key
from tests.support.scripted_llm import Call, Fault, Reply, ScriptedLLM
from tests.support.server_process import ServerProcess


def test_log_lines_are_json_with_the_job_id() -> None:
    record = logging.LogRecord(
        "coursegen.x", logging.WARNING, __file__, 1, "stage %s done", ("outline",), None
    )
    token = current_job.set("job-7")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        current_job.reset(token)
    assert line["message"] == "stage outline done" and line["job_id"] == "job-7"
    assert line["level"] == "warning" and line["logger"] == "coursegen.x"
    assert "job_id" not in json.loads(JsonFormatter().format(record))


@pytest.mark.processes
async def test_serve_logs_json_lines_without_access_lines_or_keys(
    tmp_path: Path, scripted_llm: ScriptedLLM
) -> None:
    """`coursegen serve` logs at info as JSON only: uvicorn's own lines included, its
    access lines (which carry URLs, query strings and all) left out, and never a key."""
    data = tmp_path / "data"
    base = {"base_url": scripted_llm.base_url, "model": "openai:scripted", "data_dir": data}
    key = await asyncio.to_thread(make_key, Settings(**base), "alice")
    env = {
        "COURSEGEN_BASE_URL": scripted_llm.base_url,
        "COURSEGEN_MODEL": "openai:scripted",
        "COURSEGEN_DATA_DIR": str(data),
        "COURSEGEN_LOG_LEVEL": "info",
    }
    server = ServerProcess(env, tmp_path / "logs")
    await server.astart()
    try:
        auth = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=30, headers=auth) as client:
            job = await create(client, themes=1, topics=1)
            await wait_status(client, job, {"completed"})
            assert (await client.get(f"/courses/{job}/export?format=md")).status_code == 200
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as stranger:
            # A key where no key belongs (a URL) and a wrong one: refused, and not logged.
            leaked = await stranger.get("/courses", params={"api_key": key})
            assert leaked.status_code == 401
            wrong = await stranger.get("/courses", headers={"Authorization": f"Bearer {key}x"})
            assert wrong.status_code == 401
    finally:
        await server.aterminate()
    lines = [line for line in server.log_text().splitlines() if line and "=====" not in line]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    loggers = {record["logger"] for record in records}
    assert "uvicorn.error" in loggers, loggers  # uvicorn's own lines go through our format
    assert "uvicorn.access" not in loggers, [r for r in records if "access" in r["logger"]]
    assert not {"httpx", "httpx2"} & loggers  # nor the provider client's request lines
    assert not [r for r in records if "GET /courses" in r["message"]]
    assert key not in server.log_text() and key[8:] not in server.log_text()


@pytest.mark.processes
async def test_serve_logs_the_model_and_each_jobs_life(tmp_path: Path) -> None:
    """A model line at start-up (no secret of the URL in it); per job: created, started,
    stages reached, finished with usage and seconds, or failed with code and reason."""

    def script(call: Call) -> Reply:
        broken = call.data.get("course_name") == "Broken"
        return Fault("http", status=401) if broken else None

    with ScriptedLLM(script) as llm:
        secret_url = llm.base_url.replace("://", "://user:hunter2@")
        env = {
            "COURSEGEN_BASE_URL": secret_url,
            "COURSEGEN_MODEL": "qwen2.5:7b",
            "COURSEGEN_DATA_DIR": str(tmp_path / "data"),
            "COURSEGEN_LOG_LEVEL": "info",
        }
        server = ServerProcess(env, tmp_path / "logs")
        await server.astart()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                good = await create(client, themes=1, topics=1)
                await wait_status(client, good, {"completed"})
                body = {"course_name": "Broken", "options": {"themes": 1}}
                bad = (await client.post("/courses", json=body)).json()["id"]
                failed = await wait_status(client, bad, {"failed"})
        finally:
            await server.aterminate()
    text = server.log_text()
    assert "hunter2" not in text
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    model = next(r for r in records if r["message"].startswith("model: "))
    assert model["message"] == (
        f"model: openai-compatible qwen2.5:7b at {llm.base_url} (structured output: json_schema)"
    )

    def of(job: str) -> list[dict[str, Any]]:
        return [r for r in records if r.get("job_id") == job]

    messages = [r["message"] for r in of(good)]
    assert messages[:2] == ["job created", "job started"], messages
    stages = [r["stage"] for r in of(good) if r["message"] == "stage reached"]
    assert stages == ["outline", "topics", "content", "polish"]
    finished = next(r for r in of(good) if r["message"] == "job finished")
    assert finished["status"] == "completed" and finished["seconds"] >= 0
    assert finished["usage"]["calls"] == 4  # outline, topics, content, polish
    failure = next(r for r in of(bad) if r["message"] == "job failed")
    assert failure["code"] == "provider_auth" == failed["error"]["code"]
    assert failure["reason"] == failed["error"]["message"] and "exception" in failure


@pytest.mark.processes
async def test_serve_with_workers_logs_json_from_the_first_line(tmp_path: Path) -> None:
    """`make run`'s default (one worker per core): what the parent logs before the workers
    start (single-user mode) is JSON too, and every worker names the model."""
    env = {
        "COURSEGEN_MODEL": "sandbox",
        "COURSEGEN_DATA_DIR": str(tmp_path / "data"),
        "COURSEGEN_WORKERS": "2",
    }
    server = ServerProcess(env, tmp_path / "logs")
    await server.astart()
    await server.aterminate()
    lines = [line for line in server.log_text().splitlines() if line and "=====" not in line]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    messages = [record["message"] for record in records]
    assert messages[0].startswith("no API keys configured: single-user mode"), messages
    assert messages.count("model: sandbox (structured output: json_schema)") == 2, messages
