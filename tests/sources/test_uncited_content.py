"""A content call is offered the `citations` field only when it has source passages."""

import pytest

from coursegen.chains.stages import ContentInput, build_content_chain
from coursegen.domain import CourseRequest, Passage, ThemeTopics, TopicContent
from coursegen.graph.grounding import ground
from coursegen.providers.sandbox import ChatSandbox
from tests.support.scripted_llm import ScriptedLLM, sent_schema

MODES = ["json_schema", "function_calling", "json_mode"]
REQUEST = CourseRequest(course_name="Oceans", language="en")
TOPICS = ThemeTopics.model_validate(
    {"topics": [{"title": "Tides", "description": "Why the sea rises and falls"}]}
)
PASSAGE = Passage(
    source_id="s1", title="Ocean guide", index=0, text="The moon pulls the oceans twice a day."
)


def _input(passages: list[Passage]) -> ContentInput:
    theme = {"title": "The sea", "description": "Water in motion"}
    return ContentInput(
        request=REQUEST, theme=theme, topics=TOPICS, topic_index=0, passages=passages
    )


@pytest.mark.parametrize("mode", MODES)
async def test_only_a_call_with_passages_is_sent_a_citations_field(
    model, scripted_llm: ScriptedLLM, mode
) -> None:
    chain = build_content_chain(model, mode)
    uncited = await chain.ainvoke(_input([]))
    cited = await chain.ainvoke(_input([PASSAGE]))
    assert isinstance(uncited.output, TopicContent) and isinstance(cited.output, TopicContent)
    without, with_ = (sent_schema(c.body) for c in scripted_llm.calls)
    assert [c.schema for c in scripted_llm.calls] == ["TopicContent", "TopicContent"]
    assert "citations" not in without["properties"]
    assert "citations" in with_["properties"]
    assert set(with_["properties"]) - set(without["properties"]) == {"citations"}
    assert cited.output.citations  # the scripted model cites the passage it was given


@pytest.mark.parametrize("mode", MODES)
async def test_the_sandbox_writes_no_citations_to_drop_for_a_course_without_sources(
    mode,
) -> None:
    result = await build_content_chain(ChatSandbox(tokens_per_s=0), mode).ainvoke(_input([]))
    assert result.output.citations == []
    _, kept, dropped = ground(result.output, [])
    assert (kept, dropped) == ([], 0)
