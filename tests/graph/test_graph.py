"""Run the course graph end to end against the scripted OpenAI-compatible server."""

import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from coursegen.domain import Course, CourseOptions, CourseRequest, TokenUsage
from coursegen.graph import build_graph
from coursegen.providers.loading import ModelOptions, load_chat_model
from tests.support.scripted_llm import (
    DATA_RE,
    Call,
    Fault,
    Reply,
    ScriptedLLM,
    default_answer,
)

SCHEMA_STAGE = {
    "Outline": "outline",
    "ThemeTopics": "topics",
    "TopicContent": "content",
    "PolishedTopic": "polish",
}


def request(themes: int, topics: int, *, review: bool = False) -> CourseRequest:
    return CourseRequest(
        course_name="Data Engineering Basics",
        description="Pipelines, storage and batch processing for beginners.",
        language="en",
        options=CourseOptions(themes=themes, topics_per_theme=topics, review_outline=review),
    )


def chat_model(llm: ScriptedLLM) -> BaseChatModel:
    return load_chat_model("openai:scripted", ModelOptions(base_url=llm.base_url, max_retries=0))


def call_data(call: Call) -> dict[str, Any]:
    """The <course_data> of a call's prompt (a re-ask carries it in an earlier message)."""
    for message in reversed(call.messages):
        match = DATA_RE.search(str(message.get("content") or ""))
        if match:
            return dict(json.loads(match.group(1)))
    return {}


def theme_of(call: Call) -> str | None:
    """The theme a call is about (None for the outline)."""
    data = call_data(call)
    if call.schema == "ThemeTopics":
        return str(data["theme"]["title"])
    if call.schema == "TopicContent":
        return str(data["topic"]["title"]).split(" / ")[0]
    if call.schema == "PolishedTopic":
        return str(data["theme"])
    return None


def topic_of(call: Call) -> str | None:
    """The topic title a content or polish call is about."""
    topic = call_data(call).get("topic")
    if isinstance(topic, dict):
        return str(topic["title"])
    return None if topic is None else str(topic)


def per_schema(llm: ScriptedLLM) -> Counter[str]:
    return Counter(call.schema for call in llm.calls)


def server_usage(call: Call, chunk_chars: int) -> TokenUsage:
    """The usage the scripted server reports for one default answer (see `ScriptedLLM._chat`)."""
    answer = json.dumps(default_answer(call), ensure_ascii=False)
    prompt = len(call.prompt_text) // 4
    completion = math.ceil(len(answer) / chunk_chars)
    return TokenUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        calls=1,
    )


def in_flight(calls: list[Call], at: float) -> list[Call]:
    """The calls the server was answering at instant `at` (server monotonic clock)."""
    return [c for c in calls if c.started <= at and (c.ended is None or c.ended > at)]


def peak_content_overlap(calls: list[Call]) -> tuple[int, int]:
    """The most content calls in flight at once, and the most themes those spanned at once."""
    contents = [c for c in calls if c.schema == "TopicContent"]
    peaks = [in_flight(contents, c.started) for c in contents]
    return max(map(len, peaks)), max(len({theme_of(c) for c in p}) for p in peaks)


def assert_topic_complete(course: Course, theme: int, topic: int) -> None:
    title = f"Theme {theme + 1} / Topic {topic + 1}"
    item = course.themes[theme].topics[topic]
    assert item.title == title
    assert item.error is None
    assert item.content is not None and item.polished is not None
    assert item.content.key_points == [f"{title}: 1", f"{title}: 2", f"{title}: 3"]
    assert item.content.body_markdown.startswith(f"Lesson '{title}'.")
    assert item.polished.summary == f"Summary: {title}"
    assert item.polished.body_markdown == "✨ " + item.content.body_markdown


