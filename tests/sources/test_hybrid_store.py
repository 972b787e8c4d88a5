"""Hybrid search in the stores: fusion, owners, models, vectors in memory, no extension."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from coursegen.server.jobs.postgres_store import PostgresJobStore
from coursegen.server.jobs.sqlite_store import SqliteJobStore
from coursegen.server.jobs.store import SqlJobStore
from coursegen.server.sources.dialects import source_store
from coursegen.server.sources.store import SourceStore
from coursegen.sources.chunk import chunk_source
from coursegen.sources.embeddings import Embedder, EmbeddingsConfigError, load_embedder
from coursegen.sources.parse import parse_source
from tests.support.databases import ADMIN_URL, private_postgres
from tests.support.guide import AUTOMOBILE, GUIDE, TIDES
from tests.support.scripted_llm import ScriptedLLM


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def jobs_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlJobStore]:
    if request.param == "sqlite":
        yield SqliteJobStore(tmp_path / "coursegen.sqlite")
        return
    with private_postgres() as url:
        yield PostgresJobStore(url)


@pytest.fixture
def embedder(scripted_llm: ScriptedLLM) -> Embedder:
    return load_embedder("openai:scripted-embeddings", base_url=scripted_llm.base_url)


@pytest.fixture
async def store(jobs_store: SqlJobStore, embedder: Embedder) -> AsyncIterator[SourceStore]:
    await jobs_store.setup()
    sources = source_store(jobs_store, embedder)
    await sources.setup()
    try:
        yield sources
    finally:
        await jobs_store.close()


async def _add(store: SourceStore, owner: str, text: str = GUIDE) -> str:
    parsed = parse_source("guide.md", None, text.encode())
    info = await store.add(
        owner, parsed, chunk_source(parsed), filename="guide.md", size=len(text), language="en"
    )
    return info.id


async def test_fusion_keeps_full_text_hits_and_adds_the_paraphrase(store: SourceStore) -> None:
    guide = await _add(store, "alice")
    # "tides" matches the Tides section's words; "car" only the automobile section's meaning.
    lexical = await store.lexical_search("alice", [guide], "car tides", 5)
    assert [p.heading for p in lexical] == [TIDES]
    fused = await store.search("alice", [guide], "car tides", 2)
    assert {p.heading for p in fused} == {
        TIDES,
        AUTOMOBILE,
    }
    # Fused scores are reciprocal-rank sums: the passage both rankings agree on leads.
    assert fused[0].heading == TIDES and fused[0].score > fused[1].score
    assert await store.search("alice", [guide], "car", 1) == [
        p for p in fused if "Automobile" in p.heading
    ]


async def test_vectors_of_another_owner_or_model_are_never_searched(
    store: SourceStore, scripted_llm: ScriptedLLM
) -> None:
    guide = await _add(store, "alice")
    assert await store.search("bob", [guide], "car", 5) == []
    # Passages embedded by one model are not compared with another model's query vector.
    other = source_store(
        store.jobs, load_embedder("openai:other-model", base_url=scripted_llm.base_url)
    )
    assert await other.search("alice", [guide], "car", 5) == []
    assert [p.heading for p in await other.search("alice", [guide], "tides", 5)] == [TIDES]


async def test_a_source_deleted_by_another_process_is_not_searched_from_memory(
    store: SourceStore, embedder: Embedder
) -> None:
    guide, kept = await _add(store, "alice"), await _add(store, "alice")
    # Two stores on one database, as two server processes: each keeps its own matrices.
    other = source_store(store.jobs, embedder)
    assert [p.heading for p in await store.search("alice", [guide, kept], "car", 2)] == [
        AUTOMOBILE,
        AUTOMOBILE,
    ]
    assert store.vectors.matrices.get(guide, embedder.model) is not None
    assert await other.delete("alice", guide)
    assert await store.vector_count(guide) == 0
    found = await store.search("alice", [guide, kept], "car", 5)
    assert found and {p.source_id for p in found} == {kept}
    # Deleted here, its matrix goes with it.
    assert await store.delete("alice", kept)
    assert store.vectors.matrices.get(kept, embedder.model) is None
    assert await store.search("alice", [kept], "car", 5) == []


def test_an_embeddings_model_without_a_way_to_reach_it_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(EmbeddingsConfigError, match="openai:<model>"):
        load_embedder("nomic-embed-text")
    with pytest.raises(EmbeddingsConfigError, match="OPENAI_API_KEY"):
        load_embedder("openai:text-embedding-3-small")
    served = load_embedder("nomic-embed-text", base_url="http://127.0.0.1:9/v1")
    assert served.model == "nomic-embed-text"


@pytest.mark.postgres
async def test_hybrid_search_on_postgres_needs_no_extension(embedder: Embedder) -> None:
    role = f"coursegen_plain_{uuid.uuid4().hex[:8]}"
    with private_postgres() as url, psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')  # not a superuser: no CREATE EXTENSION
        database = url.rsplit("/", 1)[1]
        try:
            admin.execute(f'ALTER DATABASE "{database}" OWNER TO "{role}"')
            with psycopg.connect(url, autocommit=True) as owner:
                owner.execute(f'ALTER SCHEMA public OWNER TO "{role}"')
            jobs = PostgresJobStore(url.replace("postgres@", f"{role}@"))
            await jobs.setup()
            try:
                store = source_store(jobs, embedder)
                await store.setup()
                guide = await _add(store, "alice")
                assert [p.heading for p in await store.search("alice", [guide], "car", 1)] == [
                    AUTOMOBILE
                ]
            finally:
                await jobs.close()
            with psycopg.connect(url, autocommit=True) as check:
                kinds = check.execute(
                    "SELECT data_type FROM information_schema.columns "
                    "WHERE table_name = 'coursegen_source_vectors' AND column_name = 'embedding'"
                ).fetchall()
                extensions = check.execute("SELECT extname FROM pg_extension").fetchall()
            assert kinds == [("bytea",)]
            assert extensions == [("plpgsql",)]
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')
