"""The same retrieval tests on both source stores: SQLite (FTS5, BM25) and PostgreSQL."""

import pytest

from coursegen.server.jobs.store import SqlJobStore
from coursegen.server.sources.dialects import source_store, text_search_config
from coursegen.server.sources.library import OwnerSources
from coursegen.server.sources.store import SourceStore
from coursegen.sources.chunk import chunk_source
from coursegen.sources.parse import parse_source
from coursegen.sources.retriever import document_passage
from tests.support.documents import MARKDOWN, make_docx, make_pdf


@pytest.fixture
async def store(job_store: SqlJobStore) -> SourceStore:
    """The source store beside the job store, on each backend (tests/conftest.py)."""
    sources = source_store(job_store)
    await sources.setup()
    return sources


async def _add(store: SourceStore, owner: str, name: str, data: bytes) -> str:
    parsed = parse_source(name, None, data)
    info = await store.add(
        owner, parsed, chunk_source(parsed), filename=name, size=len(data), language="en"
    )
    return info.id


async def test_search_ranks_the_matching_passage_first_within_the_given_sources(
    store: SourceStore,
) -> None:
    pdf = await _add(store, "alice", "bio.pdf", make_pdf())
    doc = await _add(store, "alice", "geo.docx", make_docx())
    md = await _add(store, "alice", "ocean.md", MARKDOWN.encode())
    ids = [pdf, doc, md]
    found = await store.search("alice", ids, "How do mitochondria release energy?", 3)
    assert (found[0].source_id, found[0].page, found[0].heading) == (pdf, 2, "Respiration")
    assert all("mitochondria" in p.text.lower() for p in found)
    assert found[0].score > 0
    volcano = await store.search("alice", ids, "volcanic lava magma", 5)
    assert [(p.source_id, p.heading) for p in volcano] == [(doc, "Volcanoes")]
    # Only the sources named: the PDF's passages are not searched when it is left out.
    assert await store.search("alice", [doc, md], "mitochondria glucose", 5) == []
    # k bounds the answer, however much matches.
    assert len(await store.search("alice", ids, "the water glucose magma plates", 2)) == 2


async def test_another_owner_sees_nothing_of_a_source(store: SourceStore) -> None:
    mine = await _add(store, "alice", "bio.pdf", make_pdf())
    assert await store.get("bob", mine) is None
    assert await store.list_sources("bob") == []
    assert await store.search("bob", [mine], "chlorophyll sunlight", 5) == []
    assert await store.missing("bob", [mine]) == [mine]
    assert await store.digest("bob", [mine]) == []
    assert not await store.delete("bob", mine)
    assert (await store.get("alice", mine)) is not None
    assert await store.missing("alice", [mine, "nope"]) == ["nope"]


async def test_a_deleted_source_leaves_no_chunks_or_index_entries(store: SourceStore) -> None:
    gone = await _add(store, "alice", "bio.pdf", make_pdf())
    kept = await _add(store, "alice", "ocean.md", MARKDOWN.encode())
    assert await store.chunk_count(gone) == 2
    assert await store.delete("alice", gone)
    assert await store.chunk_count(gone) == 0
    assert await store.get("alice", gone) is None
    assert await store.search("alice", [gone, kept], "chlorophyll mitochondria", 5) == []
    assert [s.id for s in await store.list_sources("alice")] == [kept]
    # Re-adding the same document indexes it afresh (no stale index rows collide).
    again = await _add(store, "alice", "bio.pdf", make_pdf())
    assert len(await store.search("alice", [again], "chlorophyll", 5)) == 1


async def test_digest_and_retriever_serve_the_owners_sources(store: SourceStore) -> None:
    md = await _add(store, "alice", "ocean.md", MARKDOWN.encode())
    library = OwnerSources(store, "alice", top_k=1)
    [digest] = await library.digest([md])
    assert digest.title == "Ocean currents"
    assert digest.headings == ["Ocean currents / Gulf Stream", "Ocean currents / Upwelling"]
    assert await OwnerSources(store, "bob").digest([md]) == []
    documents = await library.retriever([md]).ainvoke("plankton nutrients")
    assert len(documents) == 1
    passage = document_passage(documents[0])
    assert (passage.source_id, passage.heading) == (md, "Ocean currents / Upwelling")
    assert "plankton" in documents[0].page_content


def test_postgres_text_search_config_follows_the_language() -> None:
    assert text_search_config("ru") == "russian"
    assert text_search_config("en") == "english"
    assert text_search_config("ja") == "simple"
