"""Test that the service says which model it writes with (GET /info, status events, the
embedded model's language warning), and that the sandbox model writes whole courses."""

from pathlib import Path

import httpx
import pytest

from coursegen.domain import Course
from coursegen.providers.info import ModelInfo, describe_model, public_url
from coursegen.providers.llama.chat import ChatLlamaCppEmbedded
from coursegen.providers.llama.files import SMOLLM2_FILE
from coursegen.server import app as app_module
from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.server.conftest import create, wait_status
from tests.support.live_app import LiveApp
from tests.support.sse import read_events


async def test_info_names_the_model_and_its_server(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    answer = await client.get("/info")
    assert answer.status_code == 200, answer.text
    model = answer.json()["model"]
    assert model == {
        "kind": "provider",
        "provider": "openai-compatible",
        "name": "scripted",
        "base_url": settings.base_url,
        "structured_output": "json_schema",
        "languages": None,
    }
    assert answer.json()["version"]


def test_public_url_drops_credentials_query_and_fragment() -> None:
    url = "https://user:sk-secret@llm.example.com:8443/v1?api_key=sk-2#frag"
    assert public_url(url) == "https://llm.example.com:8443/v1"
    assert public_url("http://[::1]:11434/v1") == "http://[::1]:11434/v1"
    assert public_url(None) is None


async def test_a_jobs_status_event_names_the_model(client: httpx.AsyncClient) -> None:
    job = await create(client, themes=1, topics=1)
    await wait_status(client, job, {"completed"})
    events = await read_events(client, f"/courses/{job}/events")
    running = [e.data for e in events if e.event == "status" and e.data["status"] == "running"]
    assert running[0]["model"]["name"] == "scripted"
    assert running[0]["model"]["kind"] == "provider"
    assert not [e for e in events if e.event == "warning"]  # a real model writes any language


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> ModelInfo:
    """Have the service take the (scripted) model for the embedded English-only one."""
    info = ModelInfo(
        kind="embedded",
        provider="llamacpp",
        name="SmolLM2-135M-Instruct.Q4_1.gguf",
        structured_output="json_schema",
        languages=["en"],
    )
    monkeypatch.setattr(app_module, "describe_model", lambda model, mode: info)
    return info


@pytest.mark.parametrize(("language", "warned"), [("ru", True), ("en", False)])
async def test_the_embedded_model_warns_a_non_english_course(
    embedded: ModelInfo, client: httpx.AsyncClient, language: str, warned: bool
) -> None:
    body = {"course_name": "Python", "language": language, "options": {"themes": 1}}
    job = (await client.post("/courses", json=body)).json()["id"]
    await wait_status(client, job, {"completed"})
    events = await read_events(client, f"/courses/{job}/events")
    warnings = [e.data for e in events if e.event == "warning"]
    assert bool(warnings) is warned
    if warned:
        assert warnings[0]["code"] == "model_language"
        assert (
            "en only" in warnings[0]["message"] and "COURSEGEN_BASE_URL" in warnings[0]["message"]
        )


async def test_the_sandbox_writes_a_whole_course_with_no_provider(tmp_path: Path) -> None:
    settings = Settings(model="sandbox", data_dir=tmp_path, sandbox_tokens_per_s=0)
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            assert (await client.get("/info")).json()["model"]["kind"] == "sandbox"
            body = {
                "course_name": "Основы Python",
                "options": {"themes": 3, "topics_per_theme": 2},
            }
            job = (await client.post("/courses", json=body)).json()["id"]
            done = await wait_status(client, job, {"completed"})
            events = await read_events(client, f"/courses/{job}/events")
    course = Course.model_validate({**done["course"], "usage": done["usage"]})
    assert [len(theme.topics) for theme in course.themes] == [2, 2, 2]
    assert course.themes[0].title.startswith("Тема 1")
    assert all(t.polished is not None for theme in course.themes for t in theme.topics)
    assert course.usage.total.calls == 1 + 3 + 6 + 6
    assert [e for e in events if e.event == "token"]  # it streams, as a real model does


def test_only_the_bundled_demo_model_is_english_only(tmp_path: Path) -> None:
    demo = ChatLlamaCppEmbedded(model_path=str(tmp_path / SMOLLM2_FILE))
    own = ChatLlamaCppEmbedded(model_path=str(tmp_path / "qwen2.5-7b-instruct-q4_k_m.gguf"))
    assert describe_model(demo, "json_schema").languages == ["en"]
    assert describe_model(own, "json_schema").languages is None
    assert describe_model(own, "json_schema").kind == "embedded"
