"""Drive the course graph in tests: requests, a scripted model, which call is about what."""

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

from langchain_core.language_models import BaseChatModel

from coursegen.domain import Course, CourseOptions, CourseRequest
from coursegen.providers.loading import ModelOptions, load_chat_model
from tests.support.scripted_llm import Call, Reply, ScriptedLLM


def request(themes: int, topics: int, *, review: bool = False) -> CourseRequest:
    return CourseRequest(
        course_name="Data Engineering Basics",
        description="Pipelines, storage and batch processing for beginners.",
        language="en",
        options=CourseOptions(themes=themes, topics_per_theme=topics, review_outline=review),
    )


def chat_model(llm: ScriptedLLM) -> BaseChatModel:
    return load_chat_model("openai:scripted", ModelOptions(base_url=llm.base_url, max_retries=0))


def theme_of(call: Call) -> str | None:
    """The theme a call is about (None for the outline)."""
    data = call.data
    if call.schema == "ThemeTopics":
        return str(data["theme"]["title"])
    if call.schema == "TopicContent":
        return str(data["topic"]["title"]).split(" / ")[0]
    if call.schema == "PolishedTopic":
        return str(data["theme"])
    return None


def topic_of(call: Call) -> str | None:
    """The topic title a content or polish call is about."""
    topic = call.data.get("topic")
    if isinstance(topic, dict):
        return str(topic["title"])
    return None if topic is None else str(topic)


def per_schema(llm: ScriptedLLM) -> Counter[str]:
    return Counter(call.schema for call in llm.calls)


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
