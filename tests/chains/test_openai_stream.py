"""The lean OpenAI stream: same chunks as ChatOpenAI's own path, errors typed for retries."""

from collections.abc import AsyncIterator

import openai
import pytest
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_openai import ChatOpenAI

from coursegen.chains.stages import build_outline_chain
from coursegen.domain import CourseRequest, Outline
from coursegen.providers.openai_stream import StreamingChatOpenAI, _sse_data
from tests.support.scripted_llm import Fault

REQUEST = CourseRequest(course_name="Statistics for biologists", language="en")


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def test_sse_data_skips_comments_and_joins_multiline_data() -> None:
    lines = _lines(": keep-alive", "", "event: chunk", 'data: {"a":', "data: 1}", "", "data:[DONE]")
    assert [d async for d in _sse_data(lines)] == ['{"a":\n1}', "[DONE]"]


async def test_streams_without_the_sdks_typed_chunks(model, scripted_llm, monkeypatch):
    async def sdk_path(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("ChatOpenAI's own stream was used")
        yield

    monkeypatch.setattr(ChatOpenAI, "_astream", sdk_path)
    assert isinstance(model, StreamingChatOpenAI)
    tokens: list[str] = []
    result = await build_outline_chain(model).ainvoke(REQUEST, {"callbacks": [_Collect(tokens)]})
    assert len(result.output.themes) == 4  # unset: at least the 4 themes the bounds ask for
    assert len(tokens) > 3  # streamed piece by piece, through the callbacks
    assert Outline.model_validate_json("".join(tokens)) == result.output
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert scripted_llm.calls[0].body["stream_options"] == {"include_usage": True}


async def test_the_same_answer_and_usage_as_chatopenai(model, scripted_llm):
    ours = await build_outline_chain(model).ainvoke(REQUEST)
    plain = ChatOpenAI(
        model="scripted",
        base_url=scripted_llm.base_url,
        api_key="not-needed",
        max_retries=0,
        stream_usage=True,
    )
    theirs = await build_outline_chain(plain).ainvoke(REQUEST)
    assert ours.output == theirs.output
    assert ours.usage == theirs.usage


async def test_a_dropped_stream_is_a_connection_error(model, scripted_llm):
    scripted_llm.script = lambda call: Fault("drop")
    stream = model.astream("hello")
    with pytest.raises(openai.APIConnectionError):
        async for _ in stream:
            pass


class _Collect(AsyncCallbackHandler):
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens

    async def on_llm_new_token(self, token, **kwargs):  # type: ignore[no-untyped-def]
        self.tokens.append(token)


async def test_calls_reuse_one_connection(model, scripted_llm):
    """A stream read to its end hands its connection back to the pool for the next call."""
    peers: set[int] = set()
    for _ in range(3):
        async for _chunk in model.astream("hello"):
            pass
        peers.add(scripted_llm.calls[-1].client_port)
    assert len(peers) == 1
