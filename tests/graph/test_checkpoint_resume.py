"""Stop a checkpointed run mid-content, resume it, and check no finished LLM call is repeated."""

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Collection
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph.state import CompiledStateGraph

from coursegen.domain import Course
from coursegen.graph import build_graph
from tests.graph.test_graph import (
    HeldLLM,
    assert_topic_complete,
    chat_model,
    per_schema,
    request,
    theme_of,
    topic_of,
)
from tests.support.scripted_llm import Call, Fault, Reply

Key = tuple[str, str | None, str | None]


def key(call: Call) -> Key:
    """What a call was about: its schema, theme and topic."""
    return (call.schema, theme_of(call), topic_of(call))


def completed_twice(calls: list[Call], ignore: Collection[int] = ()) -> dict[Key, int]:
    counts = Counter(key(c) for c in calls if c.completed and c.index not in ignore)
    return {k: n for k, n in counts.items() if n > 1}


@pytest.fixture
async def saver(tmp_path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "checkpoints.sqlite")) as saver:
        yield saver


async def wait_until(condition: Any, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def consume(
    graph: CompiledStateGraph, config: RunnableConfig, inp: Any, seen: list[dict[str, Any]]
) -> None:
    async for event in graph.astream(inp, config, stream_mode="custom"):
        assert isinstance(event, dict)
        seen.append(event)


def polished(seen: list[dict[str, Any]]) -> set[tuple[int, int]]:
    return {(e["theme"], e["topic"]) for e in seen if e["type"] == "polished"}


async def test_cancelled_run_resumes_without_repeating_calls(saver: AsyncSqliteSaver):
    """Cancel the run while two contents hang; the resumed run writes only what was missing.

    Theme 1 / Topic 2's content is held back until Theme 1 / Topic 3 is polished, so topics
    finish out of order: a resume that matched checkpointed calls by the order they were
    made (not by topic) would hand one topic another's polish.
    """
    stalled = {"Theme 1 / Topic 1", "Theme 2 / Topic 2"}

    def script(call: Call) -> Reply:
        if call.schema == "TopicContent" and topic_of(call) in stalled:
            return Fault("stall")
        return None

    def hold(call: Call, calls: list[Call]) -> bool:
        return (
            call.schema == "TopicContent"
            and topic_of(call) == "Theme 1 / Topic 2"
            and not any(
                c.completed and key(c) == ("PolishedTopic", "Theme 1", "Theme 1 / Topic 3")
                for c in list(calls)
            )
        )

    with HeldLLM(hold, script, first_token_s=0.05) as llm:
        graph = build_graph(model=chat_model(llm), checkpointer=saver)
        config: RunnableConfig = {"configurable": {"thread_id": "cancel-mid-content"}}
        seen: list[dict[str, Any]] = []
        run = asyncio.create_task(consume(graph, config, {"request": request(2, 3)}, seen))
        done_before = {(0, 1), (0, 2), (1, 0), (1, 2)}
        await wait_until(lambda: polished(seen) >= done_before or run.done())
        assert not run.done(), "the first run ended by itself"
        assert polished(seen) == done_before
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        hung = [c for c in llm.calls if topic_of(c) in stalled]
        assert [c.completed for c in hung] == [False, False]
        # the cancelled run hung up on the calls it no longer waits for
        await wait_until(lambda: all(c.ended is not None for c in hung))
        assert all(c.disconnected for c in hung)
        first_run = len(llm.calls)

        llm.script = None
        out = await graph.ainvoke(None, config)

    course: Course = out["course"]
    for i in range(2):
        for j in range(3):
            assert_topic_complete(course, i, j)
    resumed = sorted((c.schema, topic_of(c)) for c in llm.calls[first_run:])
    assert resumed == [
        ("PolishedTopic", "Theme 1 / Topic 1"),
        ("PolishedTopic", "Theme 2 / Topic 2"),
        ("TopicContent", "Theme 1 / Topic 1"),
        ("TopicContent", "Theme 2 / Topic 2"),
    ]
    assert completed_twice(llm.calls) == {}
    assert sum(c.completed for c in llm.calls) == 1 + 2 + 6 + 6
    # usage counts each finished call once, whether it ran before or after the resume
    assert {s: u.calls for s, u in course.usage.by_stage.items()} == {
        "outline": 1,
        "topics": 2,
        "content": 6,
        "polish": 6,
    }


async def test_invalid_theme_fails_only_that_theme_without_repeats(saver: AsyncSqliteSaver):
    """Theme 2's topic list fails validation twice (the answer and its one re-ask): the run
    still completes, Theme 2 carries the error for a later regeneration, Theme 1 is whole,
    and no completed call is made twice."""
    invalid: set[int] = set()

    def script(call: Call) -> Reply:
        if call.schema == "ThemeTopics" and theme_of(call) == "Theme 2":
            invalid.add(call.index)
            return '{"wrong": true}'
        return None

    with HeldLLM(lambda call, calls: False, script, first_token_s=0.01) as llm:
        graph = build_graph(model=chat_model(llm), checkpointer=saver)
        config: RunnableConfig = {"configurable": {"thread_id": "invalid-theme"}}
        out = await graph.ainvoke({"request": request(2, 3)}, config)

    course: Course = out["course"]
    assert len(invalid) == 2  # the first answer and the one re-ask; validation is not retried
    assert course.themes[1].error and "ThemeTopics validation" in course.themes[1].error
    assert course.themes[1].topics == []
    for j in range(3):
        assert_topic_complete(course, 0, j)
    assert completed_twice(llm.calls, ignore=invalid) == {}
    assert per_schema(llm) == {
        "Outline": 1,
        "ThemeTopics": 3,
        "TopicContent": 3,
        "PolishedTopic": 3,
    }
    assert course.usage.by_stage["topics"].calls == 3  # the failed answers were paid for too
