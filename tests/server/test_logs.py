"""Test the JSON log format, and what a real `coursegen serve` process logs."""

import asyncio
import json
import logging
from pathlib import Path

import httpx

from coursegen.server.logs import JsonFormatter, current_job
from coursegen.server.settings import Settings
from tests.server.conftest import create, wait_status
from tests.support.keys import make_key
from tests.support.scripted_llm import ScriptedLLM
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
