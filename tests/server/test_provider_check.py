"""Test what an unreachable provider looks like: a start-up warning, and job errors that say
which server could not be reached (without its credentials)."""

import logging
from pathlib import Path

import httpx
import pytest

from coursegen.providers.info import ModelInfo
from coursegen.server.app import create_app
from coursegen.server.probe import announce_model, probe_provider
from coursegen.settings import Settings
from tests.server.conftest import create, wait_status
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import ScriptedLLM
from tests.support.server_process import free_port


def _info(base_url: str | None, kind: str = "provider") -> ModelInfo:
    return ModelInfo.model_validate(
        {
            "kind": kind,
            "provider": "openai-compatible",
            "name": "m",
            "base_url": base_url,
            "structured_output": "json_schema",
        }
    )


async def test_probe_warns_when_nothing_answers(caplog: pytest.LogCaptureFixture) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"
    with caplog.at_level(logging.INFO, logger="coursegen.server.probe"):
        assert await probe_provider(_info(down)) is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and down in warnings[0].getMessage()


async def test_probe_is_content_with_any_http_answer(scripted_llm: ScriptedLLM) -> None:
    # The scripted server has no /models route: a 404 still proves the server is there.
    assert await probe_provider(_info(scripted_llm.base_url)) is True
    assert await probe_provider(_info(None)) is None
    assert await probe_provider(_info(None, kind="sandbox")) is None


async def test_a_job_error_names_the_unreachable_server(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"
    with_user = down.replace("://", "://user:hunter2@")
    settings = Settings(
        base_url=with_user, model="m", data_dir=tmp_path, llm_max_retries=0, llm_timeout_s=5
    )
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            job = await create(client, themes=1, topics=1)
            failed = await wait_status(client, job, {"failed"}, timeout=60)
    error = failed["error"]
    assert error["code"] == "provider_error" and error["retryable"] is True
    assert f"(provider at {down})" in error["message"], error
    assert "hunter2" not in error["message"]


def test_start_up_names_the_model_and_warns_of_the_demo_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    demo = _info(None, kind="embedded").model_copy(update={"languages": ["en"]})
    with caplog.at_level(logging.INFO, logger="coursegen.server.probe"):
        announce_model(_info("http://127.0.0.1:11434/v1"))
        announce_model(demo)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines[0] == (
        "INFO",
        "model: openai-compatible m at http://127.0.0.1:11434/v1 (structured output: json_schema)",
    )
    assert lines[2][0] == "WARNING" and "English only" in lines[2][1] and len(lines) == 3