class HeldLLM(ScriptedLLM):
    """A scripted server that holds chosen answers back while `hold(call, calls)` is true.

    The hold releases after `max_hold_s` at the latest, so a graph that never satisfies
    the condition finishes anyway and the test fails on its assertions, not on a timeout.
    """

    def __init__(
        self,
        hold: Callable[[Call, list[Call]], bool],
        script: Callable[[Call], Reply] | None = None,
        *,
        max_hold_s: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(script, **kwargs)
        self.hold = hold
        self.max_hold_s = max_hold_s
        self.held: set[int] = set()

    async def _sse(
        self, call: Call, pieces: list[str], usage: dict[str, int], reply: Reply
    ) -> AsyncIterator[bytes]:
        deadline = time.monotonic() + self.max_hold_s
        while self.hold(call, self.calls) and time.monotonic() < deadline:
            self.held.add(call.index)
            await asyncio.sleep(0.01)
        async for chunk in super()._sse(call, pieces, usage, reply):
            yield chunk


@pytest.fixture
def slow_llm() -> Iterator[HeldLLM]:
    """Every answer waits 0.2 s before its first token; Theme 8's contents also wait until a
    polish call of some other theme has started (released after 10 s if that never happens)."""

    def hold(call: Call, calls: list[Call]) -> bool:
        if theme_of(call) != "Theme 8" or call.schema != "TopicContent":
            return False
        return not any(c.schema == "PolishedTopic" and theme_of(c) != "Theme 8" for c in calls)

    # Large chunks keep the client's per-chunk parsing from dominating the timeline.
    llm = HeldLLM(hold, first_token_s=0.2, chunk_chars=64)
    with llm:
        yield llm


async def test_course_8x5_makes_89_calls_in_outline_order(scripted_llm: ScriptedLLM, model):
    graph = build_graph(model=model)

    out = await graph.ainvoke({"request": request(8, 5)})

    course = out["course"]
    assert isinstance(course, Course)
    assert per_schema(scripted_llm) == {
        "Outline": 1,
        "ThemeTopics": 8,
        "TopicContent": 40,
        "PolishedTopic": 40,
    }
    assert len(scripted_llm.calls) == 89
    assert all(c.completed and c.status == 200 for c in scripted_llm.calls)
    titles = [f"Theme {i} / Topic {j}" for i in range(1, 9) for j in range(1, 6)]
    # every topic was written and polished exactly once
    assert sorted(topic_of(c) or "" for c in scripted_llm.calls_for("TopicContent")) == sorted(
        titles
    )
    assert sorted(topic_of(c) or "" for c in scripted_llm.calls_for("PolishedTopic")) == sorted(
        titles
    )
    # merged in outline order, whatever order the branches finished in
    assert [t.title for t in course.themes] == [f"Theme {i}" for i in range(1, 9)]
    assert [[t.title for t in theme.topics] for theme in course.themes] == [
        titles[i * 5 : i * 5 + 5] for i in range(8)
    ]
    for i in range(8):
        for j in range(5):
            assert_topic_complete(course, i, j)
    assert course.course_name == "Data Engineering Basics"
    assert course.language == "en"


async def test_usage_sums_what_the_server_reported(scripted_llm: ScriptedLLM, model):
    graph = build_graph(model=model)

    course: Course = (await graph.ainvoke({"request": request(8, 5)}))["course"]

    expected: dict[str, TokenUsage] = {}
    for call in scripted_llm.calls:
        stage = SCHEMA_STAGE[call.schema]
        expected[stage] = expected.get(stage, TokenUsage()) + server_usage(
            call, scripted_llm.chunk_chars
        )
    usage = course.usage
    assert {s: u.calls for s, u in usage.by_stage.items()} == {
        "outline": 1,
        "topics": 8,
        "content": 40,
        "polish": 40,
    }
    assert usage.by_stage == expected
    assert usage.total.calls == 89
    total = sum(expected.values(), TokenUsage())
    assert usage.total == total
    assert total.prompt_tokens > 0 and total.completion_tokens > 0


async def test_calls_overlap_across_stages_and_themes(slow_llm: HeldLLM):
    graph = build_graph(model=chat_model(slow_llm))

    course: Course = (await graph.ainvoke({"request": request(8, 5)}))["course"]

    calls = slow_llm.calls
    assert len(calls) == 89 and all(c.completed for c in calls)
    assert sum(len(t.topics) for t in course.themes) == 40
    # many content calls of several themes run at once: more than one per theme
    most_calls, most_themes = peak_content_overlap(calls)
    assert most_calls >= 12
    assert most_themes >= 3
    contents = slow_llm.calls_for("TopicContent")
    # no barrier between content and polish: a polish started while content of another
    # theme was still being written (Theme 8's contents were held until then)
    theme8 = [c for c in contents if theme_of(c) == "Theme 8"]
    assert len(theme8) == 5
    first_polish = min(c.started for c in slow_llm.calls_for("PolishedTopic"))
    assert first_polish < max(c.ended or math.inf for c in theme8)
    # one barrier, after every topic list (the course map needs them all): no content call
    # started before the last topics call had ended
    last_topics = max(c.ended or math.inf for c in slow_llm.calls_for("ThemeTopics"))
    assert min(c.started for c in contents) >= last_topics


async def test_token_events_stream_before_the_course(scripted_llm: ScriptedLLM, model):
    graph = build_graph(model=model)
    events: list[tuple[str, Any]] = []

    async for mode, chunk in graph.astream(
        {"request": request(3, 2)}, stream_mode=["custom", "values"]
    ):
        events.append((mode, chunk))

    finals = [i for i, (mode, chunk) in enumerate(events) if mode == "values" and "course" in chunk]
    assert finals, "the run ended without a course"
    end = finals[0]
    tokens = [
        (i, e) for i, (mode, e) in enumerate(events) if mode == "custom" and e["type"] == "token"
    ]
    assert {e["stage"] for _, e in tokens} == {"outline", "topics", "content", "polish"}
    assert all(i < end for i, _ in tokens)
    # The first stages stream too: the outline's answer, then each theme's topic list.
    streams = [("outline", None, "outline", "Outline")]
    streams += [("topics", theme, "topics", "ThemeTopics") for theme in range(3)]
    for stage, theme, done_type, schema in streams:
        mine = [(i, e) for i, e in tokens if (e["stage"], e["theme"]) == (stage, theme)]
        assert all(e["topic"] is None for _, e in mine)
        done = next(
            i
            for i, (mode, e) in enumerate(events)
            if mode == "custom" and e["type"] == done_type and e.get("theme") == theme
        )
        assert mine and all(i < done for i, _ in mine) and mine[0][1].get("start")
        title = None if theme is None else f"Theme {theme + 1}"
        call = next(c for c in scripted_llm.calls_for(schema) if theme_of(c) == title)
        answer = json.dumps(default_answer(call), ensure_ascii=False)
        assert "".join(e["text"] for _, e in mine) == answer
    for stage, done_type, schema in (
        ("content", "content", "TopicContent"),
        ("polish", "polished", "PolishedTopic"),
    ):
        for theme in range(3):
            for topic in range(2):
                mine = [
                    (i, e)
                    for i, e in tokens
                    if e["stage"] == stage and (e["theme"], e["topic"]) == (theme, topic)
                ]
                done = next(
                    i
                    for i, (mode, e) in enumerate(events)
                    if mode == "custom"
                    and e["type"] == done_type
                    and (e["theme"], e["topic"]) == (theme, topic)
                )
                # the tokens of a call come before its result, and add up to the answer
                assert mine and all(i < done for i, _ in mine)
                title = f"Theme {theme + 1} / Topic {topic + 1}"
                call = next(c for c in scripted_llm.calls_for(schema) if topic_of(c) == title)
                answer = json.dumps(default_answer(call), ensure_ascii=False)
                assert "".join(e["text"] for _, e in mine) == answer
    course = events[end][1]["course"]
    assert [len(t.topics) for t in course.themes] == [2, 2, 2]


async def test_failing_topic_only_marks_that_topic(scripted_llm: ScriptedLLM, model):
    def script(call: Call) -> Reply:
        if call.schema == "TopicContent" and topic_of(call) == "Theme 2 / Topic 3":
            return Fault("http", status=400)
        return None

    scripted_llm.script = script
    graph = build_graph(model=model)
    errors: list[dict[str, Any]] = []
    course: Course | None = None

    async for mode, chunk in graph.astream(
        {"request": request(4, 3)}, stream_mode=["custom", "values"]
    ):
        # the event is "topic_error" (or "error" with code "topic_failed" in newer trees)
        assert isinstance(chunk, dict)
        if mode == "custom" and chunk["type"] in ("topic_error", "error") and "topic" in chunk:
            errors.append(chunk)
        if mode == "values" and "course" in chunk:
            course = chunk["course"]

    assert course is not None
    failed = course.themes[1].topics[2]
    assert failed.title == "Theme 2 / Topic 3"
    assert failed.error and "400" in failed.error
    assert failed.content is None and failed.polished is None
    for i in range(4):
        for j in range(3):
            if (i, j) != (1, 2):
                assert_topic_complete(course, i, j)
    assert [(e["theme"], e["topic"]) for e in errors] == [(1, 2)]
    # a 400 is not retried and the failed topic is not polished
    assert per_schema(scripted_llm) == {
        "Outline": 1,
        "ThemeTopics": 4,
        "TopicContent": 12,
        "PolishedTopic": 11,
    }
    assert "Theme 2 / Topic 3" not in {topic_of(c) for c in scripted_llm.calls_for("PolishedTopic")}
    assert course.usage.by_stage["content"].calls == 11
    assert course.usage.total.calls == 1 + 4 + 11 + 11


async def test_review_interrupts_with_the_outline_then_approve_completes(
    scripted_llm: ScriptedLLM, model
):
    graph = build_graph(model=model, checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "review-approve"}}

    paused = await graph.ainvoke({"request": request(3, 2, review=True)}, config)

    assert "course" not in paused
    (pause,) = paused["__interrupt__"]
    assert pause.value["type"] == "review"
    assert [t["title"] for t in pause.value["outline"]["themes"]] == [
        "Theme 1",
        "Theme 2",
        "Theme 3",
    ]
    assert per_schema(scripted_llm) == {"Outline": 1}
    state = await graph.aget_state(config)
    assert state.next == ("review_outline",)

    out = await graph.ainvoke(Command(resume={"approve": True}), config)

    course = out["course"]
    assert [t.title for t in course.themes] == ["Theme 1", "Theme 2", "Theme 3"]
    for i in range(3):
        for j in range(2):
            assert_topic_complete(course, i, j)
    # the outline is not written again on resume
    assert per_schema(scripted_llm) == {
        "Outline": 1,
        "ThemeTopics": 3,
        "TopicContent": 6,
        "PolishedTopic": 6,
    }


