"""The sources API end to end: upload real files, ground a course in them, keep owners apart."""

import asyncio
import sqlite3
from typing import Any

import httpx
import pytest

from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.server.conftest import wait_status
from tests.support.documents import MARKDOWN, make_docx, make_pdf
from tests.support.keys import make_key
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import Call, ScriptedLLM, default_answer

COURSE = "Life, rocks and oceans: chlorophyll, mitochondria, magma, plankton"
FILES = {
    "bio.pdf": ("application/pdf", make_pdf(title="Cell biology")),
    "geo.docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        make_docx(),
    ),
    "ocean.md": ("text/markdown", MARKDOWN.encode()),
}


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _upload(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    media, data = FILES[name]
    response = await client.post("/sources", files={"file": (name, data, media)})
    assert response.status_code == 201, response.text
    return dict(response.json())


def _with_bad_citations(call: Call) -> dict[str, Any] | None:
    """The default lesson (it cites passage 1 truly) plus two citations that do not hold."""
    if call.schema != "TopicContent":
        return None
    answer = default_answer(call)
    answer["citations"] = [
        *answer.get("citations", []),
        {"passage": 1, "quote": "words the passage never said"},
        {"passage": 42, "quote": "no such passage"},
    ]
    answer["body_markdown"] += " Also [2] and [3]."
    return answer


@pytest.fixture
async def keys(settings: Settings) -> dict[str, str]:
    return {owner: await asyncio.to_thread(make_key, settings, owner) for owner in ("alice", "bob")}


async def test_a_course_grounded_in_a_pdf_docx_and_markdown_cites_checked_passages(
    settings: Settings, scripted_llm: ScriptedLLM, keys: dict[str, str]
) -> None:
    scripted_llm.script = _with_bad_citations
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(
            base_url=live.url, timeout=30, headers=_auth(keys["alice"])
        ) as client:
            uploaded = [await _upload(client, name) for name in FILES]
            pdf = uploaded[0]
            assert {k: pdf[k] for k in ("title", "kind", "pages", "chunks")} == {
                "title": "Cell biology",
                "kind": "pdf",
                "pages": 2,
                "chunks": 2,
            }
            ids = [u["id"] for u in uploaded]
            body = {
                "course_name": COURSE,
                "language": "en",
                "sources": ids,
                "options": {"themes": 1, "topics_per_theme": 2, "grounding": "strict"},
            }
            created = await client.post("/courses", json=body)
            assert created.status_code == 202, created.text
            job = await wait_status(client, created.json()["id"], {"completed", "failed"})
    assert job["status"] == "completed", job
    # Planning saw the digest: titles and headings of every source.
    [outline] = scripted_llm.calls_for("Outline")
    digest = outline.data["sources"]
    assert [d["title"] for d in digest] == ["Cell biology", "geo", "Ocean currents"]
    assert digest[0]["headings"] == ["Photosynthesis", "Respiration"]
    assert all(c.data["sources"] == digest for c in scripted_llm.calls_for("ThemeTopics"))
    # Each lesson prompt holds the retrieved passages, as data, with the citing rules.
    contents = scripted_llm.calls_for("TopicContent")
    assert len(contents) == 2
    for call in contents:
        passages = call.data["passages"]
        assert 1 <= len(passages) <= settings.source_top_k
        assert "passages" in call.system and "Write only what the passages support" in call.system
        assert passages[0]["text"] in call.prompt_text.replace("\\n", "\n")
    first_passage = contents[0].data["passages"][0]
    topics = job["course"]["themes"][0]["topics"]
    for topic in topics:
        [citation] = topic["citations"]
        assert citation["source_id"] in ids
        assert citation["quote"] == " ".join(first_passage["text"].split()[:6])
        assert topic["citations_dropped"] == 2
        # The false markers went with their citations; the true one is [1].
        assert "[1]" in topic["content"]["body_markdown"]
        assert topic["content"]["citations"] == [{"passage": 1, "quote": citation["quote"]}]
        assert "[2]" not in topic["content"]["body_markdown"]
        assert "[3]" not in topic["polished"]["body_markdown"]
    chunk = next(u for u in uploaded if u["id"] == topics[0]["citations"][0]["source_id"])
    assert chunk["title"] == topics[0]["citations"][0]["title"]


async def test_another_owner_cannot_list_read_use_or_delete_a_source(
    settings: Settings, keys: dict[str, str]
) -> None:
    with LiveApp(create_app(settings)) as live:
        alice = httpx.AsyncClient(base_url=live.url, timeout=30, headers=_auth(keys["alice"]))
        bob = httpx.AsyncClient(base_url=live.url, timeout=30, headers=_auth(keys["bob"]))
        async with alice, bob:
            source = await _upload(alice, "ocean.md")
            path = f"/sources/{source['id']}"
            assert (await bob.get("/sources")).json() == {"items": []}
            assert (await bob.get(path)).status_code == 404
            assert (await bob.delete(path)).status_code == 404
            used = await bob.post(
                "/courses", json={"course_name": "Oceans", "sources": [source["id"]]}
            )
            assert used.status_code == 422
            assert used.json()["detail"][0]["loc"] == ["body", "sources", 0]
            # Alice still has it, whole.
            assert (await alice.get(path)).json()["chunks"] == source["chunks"]
            assert [s["id"] for s in (await alice.get("/sources")).json()["items"]] == [
                source["id"]
            ]


async def test_a_deleted_source_leaves_no_chunks_behind(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    source = await _upload(client, "bio.pdf")
    other = await _upload(client, "ocean.md")
    db = sqlite3.connect(settings.sqlite_path)
    try:
        assert db.execute("SELECT COUNT(*) FROM coursegen_source_fts").fetchone()[0] == 4
        assert (await client.delete(f"/sources/{source['id']}")).status_code == 204
        assert (await client.get(f"/sources/{source['id']}")).status_code == 404
        left = db.execute("SELECT DISTINCT source_id FROM coursegen_source_chunks").fetchall()
        assert left == [(other["id"],)]
        assert db.execute("SELECT COUNT(*) FROM coursegen_source_fts").fetchone()[0] == 2
    finally:
        db.close()
    assert (await client.delete(f"/sources/{source['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("name", "media", "data", "status", "words"),
    [
        ("empty.md", "text/markdown", b"", 422, "empty"),
        ("locked.pdf", "application/pdf", make_pdf(password="pw"), 422, "encrypted"),
        ("image.png", "image/png", b"\x89PNG\r\n\x1a\n....", 415, "unsupported"),
        ("big.txt", "text/plain", b"word " * 2000, 413, "over 8192 bytes"),
    ],
)
async def test_unusable_uploads_get_a_clear_4xx(
    settings: Settings, name: str, media: str, data: bytes, status: int, words: str
) -> None:
    settings = settings.model_copy(update={"max_source_bytes": 8192})
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            response = await client.post("/sources", files={"file": (name, data, media)})
            assert response.status_code == status, response.text
            assert words in response.json()["detail"]
            assert (await client.get("/sources")).json() == {"items": []}


async def test_uploads_are_allowed_past_the_json_body_limit_up_to_their_own(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"max_body_bytes": 1024, "max_source_bytes": 1 << 20})
    text = ("Rivers carry sediment to the sea. " * 2000).encode()
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            ok = await client.post("/sources", files={"file": ("rivers.txt", text, "text/plain")})
            assert ok.status_code == 201, ok.text
            assert ok.json()["chunks"] > 10
            big = await client.post("/sources", files={"file": ("x.txt", text * 20, "text/plain")})
            assert big.status_code == 413
            json_big = await client.post("/courses", json={"course_name": "x" * 2000})
            assert json_big.status_code == 413


async def test_an_unknown_source_id_is_a_422_at_course_creation(
    client: httpx.AsyncClient,
) -> None:
    unknown = "0" * 32
    response = await client.post("/courses", json={"course_name": "X", "sources": [unknown]})
    assert response.status_code == 422
    assert f"no source {unknown}" in response.text
    malformed = await client.post("/courses", json={"course_name": "X", "sources": ["nope"]})
    assert malformed.status_code == 422


async def test_a_langserve_course_run_is_grounded_in_the_callers_sources(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    source = await _upload(client, "ocean.md")
    body = {
        "input": {
            "course_name": "Ocean currents and plankton",
            "language": "en",
            "sources": [source["id"]],
            "options": {"themes": 1, "topics_per_theme": 1},
        }
    }
    response = await client.post("/course/invoke", json=body)
    assert response.status_code == 200, response.text
    [topic] = response.json()["output"]["themes"][0]["topics"]
    assert [c["source_id"] for c in topic["citations"]] == [source["id"]]
    [content] = scripted_llm.calls_for("TopicContent")
    assert "plankton" in " ".join(p["text"] for p in content.data["passages"])
