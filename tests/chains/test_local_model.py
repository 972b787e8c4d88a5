"""Run real llama.cpp inference on the embedded SmolLM2-135M model (the `local` extra).

Every test here generates with the real model on the CPU, so answers are kept short: the
whole file takes about a minute on two cores. Sampling is seeded, so a machine gives the
same answers on every run.
"""

import asyncio
import importlib.util
import json
from collections.abc import AsyncGenerator
from typing import Any, cast

import pytest
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.messages import AIMessageChunk

from coursegen.chains.stages import build_outline_chain
from coursegen.domain import (
    Course,
    CourseOptions,
    CourseRequest,
    Outline,
    TopicContent,
)
from coursegen.graph import build_graph
from coursegen.providers.llama.chat import ChatLlamaCppEmbedded
from coursegen.providers.llama.files import default_gguf_path, local_model_available
from coursegen.providers.llama.grammar import json_schema_grammar
from coursegen.providers.loading import load_chat_model


def _skip_reason() -> str | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (uv sync --extra local)"
    try:
        import llama_cpp  # noqa: F401  (a broken native build fails here)
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"llama_cpp cannot be imported: {exc}"
    if not local_model_available():
        return "the SmolLM2 GGUF file is not installed (uv sync --extra local)"
    return None


SKIP_REASON = _skip_reason()
pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or ""),
]

GARDENING = CourseRequest(
    course_name="Gardening for beginners",
    description="Grow vegetables in a small garden.",
    language="en",
    options=CourseOptions(themes=1, topics_per_theme=1),
)


class FirstToken(AsyncCallbackHandler):
    """Tell when a model has written its first token."""

    def __init__(self) -> None:
        self.seen = asyncio.Event()

    async def on_llm_new_token(self, *args: Any, **kwargs: Any) -> None:
        self.seen.set()


@pytest.fixture(scope="module")
def local() -> ChatLlamaCppEmbedded:
    """The embedded model as the app loads it (loaded once for the module)."""
    model = load_chat_model("local")
    assert isinstance(model, ChatLlamaCppEmbedded)
    assert model.model_path == str(default_gguf_path())
    return model


def test_invoke_and_stream_report_usage(local: ChatLlamaCppEmbedded) -> None:
    answer = local.invoke("Name one color.", max_tokens=16)
    assert isinstance(answer.content, str) and answer.content.strip()
    usage = answer.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] > 0 and 0 < usage["output_tokens"] <= 16
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]

    chunks = list(local.stream("Name one animal.", max_tokens=16))
    assert "".join(c.text for c in chunks).strip()
    assert [c for c in chunks if c.usage_metadata] == [chunks[-1]]
    assert chunks[-1].response_metadata["finish_reason"] in {"stop", "length"}


async def test_async_stream_and_invoke(local: ChatLlamaCppEmbedded) -> None:
    parts = [chunk async for chunk in local.astream("Name one fruit.", max_tokens=16)]
    assert "".join(c.text for c in parts).strip()
    assert parts[-1].usage_metadata and parts[-1].usage_metadata["output_tokens"] > 0

    answer = await local.ainvoke("Name one city.", max_tokens=16)
    assert answer.text.strip()


def test_response_format_grammar_forces_the_schema(local: ChatLlamaCppEmbedded) -> None:
    schema = TopicContent.model_json_schema()
    grammar = json_schema_grammar(json.dumps(schema), 1, 40)
    assert r'char ::= [^"\\\x7F\x00-\x1F]' in grammar  # no raw newlines inside JSON strings
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "TopicContent", "schema": schema, "strict": False},
    }
    bounded = local.model_copy(update={"max_list_items": 1, "max_string_chars": 40})
    answer = bounded.invoke(
        "Write a tiny lesson about watering tomatoes.", response_format=response_format
    )
    content = TopicContent.model_validate_json(answer.text)  # the grammar's minItems hold
    assert 3 <= len(content.self_check) <= 5
    assert len(content.key_points) == 1
    assert all(len(q.question) <= 40 and len(q.answer) <= 40 for q in content.self_check)


async def test_closing_the_stream_stops_generation(local: ChatLlamaCppEmbedded) -> None:
    stream = cast(
        AsyncGenerator[AIMessageChunk, None],
        local.astream("Write a very long story about a dragon.", max_tokens=2000),
    )
    received = 0
    async for _ in stream:
        received += 1
        if received == 3:
            break
    await stream.aclose()
    # The worker holds the model's lock while it generates; ~2000 tokens take a minute.
    assert await asyncio.to_thread(local._lock.acquire, timeout=10), "generation went on"
    local._lock.release()

    first_token = FirstToken()
    task = asyncio.create_task(
        local.ainvoke(
            "Write a very long story.", max_tokens=2000, config={"callbacks": [first_token]}
        )
    )
    await asyncio.wait_for(first_token.seen.wait(), timeout=60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(local._lock.acquire, timeout=10), "generation went on"
    local._lock.release()


async def test_outline_chain_returns_a_valid_outline() -> None:
    model = load_chat_model("local")
    assert isinstance(model, ChatLlamaCppEmbedded)
    # SmolLM2 ignores the requested count and may list a dozen themes: keep it short.
    model = model.model_copy(update={"max_list_items": 3})
    result = await build_outline_chain(model).ainvoke(GARDENING)
    assert isinstance(result.output, Outline)
    assert result.output.themes and all(t.title and t.description for t in result.output.themes)
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    assert result.usage.calls >= 1


@pytest.mark.timeout(900)
async def test_graph_writes_a_tiny_course() -> None:
    model = load_chat_model("local")
    assert isinstance(model, ChatLlamaCppEmbedded)
    # SmolLM2 does not count: asked for one theme, it may propose several. One-item lists
    # (self_check keeps its three) hold the course to one theme with one topic.
    model = model.model_copy(update={"max_list_items": 1})
    result = await build_graph(model=model).ainvoke({"request": GARDENING})

    course = Course.model_validate(result["course"].model_dump())
    assert course.language == "en"
    assert len(course.themes) == 1 and len(course.themes[0].topics) == 1
    topic = course.themes[0].topics[0]
    assert topic.error is None
    assert topic.content is not None and topic.polished is not None
    assert topic.content.body_markdown.strip() and 3 <= len(topic.content.self_check) <= 5
    assert topic.polished.summary.strip() and topic.polished.body_markdown.strip()
    assert set(course.usage.by_stage) == {"outline", "topics", "content", "polish"}
    assert course.usage.total.completion_tokens > 0
    assert course.usage.total.calls >= 4


async def test_the_grammar_holds_the_model_to_the_requested_count(local: ChatLlamaCppEmbedded):
    # No `max_list_items` here: the count the request asks for travels in the schema as
    # minItems = maxItems, and the grammar built from it lets the model write no other.
    request = GARDENING.model_copy(update={"options": CourseOptions(themes=2)})
    result = await build_outline_chain(local).ainvoke(request)
    assert len(result.output.themes) == 2
    assert result.usage.calls == 1  # exactly two on the first answer: no follow-up was needed