async def test_review_with_an_edited_outline_writes_exactly_those_themes(
    scripted_llm: ScriptedLLM, model
):
    graph = build_graph(model=model, checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "review-edit"}}
    paused = await graph.ainvoke({"request": request(4, 2, review=True)}, config)
    assert len(paused["__interrupt__"][0].value["outline"]["themes"]) == 4
    edited = {
        "themes": [
            {"title": "Storage formats", "description": "Row and column files."},
            {"title": "Batch jobs", "description": "Scheduling and retries."},
        ]
    }

    out = await graph.ainvoke(Command(resume={"outline": edited}), config)

    course = out["course"]
    assert [t.title for t in course.themes] == ["Storage formats", "Batch jobs"]
    assert [t.description for t in course.themes] == [
        "Row and column files.",
        "Scheduling and retries.",
    ]
    assert [[t.title for t in theme.topics] for theme in course.themes] == [
        ["Storage formats / Topic 1", "Storage formats / Topic 2"],
        ["Batch jobs / Topic 1", "Batch jobs / Topic 2"],
    ]
    assert all(
        t.error is None and t.polished is not None for th in course.themes for t in th.topics
    )
    assert sorted(theme_of(c) or "" for c in scripted_llm.calls_for("ThemeTopics")) == [
        "Batch jobs",
        "Storage formats",
    ]
    assert per_schema(scripted_llm) == {
        "Outline": 1,
        "ThemeTopics": 2,
        "TopicContent": 4,
        "PolishedTopic": 4,
    }
    assert course.usage.total.calls == 11


