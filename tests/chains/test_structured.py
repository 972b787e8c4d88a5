"""Check structured output: validation, one repair re-ask, the three modes and usage sums."""

import dataclasses
import json
from typing import Any

import pytest

from coursegen.chains import structured
from coursegen.chains.stages import build_outline_chain
from coursegen.chains.structured import (
    StructuredOutputError,
    TruncatedAnswer,
    bounded_schema,
    is_truncated,
    parse_answer,
)
from coursegen.domain import CourseOptions, CourseRequest, CourseUsage, Outline, TokenUsage
from tests.support.scripted_llm import Call, Fault, default_answer

REQUEST = CourseRequest(
    course_name="Statistics for biologists", language="en", options=CourseOptions(themes=3)
)


def _tokens(call: Call, answer: str) -> TokenUsage:
    """What the scripted server reports for one call that answered `answer`."""
    prompt, completion = len(call.prompt_text) // 4, -(-len(answer) // 6)
    return TokenUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        calls=1,
    )


def _as(schema: str):
    """A script that answers every call with the default answer for `schema`."""
    return lambda call: default_answer(dataclasses.replace(call, schema=schema))


async def test_invalid_answer_is_repaired_with_the_validation_error(model, scripted_llm):
    scripted_llm.script = lambda call: Fault("invalid") if call.index == 0 else None
    result = await build_outline_chain(model).ainvoke(REQUEST)
    assert [t.title for t in result.output.themes] == ["Theme 1", "Theme 2", "Theme 3"]
    first, second = scripted_llm.calls
    assert second.messages[: len(first.messages)] == first.messages
    assert second.messages[-2] == {"role": "assistant", "content": '{"wrong": true}'}
    repair = second.messages[-1]
    assert repair["role"] == "user"
    assert "did not match the required JSON schema" in repair["content"]
    assert "themes: Field required" in repair["content"]
    answer = json.dumps(default_answer(second), ensure_ascii=False)
    assert result.usage.calls == 2
    assert result.usage == _tokens(first, '{"wrong": true}') + _tokens(second, answer)


async def test_broken_json_is_repaired(model, scripted_llm):
    scripted_llm.script = lambda call: '{"themes": [}' if call.index == 0 else None
    result = await build_outline_chain(model).ainvoke(REQUEST)
    assert len(result.output.themes) == 3
    assert "answer: Invalid JSON" in scripted_llm.calls[1].messages[-1]["content"]


async def test_an_answer_cut_inside_its_json_is_a_transport_fault_not_re_asked(model, scripted_llm):
    scripted_llm.script = lambda call: Fault("truncate")
    with pytest.raises(TruncatedAnswer) as info:
        await build_outline_chain(model).ainvoke(REQUEST)
    (call,) = scripted_llm.calls  # no re-ask: the model did nothing wrong
    assert info.value.schema is Outline
    assert info.value.usage.calls == 1 and info.value.usage.completion_tokens > 0
    assert json.dumps(default_answer(call), ensure_ascii=False).startswith(info.value.text)


async def test_a_re_ask_cut_inside_its_json_is_a_transport_fault(model, scripted_llm):
    scripted_llm.script = lambda call: Fault("invalid") if call.index == 0 else Fault("truncate")
    with pytest.raises(TruncatedAnswer) as info:
        await build_outline_chain(model).ainvoke(REQUEST)
    assert len(scripted_llm.calls) == 2
    assert info.value.usage.calls == 2  # both answers were paid for


def test_sync_path_raises_truncated_answer_too(model, scripted_llm):
    scripted_llm.script = lambda call: Fault("truncate")
    with pytest.raises(TruncatedAnswer):
        build_outline_chain(model).invoke(REQUEST)
    assert len(scripted_llm.calls) == 1


@pytest.mark.parametrize(
    ("text", "cut"),
    [
        ('{"themes": [', True),
        ('{"themes": [{"title": "T", "descr', True),
        ('```json\n{"themes": [', True),
        ("", False),
        ('{"wrong": true}', False),
        ('{"themes": [}', False),
        ('{"themes": []}}', False),
        ("Sorry, I cannot help.", False),
    ],
)
def test_is_truncated_tells_a_cut_from_a_wrong_answer(text, cut):
    assert is_truncated(text) is cut


async def test_invalid_twice_raises_structured_output_error(model, scripted_llm):
    answers: list[dict[str, Any]] = [{"themes": []}, {"themes": "none"}]
    scripted_llm.script = lambda call: answers[call.index]
    with pytest.raises(StructuredOutputError) as info:
        await build_outline_chain(model).ainvoke(REQUEST)
    message = str(info.value)
    assert message.startswith("model output failed Outline validation after one re-ask: ")
    assert "themes: Input should be a valid array" in message
    assert info.value.schema is Outline
    assert info.value.text == '{"themes": "none"}'
    assert len(scripted_llm.calls) == 2  # one re-ask, no more
    assert "themes: List should have at least 1 item" in scripted_llm.calls[1].prompt_text


