"""Hybrid source search over real HTTP on both stores: vectors find what full text misses."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from coursegen.server.apikeys import LOCAL_OWNER
from coursegen.server.app import create_app
from coursegen.server.sources.store import SourceStore
from coursegen.settings import Settings
from tests.support.databases import private_postgres
from tests.support.guide import AUTOMOBILE, GUIDE
from tests.support.jobs import wait_status
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import ScriptedLLM


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hybrid_settings(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    hybrid = {"embeddings": "openai:scripted-embeddings", "source_top_k": 1}
    if request.param == "sqlite":
        yield settings.model_copy(update=hybrid)
        return
    with private_postgres() as url:
        yield settings.model_copy(update={**hybrid, "database_url": url})


def _store(live: LiveApp) -> SourceStore:
    store: SourceStore = live.app.state.jobs.sources
    return store


async def test_hybrid_search_finds_a_paraphrase_and_deleting_a_source_drops_its_vectors(
    hybrid_settings: Settings, scripted_llm: ScriptedLLM
) -> None:
    # No word of the automobile section is in the topic's query ("Car care", "Theme 1",
    # "Topic 1"): full text cannot find it; the scripted embeddings put "automobile" near "car".
    with LiveApp(create_app(hybrid_settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            uploaded = await client.post(
                "/sources", files={"file": ("garage.md", GUIDE.encode(), "text/markdown")}
            )
            assert uploaded.status_code == 201, uploaded.text
            source: dict[str, Any] = uploaded.json()
            assert source["chunks"] == 3
            # Every passage went to the embeddings endpoint, with its heading.
            assert any(t.startswith(AUTOMOBILE) for t in scripted_llm.embedded)
            store = _store(live)
            assert await live.call(lambda: store.vector_count(source["id"])) == 3

            body = {
                "course_name": "Car care",
                "language": "en",
                "sources": [source["id"]],
                "options": {"themes": 1, "topics_per_theme": 1},
            }
            created = await client.post("/courses", json=body)
            assert created.status_code == 202, created.text
            # A generous deadline: the machine is shared, and this polls, it does not time anything.
            job = await wait_status(
                client, created.json()["id"], {"completed", "failed"}, timeout=120
            )
            assert job["status"] == "completed", job
            [content] = scripted_llm.calls_for("TopicContent")
            query = " ".join(("Car care", "Theme 1", "Theme 1 / Topic 1", "Topic 1"))
            # Full text alone finds nothing for the topic's query ...
            lexical = await live.call(
                lambda: store.lexical_search(LOCAL_OWNER, [source["id"]], query, 5)
            )
            assert lexical == []
            # ... the fused ranking put the automobile passage in the lesson prompt.
            [passage] = content.data["passages"]
            assert passage["heading"] == AUTOMOBILE
            assert "fresh gasoline" in passage["text"]
            assert query in scripted_llm.embedded

            deleted = await client.delete(f"/sources/{source['id']}")
            assert deleted.status_code == 204
            assert await live.call(lambda: store.vector_count(source["id"])) == 0
            assert await live.call(lambda: store.chunk_count(source["id"])) == 0


async def test_an_upload_whose_embedding_fails_is_a_502_and_stores_nothing(
    hybrid_settings: Settings, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.embeddings_status = 500
    with LiveApp(create_app(hybrid_settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            uploaded = await client.post(
                "/sources", files={"file": ("garage.md", GUIDE.encode(), "text/markdown")}
            )
            assert uploaded.status_code == 502, uploaded.text
            assert "openai:scripted-embeddings" in uploaded.json()["detail"]
            assert (await client.get("/sources")).json() == {"items": []}
