"""Run the four stage chains against the scripted OpenAI-compatible server over HTTP."""

import json

import pytest
from pydantic import ValidationError

from coursegen.chains.stages import (
    ContentInput,
    PolishInput,
    TopicsInput,
    build_content_chain,
    build_course_chains,
    build_outline_chain,
    build_polish_chain,
    build_topics_chain,
)
from coursegen.chains.structured import StageResult
from coursegen.domain import (
    CourseOptions,
    CourseRequest,
    Outline,
    PolishedTopic,
    ThemeTopics,
    TopicContent,
)
from tests.support.scripted_llm import Call

REQUEST = CourseRequest(
    course_name="Python for data analysts",
    description="Pandas and plotting",
    requirements="Beginners",
    language="en",
    options=CourseOptions(themes=2, topics_per_theme=2),
)


def _usage_matches(result: StageResult, call: Call) -> None:
    """The usage is what the server reported for that one call."""
    answer = json.dumps(result.output.model_dump(), ensure_ascii=False)
    assert result.usage.calls == 1
    assert result.usage.prompt_tokens == len(call.prompt_text) // 4
    assert result.usage.completion_tokens == -(-len(answer) // 6)
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens


async def test_outline_stage(model, scripted_llm):
    result = await build_outline_chain(model).ainvoke(REQUEST)
    assert isinstance(result.output, Outline)
    assert [t.title for t in result.output.themes] == ["Theme 1", "Theme 2"]
    assert result.output.themes[0].description == "Theme 1 — Python for data analysts"
    (call,) = scripted_llm.calls
    assert call.schema == "Outline"
    assert call.data == {
        "course_name": "Python for data analysts",
        "description": "Pandas and plotting",
        "requirements": "Beginners",
    }
    assert "- Propose exactly 2 themes.\n" in call.system
    _usage_matches(result, call)


async def test_topics_stage(model, scripted_llm):
    outline = Outline.model_validate(
        {
            "themes": [
                {"title": "Intro", "description": "d"},
                {"title": "Pandas", "description": "e"},
            ]
        }
    )
    inp = TopicsInput(request=REQUEST, outline=outline, theme_index=1)
    result = await build_topics_chain(model).ainvoke(inp)
    assert isinstance(result.output, ThemeTopics)
    assert [t.title for t in result.output.topics] == ["Pandas / Topic 1", "Pandas / Topic 2"]
    (call,) = scripted_llm.calls
    assert call.schema == "ThemeTopics"
    assert call.data["outline"] == ["1. Intro", "2. Pandas"]
    assert call.data["theme"] == {"title": "Pandas", "description": "e"}
    assert "Split theme no. 2 of this course" in call.messages[-1]["content"]
    _usage_matches(result, call)


async def test_content_stage(model, scripted_llm):
    topics = ThemeTopics.model_validate(
        {
            "topics": [
                {"title": "Series", "description": "s"},
                {"title": "Frames", "description": "f"},
            ]
        }
    )
    theme = {"title": "Pandas", "description": "e"}
    inp = ContentInput(request=REQUEST, theme=theme, topics=topics, topic_index=1)
    result = await build_content_chain(model).ainvoke(inp)
    assert isinstance(result.output, TopicContent)
    assert result.output.body_markdown.startswith("Lesson 'Frames'.")
    assert len(result.output.self_check) == 3
    (call,) = scripted_llm.calls
    assert call.schema == "TopicContent"
    assert call.data["theme"] == {"title": "Pandas", "topics": ["Series", "Frames"]}
    assert call.data["topic"] == {
        "number": "1.2",
        "title": "Frames",
        "description": "f",
        "key_terms": [],
    }
    _usage_matches(result, call)


async def test_a_content_call_is_one_content_run_above_the_model(model, scripted_llm):
    """Tracers see a content call as they see the other stages: one named run, then the
    model's (the chain picks its cited or uncited schema without a run of its own)."""
    topics = ThemeTopics.model_validate({"topics": [{"title": "Series", "description": "s"}]})
    theme = {"title": "Pandas", "description": "e"}
    inp = ContentInput(request=REQUEST, theme=theme, topics=topics, topic_index=0)
    chain = build_content_chain(model)
    events = [e async for e in chain.astream_events(inp, version="v2")]
    starts = [(e["event"], e["name"]) for e in events if e["event"].endswith("_start")]
    assert starts == [("on_chain_start", "content"), ("on_chat_model_start", "StreamingChatOpenAI")]
    assert (events[-1]["event"], events[-1]["name"]) == ("on_chain_end", "content")
    assert isinstance((await chain.ainvoke(inp)).output, TopicContent)
    assert chain.InputType is ContentInput
    assert chain.OutputType is StageResult[TopicContent]


async def test_polish_stage(model, scripted_llm):
    draft = TopicContent(
        body_markdown="Draft body",
        key_points=["k1", "k2"],
        examples=[],
        self_check=[{"question": "q", "answer": "a"}] * 3,
    )
    inp = PolishInput(
        request=REQUEST,
        theme={"title": "Pandas", "description": "e"},
        topic={"title": "Frames", "description": "f"},
        content=draft,
    )
    result = await build_polish_chain(model).ainvoke(inp)
    assert result.output == PolishedTopic(
        summary="Summary: Frames", body_markdown="✨ Draft body", key_points=["k1", "k2"]
    )
    (call,) = scripted_llm.calls
    assert call.schema == "PolishedTopic"
    assert call.data["draft"] == draft.model_dump()
    assert call.data["theme"] == "Pandas"
    _usage_matches(result, call)


async def test_course_chains_run_in_sequence(model, scripted_llm):
    chains = build_course_chains(model)
    outline = (await chains.outline.ainvoke(REQUEST.model_dump())).output
    topics = (
        await chains.topics.ainvoke({"request": REQUEST, "outline": outline, "theme_index": 0})
    ).output
    content = (
        await chains.content.ainvoke(
            {"request": REQUEST, "theme": outline.themes[0], "topics": topics, "topic_index": 0}
        )
    ).output
    polished = (
        await chains.polish.ainvoke(
            {
                "request": REQUEST,
                "theme": outline.themes[0],
                "topic": topics.topics[0],
                "content": content,
            }
        )
    ).output
    assert polished.body_markdown == "✨ " + content.body_markdown
    assert polished.key_points == content.key_points
    schemas = [c.schema for c in scripted_llm.calls]
    assert schemas == ["Outline", "ThemeTopics", "TopicContent", "PolishedTopic"]


def test_sync_invoke_works(model, scripted_llm):
    result = build_outline_chain(model).invoke(REQUEST)
    assert len(result.output.themes) == 2
    assert scripted_llm.calls[0].body["stream"] is True


async def test_chain_rejects_bad_input_before_calling_the_model(model, scripted_llm):
    with pytest.raises(ValidationError):
        await build_outline_chain(model).ainvoke({"course_name": "X", "colour": "red"})  # type: ignore[arg-type]
    assert scripted_llm.calls == []


def test_chains_declare_their_input_and_output_types(model):
    chain = build_topics_chain(model)
    assert chain.InputType is TopicsInput
    assert chain.OutputType is StageResult[ThemeTopics]