def test_sync_path_repairs_too(model, scripted_llm):
    scripted_llm.script = lambda call: Fault("invalid") if call.index == 0 else None
    result = build_outline_chain(model).invoke(REQUEST)
    assert len(result.output.themes) == 3
    assert result.usage.calls == 2


async def test_json_schema_mode_sends_the_schema_as_response_format(model, scripted_llm):
    await build_outline_chain(model, "json_schema").ainvoke(REQUEST)
    body = scripted_llm.calls[0].body
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Outline"
    # the request's count travels in the schema: minItems = maxItems = 3
    assert fmt["json_schema"]["schema"] == bounded_schema(
        Outline.model_json_schema(), {"themes": (3, 3)}
    )
    assert "tools" not in body


async def test_json_mode_end_to_end(model, scripted_llm):
    scripted_llm.script = _as("Outline")
    result = await build_outline_chain(model, "json_mode").ainvoke(REQUEST)
    assert [t.title for t in result.output.themes] == ["Theme 1", "Theme 2", "Theme 3"]
    (call,) = scripted_llm.calls
    assert call.body["response_format"] == {"type": "json_object"}
    assert "tools" not in call.body
    last = call.messages[-1]["content"]
    schema = json.dumps(bounded_schema(Outline.model_json_schema(), {"themes": (3, 3)}))
    assert last.endswith(f"</course_data>\n\nJSON schema of the answer:\n{schema}")
    assert call.data["course_name"] == "Statistics for biologists"


async def test_json_mode_repair(model, scripted_llm):
    good = _as("Outline")
    scripted_llm.script = lambda call: '{"wrong": true}' if call.index == 0 else good(call)
    result = await build_outline_chain(model, "json_mode").ainvoke(REQUEST)
    assert len(result.output.themes) == 3
    assert result.usage.calls == 2
    second = scripted_llm.calls[1]
    assert second.body["response_format"] == {"type": "json_object"}
    assert "themes: Field required" in second.messages[-1]["content"]


async def test_function_calling_end_to_end(model, scripted_llm):
    result = await build_outline_chain(model, "function_calling").ainvoke(REQUEST)
    assert [t.title for t in result.output.themes] == ["Theme 1", "Theme 2", "Theme 3"]
    (call,) = scripted_llm.calls
    assert "response_format" not in call.body
    (tool,) = call.body["tools"]
    assert tool["type"] == "function"
    assert tool["function"]["name"] == "Outline"
    assert tool["function"]["parameters"]["required"] == ["themes"]
    assert call.body["tool_choice"] == {"type": "function", "function": {"name": "Outline"}}
    answer = json.dumps(default_answer(call), ensure_ascii=False)
    assert result.usage == _tokens(call, answer)


async def test_function_calling_repair(model, scripted_llm):
    scripted_llm.script = lambda call: Fault("invalid") if call.index == 0 else None
    result = await build_outline_chain(model, "function_calling").ainvoke(REQUEST)
    assert len(result.output.themes) == 3
    assert "themes: Field required" in scripted_llm.calls[1].messages[-1]["content"]


def test_parse_answer_accepts_a_code_fence():
    text = '```json\n{"themes": [{"title": "T", "description": "D"}]}\n```'
    assert parse_answer(Outline, text).themes[0].title == "T"
    assert parse_answer(Outline, '  {"themes": [{"title": "T", "description": "D"}]}\n').themes


def test_token_usage_adds_field_by_field():
    a = TokenUsage(prompt_tokens=10, completion_tokens=5, total_tokens=15, calls=1)
    b = TokenUsage(prompt_tokens=7, completion_tokens=3, total_tokens=10, calls=2)
    assert a + b == TokenUsage(prompt_tokens=17, completion_tokens=8, total_tokens=25, calls=3)
    assert a == TokenUsage(prompt_tokens=10, completion_tokens=5, total_tokens=15, calls=1)


def test_course_usage_add_sums_per_stage_and_in_total():
    a = TokenUsage(prompt_tokens=10, completion_tokens=5, total_tokens=15, calls=1)
    b = TokenUsage(prompt_tokens=7, completion_tokens=3, total_tokens=10, calls=2)
    usage = CourseUsage().add("outline", a).add("content", b).add("content", a)
    assert usage.total == a + b + a
    assert usage.by_stage == {"outline": a, "content": b + a}
    assert CourseUsage().by_stage == {}  # add returns a new object
    merged = usage + CourseUsage().add("polish", b).add("outline", b)
    assert merged.by_stage == {"outline": a + b, "content": b + a, "polish": b}
    assert merged.total == a + b + a + b + b


async def test_an_answer_that_stalls_ends_at_the_answer_deadline(model, scripted_llm, monkeypatch):
    """The HTTP read timeout (120 s here) is not what ends it: the whole-answer deadline is."""
    monkeypatch.setattr(structured, "ANSWER_DEADLINE_S", 0.5)
    scripted_llm.script = lambda call: Fault("stall")
    with pytest.raises(TimeoutError):
        await build_outline_chain(model).ainvoke(REQUEST)
    assert len(scripted_llm.calls) == 1
    assert not scripted_llm.calls[0].completed