async def test_failing_theme_only_marks_that_theme(scripted_llm: ScriptedLLM, model):
    def script(call: Call) -> Reply:
        if call.schema == "ThemeTopics" and call.data["theme"]["title"] == "Theme 3":
            return Fault("http", status=400)
        return None

    scripted_llm.script = script
    result = await build_graph(model=model).ainvoke({"request": request(3, 2)})
    course: Course = result["course"]
    assert course.themes[2].error and "400" in course.themes[2].error
    assert course.themes[2].topics == []
    for i in range(2):
        assert course.themes[i].error is None
        for j in range(2):
            assert_topic_complete(course, i, j)
    assert per_schema(scripted_llm) == {
        "Outline": 1,
        "ThemeTopics": 3,
        "TopicContent": 4,
        "PolishedTopic": 4,
    }


async def test_extra_themes_and_topics_are_cut_to_the_requested_counts(
    scripted_llm: ScriptedLLM, model
):
    def script(call: Call) -> Reply:
        if call.schema == "Outline":
            return {"themes": [{"title": f"Theme {i}", "description": "d"} for i in range(1, 6)]}
        if call.schema == "ThemeTopics":
            theme = call.data["theme"]["title"]
            return {
                "topics": [
                    {"title": f"{theme} / Topic {i}", "description": "d"} for i in range(1, 5)
                ]
            }
        return None

    scripted_llm.script = script
    course: Course = (await build_graph(model=model).ainvoke({"request": request(2, 3)}))["course"]
    assert [t.title for t in course.themes] == ["Theme 1", "Theme 2"]
    assert all(
        [t.title for t in theme.topics] == [f"{theme.title} / Topic {i}" for i in (1, 2, 3)]
        for theme in course.themes
    )
    assert per_schema(scripted_llm) == {
        "Outline": 1,
        "ThemeTopics": 2,
        "TopicContent": 6,
        "PolishedTopic": 6,
    }
