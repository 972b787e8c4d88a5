"""The graph grounds a course in any `SourceLibrary` passed in its config (no server needed);
a resumed run reuses the passages it retrieved."""

import asyncio
import time
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from coursegen.domain import CourseOptions, CourseRequest, Passage, SourceDigest
from coursegen.graph import build_graph
from coursegen.graph.grounding import SOURCES_KEY
from tests.support.scripted_llm import Call, Fault, Reply, ScriptedLLM, default_answer

SOURCE = "f" * 32
PASSAGES = [
    Passage(source_id=SOURCE, title="Handbook", index=3, page=7, text="Batch jobs run nightly."),
    Passage(source_id=SOURCE, title="Handbook", index=4, page=8, text="Streams never stop."),
]


class Library:
    """An in-memory library that records what it was asked."""

    def __init__(self) -> None:
        self.searches: list[tuple[list[str], str, int]] = []
        self.top_k = 2

    async def search(self, ids: list[str], query: str, k: int) -> list[Passage]:
        self.searches.append((ids, query, k))
        return PASSAGES[:k]

    async def digest(self, ids: list[str]) -> list[SourceDigest]:
        return [SourceDigest(title="Handbook", headings=["Batch", "Streams"])]


def _request() -> CourseRequest:
    return CourseRequest(
        course_name="Data pipelines",
        language="en",
        sources=[SOURCE],
        options=CourseOptions(themes=1, topics_per_theme=2),
    )


def _cite_second(call: Call) -> Reply:
    """Lessons cite passage 2 (so its marker becomes reference [1])."""
    if call.schema != "TopicContent":
        return None
    answer: dict[str, Any] = default_answer(call)
    answer["body_markdown"] = "Streams run on [2]."
    answer["citations"] = [{"passage": 2, "quote": "never  STOP"}]
    return answer


async def test_a_library_in_the_config_grounds_the_course(
    scripted_llm: ScriptedLLM, model: BaseChatModel
) -> None:
    scripted_llm.script = _cite_second
    library = Library()
    config: Any = {"configurable": {SOURCES_KEY: library}}
    course = (await build_graph(model=model).ainvoke({"request": _request()}, config))["course"]
    assert scripted_llm.calls_for("Outline")[0].data["sources"][0]["headings"] == [
        "Batch",
        "Streams",
    ]
    assert scripted_llm.calls_for("ThemeTopics")[0].data["sources"][0]["title"] == "Handbook"
    for call in scripted_llm.calls_for("TopicContent"):  # the course map and the passages
        assert call.data["course_map"][0].startswith("1. ")
        assert [p["text"] for p in call.data["passages"]] == [p.text for p in PASSAGES]
        assert "Cite the passage a fact comes from" in call.system
    assert [ids for ids, _, _ in library.searches] == [[SOURCE], [SOURCE]]
    assert all("Data pipelines" in query and k == 2 for _, query, k in library.searches)
    for topic in course.themes[0].topics:
        assert [(c.page, c.chunk, c.quote) for c in topic.citations] == [(8, 4, "never STOP")]
        assert topic.content.body_markdown == "Streams run on [1]."
        assert topic.citations_dropped == 0


async def test_a_resumed_run_reuses_its_retrieved_passages(
    scripted_llm: ScriptedLLM, model: BaseChatModel, tmp_path: Path
) -> None:
    stalling = {"polish": True}

    def script(call: Call) -> Reply:
        if call.schema == "PolishedTopic" and stalling["polish"]:
            return Fault("stall")
        return None

    scripted_llm.script = script
    library = Library()
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "cp.sqlite")) as saver:
        graph = build_graph(checkpointer=saver, model=model)
        config: Any = {"configurable": {"thread_id": "t", SOURCES_KEY: library}}
        run = asyncio.ensure_future(graph.ainvoke({"request": _request()}, config))
        deadline = time.monotonic() + 20
        while len(scripted_llm.calls_for("PolishedTopic")) < 2:
            assert time.monotonic() < deadline, "the polish calls did not start"
            await asyncio.sleep(0.02)
        run.cancel()  # the run stops mid-polish, after both topics' retrieval and content
        await asyncio.wait([run])
        assert len(library.searches) == 2
        stalling["polish"] = False
        course = (await graph.ainvoke(None, config))["course"]
    assert len(library.searches) == 2, "the resumed run searched again"
    assert len(scripted_llm.calls_for("TopicContent")) == 2
    assert all(t.polished is not None and t.citations for t in course.themes[0].topics)


async def test_the_content_event_carries_the_checked_citations(
    scripted_llm: ScriptedLLM, model: BaseChatModel
) -> None:
    """A reader sees each reference's source title and page as the lesson arrives."""
    scripted_llm.script = _cite_second
    config: Any = {"configurable": {SOURCES_KEY: Library()}}
    graph = build_graph(model=model)
    events = [
        event
        async for event in graph.astream({"request": _request()}, config, stream_mode="custom")
        if event.get("type") == "content"
    ]
    assert len(events) == 2
    for event in events:
        [citation] = event["citations"]
        assert (citation["title"], citation["page"], citation["quote"]) == (
            "Handbook",
            8,
            "never STOP",
        )
