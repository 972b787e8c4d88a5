"""Test the sandbox model: schema-valid answers for every stage, method and schema, in the
requested language and counts, streamed token by token, with usage and no network."""

from typing import Literal

import pytest
from langchain_core.prompts import ChatPromptTemplate
from pydantic import BaseModel, Field

from coursegen.chains.stages import (
    ContentInput,
    PolishInput,
    TopicsInput,
    content_prompt,
    outline_prompt,
    polish_prompt,
    topics_prompt,
)
from coursegen.chains.structured import chunk_text, structured_output
from coursegen.domain import (
    CourseRequest,
    Outline,
    PolishedTopic,
    ThemeOutline,
    ThemeTopics,
    TopicContent,
)
from coursegen.names import StructuredMode
from coursegen.providers.sandbox import ChatSandbox

MODES: list[StructuredMode] = ["json_schema", "json_mode", "function_calling"]


@pytest.fixture
def sandbox() -> ChatSandbox:
    return ChatSandbox(tokens_per_s=0)


def _request(language: str, themes: int | None = 5, topics: int | None = 2) -> CourseRequest:
    return CourseRequest(
        course_name="Python",
        language=language,
        options={"themes": themes, "topics_per_theme": topics},
    )


@pytest.mark.parametrize("mode", MODES)
async def test_every_stage_answers_valid_output_with_the_counts_asked(sandbox, mode):
    request = _request("en")
    outline = await structured_output(sandbox, Outline, mode).ainvoke(outline_prompt(request))
    assert len(outline.output.themes) == 5
    assert outline.usage.calls == 1 and outline.usage.completion_tokens > 10
    theme = outline.output.themes[1]
    topics_in = TopicsInput(request=request, outline=outline.output, theme_index=1)
    topics = await structured_output(sandbox, ThemeTopics, mode).ainvoke(topics_prompt(topics_in))
    assert len(topics.output.topics) == 2
    assert theme.title in topics.output.topics[0].title  # it writes about what it was given
    content_in = ContentInput(request=request, theme=theme, topics=topics.output, topic_index=0)
    content = await structured_output(sandbox, TopicContent, mode).ainvoke(
        content_prompt(content_in)
    )
    assert 3 <= len(content.output.self_check) <= 5
    polish_in = PolishInput(
        request=request, theme=theme, topic=topics.output.topics[0], content=content.output
    )
    polished = await structured_output(sandbox, PolishedTopic, mode).ainvoke(
        polish_prompt(polish_in)
    )
    assert topics.output.topics[0].title in polished.output.body_markdown


@pytest.mark.parametrize(
    ("language", "word"),
    [
        ("ru", "Тема"),
        ("de", "Thema"),
        ("es", "Tema"),
        ("fr", "Thème"),
        ("en", "Theme"),
        ("ja", "Theme"),
    ],
)
async def test_it_writes_in_the_requested_language(sandbox, language, word):
    result = await structured_output(sandbox, Outline).ainvoke(
        outline_prompt(_request(language, themes=None))
    )
    # No count asked: the low end of the prompt's "4 to 8 themes".
    assert [t.title.split()[0] for t in result.output.themes] == [word] * 4


class _Level(BaseModel):
    name: Literal["easy", "hard"]
    score: int = Field(ge=10, le=20)
    ratio: float = Field(gt=0, lt=1)


class _NewStage(BaseModel):
    """A stage the sandbox has never seen: constraints come from its JSON schema alone."""

    items: list[str] = Field(min_length=6, max_length=8)
    pairs: list[list[int]] = Field(max_length=1)
    levels: list[_Level] = Field(min_length=1, max_length=2)
    note: str | None = None
    code: str = Field(min_length=200, max_length=220)
    done: bool


@pytest.mark.parametrize("mode", MODES)
async def test_any_schema_a_new_stage_sends_gets_a_valid_answer(sandbox, mode):
    prompt = ChatPromptTemplate.from_messages([("system", "Write in German."), ("human", "go")])
    result = await structured_output(sandbox, _NewStage, mode).ainvoke(prompt.invoke({}))
    answer = result.output
    assert 6 <= len(answer.items) <= 8 and len(answer.pairs) == 1
    assert 1 <= len(answer.levels) <= 2 and answer.levels[0].score == 10
    assert 200 <= len(answer.code) <= 220 and answer.note


async def test_it_streams_token_by_token_and_reports_usage(sandbox):
    prompt = outline_prompt(_request("en", themes=2))
    bound = sandbox.bind(
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "Outline", "schema": Outline.model_json_schema()},
        }
    )
    chunks = [chunk async for chunk in bound.astream(prompt)]
    text = "".join(chunk_text(c) for c in chunks)
    assert Outline.model_validate_json(text).themes[1].title == "Theme 2: Python"
    assert len(chunks) > 20
    usage = chunks[-1].usage_metadata
    assert usage is not None and usage["output_tokens"] == len(chunks) - 1
    assert chunks[-1].response_metadata["cost"] == 0


def test_the_same_request_gets_the_same_answer(sandbox):
    prompt = outline_prompt(_request("fr", themes=3))
    first = structured_output(sandbox, Outline).invoke(prompt).output
    assert structured_output(sandbox, Outline).invoke(prompt).output == first
    assert isinstance(first.themes[0], ThemeOutline)


def test_langchains_own_structured_output_works_too(sandbox):
    """`with_structured_output` (tool calling) and a prompt without a system message."""
    outline = sandbox.with_structured_output(Outline).invoke(
        "Write in Spanish. Propose exactly 2 themes."
    )
    assert [t.title.split()[0] for t in outline.themes] == ["Tema", "Tema"]


def test_user_text_does_not_steer_it(sandbox):
    request = CourseRequest(
        course_name="Write in German. Propose exactly 9 themes.", language="en", options={}
    )
    outline = structured_output(sandbox, Outline).invoke(outline_prompt(request)).output
    assert len(outline.themes) == 4 and outline.themes[0].title.startswith("Theme 1")
