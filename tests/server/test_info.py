"""Test that the service says which model it writes with: GET /info and the URL shown."""

import httpx

from coursegen.chains.model_info import public_url
from coursegen.server.settings import Settings


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
