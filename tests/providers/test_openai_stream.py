"""The lean OpenAI stream: same answer as ChatOpenAI's own path, joined per read, typed errors."""

import time
from typing import Any

import openai
import pytest
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.outputs import LLMResult
from langchain_openai import ChatOpenAI

from coursegen.chains.stages import build_outline_chain
from coursegen.domain import CourseRequest, Outline
from coursegen.providers.openai_stream import (
    SSEData,
    StreamingChatOpenAI,
    TokenSink,
    _joined,
    _serialized,
)
from tests.support.scripted_llm import Fault

REQUEST = CourseRequest(course_name="Statistics for biologists", language="en")


def test_sse_data_skips_comments_and_joins_multiline_data() -> None:
    events = SSEData()
    assert events.feed(b': keep-alive\n\nevent: chunk\ndata: {"a":\ndata: 1}\n\ndata:[DO') == [
        b'{"a":\n1}'
    ]
    assert events.feed(b"NE]") == []
    assert events.close() == [b"[DONE]"]  # the stream ended without the blank line


def test_sse_data_reads_crlf_split_between_reads() -> None:
    events = SSEData()
    assert events.feed(b"data: 1\r") == []
    assert events.feed(b"\n\r") == []  # the CR may still be half of a CRLF
    assert events.feed(b"\ndata: 2\r\n\r\n") == [b"1", b"2"]


def _chunk(content: str | None = None, **choice: Any) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {"id": "c", "choices": [{"index": 0, "delta": delta, **choice}]}


def test_plain_chunks_are_joined_and_the_others_kept_in_order() -> None:
    first = _chunk("")
    first["choices"][0]["delta"]["role"] = "assistant"
    finish = _chunk(finish_reason="stop")
    usage = {"id": "c", "choices": [], "usage": {"prompt_tokens": 1}}
    joined = list(_joined([first, _chunk("a"), _chunk("b"), finish, _chunk("c"), usage]))
    assert [c["choices"][0]["delta"] if c["choices"] else c["usage"] for c in joined] == [
        {"role": "assistant", "content": "ab"},
        {},
        {"content": "c"},
        {"prompt_tokens": 1},
    ]


async def test_streams_without_the_sdks_typed_chunks(model, scripted_llm, monkeypatch):
    async def sdk_path(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("ChatOpenAI's own stream was used")
        yield

    monkeypatch.setattr(ChatOpenAI, "_astream", sdk_path)
    assert isinstance(model, StreamingChatOpenAI)
    scripted_llm.token_s = 0.005  # pieces apart: reads of one token each
    tokens: list[str] = []
    result = await build_outline_chain(model).ainvoke(REQUEST, {"callbacks": [_Collect(tokens)]})
    assert len(result.output.themes) == 4  # unset: at least the 4 themes the bounds ask for
    assert len(tokens) > 3  # streamed piece by piece, through the callbacks
    assert Outline.model_validate_json("".join(tokens)) == result.output
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert scripted_llm.calls[0].body["stream_options"] == {"include_usage": True}


async def test_the_same_answer_and_usage_as_chatopenai(model, scripted_llm, monkeypatch):
    def sdk_encoder(body: Any) -> bytes:
        raise AssertionError("the SDK encoded the body")

    with monkeypatch.context() as patch:
        patch.setattr(openai._base_client, "openapi_dumps", sdk_encoder)
        ours = await build_outline_chain(model).ainvoke(REQUEST)
    plain = ChatOpenAI(
        model="scripted",
        base_url=scripted_llm.base_url,
        api_key="not-needed",
        max_retries=0,
        stream_usage=True,
        temperature=model.temperature,
    )
    theirs = await build_outline_chain(plain).ainvoke(REQUEST)
    assert ours.output == theirs.output
    assert ours.usage == theirs.usage
    # The body serialised here (orjson, `extra_body` merged in) is the one the SDK sends.
    ours_sent, theirs_sent = (call.body for call in scripted_llm.calls)
    assert ours_sent == theirs_sent and "response_format" in ours_sent


def test_a_body_orjson_cannot_send_as_the_sdk_would_is_left_to_the_sdk() -> None:
    assert _serialized({"model": "m", "messages": [{"role": "user", "content": "é"}]}) == (
        '{"model":"m","messages":[{"role":"user","content":"é"}]}'.encode()
    )
    assert _serialized({"model": "m", "temperature": float("nan")}) is None  # the SDK refuses it
    assert _serialized({"model": "m", "metadata": REQUEST}) is None  # a pydantic model inside
    assert _serialized({"model": "m", "seed": 2**70}) is None
    # A lone surrogate (a bad model's answer sent back in a repair prompt) fails as before.
    assert _serialized({"messages": [{"role": "user", "content": "\ud800"}]}) is None


async def test_a_dropped_stream_is_a_connection_error(model, scripted_llm):
    scripted_llm.script = lambda call: Fault("drop")
    stream = model.astream("hello")
    with pytest.raises(openai.APIConnectionError):
        async for _ in stream:
            pass


class _Collect(AsyncCallbackHandler):
    def __init__(self, tokens: list[str], stall_s: float = 0.0) -> None:
        self.tokens, self.stall_s = tokens, stall_s

    async def on_llm_new_token(self, token, **kwargs):  # type: ignore[no-untyped-def]
        if self.stall_s and token:
            time.sleep(self.stall_s)  # noqa: ASYNC251 (on purpose: the server writes on meanwhile)
            self.stall_s = 0.0
        self.tokens.append(token)


async def test_calls_reuse_one_connection(model, scripted_llm):
    """A stream read to its end hands its connection back to the pool for the next call."""
    peers: set[int] = set()
    for _ in range(3):
        async for _chunk in model.astream("hello"):
            pass
        peers.add(scripted_llm.calls[-1].client_port)
    assert len(peers) == 1


async def test_tokens_read_together_come_as_one_chunk(model, scripted_llm):
    """Pieces that arrived while the reader was busy come as one chunk: same text and answer."""
    tokens: list[str] = []
    slow = _Collect(tokens, stall_s=0.2)  # holds the loop once: the server writes on meanwhile
    result = await build_outline_chain(model).ainvoke(REQUEST, {"callbacks": [slow]})
    text = "".join(tokens)
    pieces = -(-len(text) // scripted_llm.chunk_chars)  # what the server sent, one by one
    assert 0 < len([t for t in tokens if t]) < pieces
    assert Outline.model_validate_json("".join(tokens)) == result.output


class _Sink(TokenSink):
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.tokens: list[str] = []

    def stream_text(self, text: str) -> None:
        self.texts.append(text)

    async def on_llm_new_token(self, token, **kwargs):  # type: ignore[no-untyped-def]
        if not self.direct:
            self.tokens.append(token)


class _Ends(AsyncCallbackHandler):
    """Sees starts and ends only (no tokens), like a run-level tracer."""

    def __init__(self) -> None:
        self.starts = 0
        self.results: list[LLMResult] = []

    async def on_chat_model_start(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.starts += 1

    async def on_llm_end(self, response, **kwargs):  # type: ignore[no-untyped-def]
        self.results.append(response)


async def test_a_lone_token_sink_takes_the_text_off_langchains_path(model, scripted_llm):
    sink, ends = _Sink(), _Ends()
    scripted_llm.token_s = 0.002
    result = await build_outline_chain(model).ainvoke(REQUEST, {"callbacks": [sink, ends]})
    assert sink.texts and not sink.tokens
    assert Outline.model_validate_json("".join(sink.texts)) == result.output
    # LangChain still saw the call: its start, its end with the whole message and usage.
    assert ends.starts == 1 and len(ends.results) == 1
    message = ends.results[0].generations[0][0].message  # type: ignore[attr-defined]
    assert Outline.model_validate_json(message.content) == result.output
    assert message.usage_metadata["output_tokens"] == result.usage.completion_tokens
    assert not sink.direct  # reset after the call


async def test_a_sink_beside_a_token_listener_gets_the_callbacks(model, scripted_llm):
    sink, tokens = _Sink(), []
    result = await build_outline_chain(model).ainvoke(
        REQUEST, {"callbacks": [sink, _Collect(tokens)]}
    )
    assert not sink.texts and sink.tokens == tokens
    assert Outline.model_validate_json("".join(tokens)) == result.output


async def test_an_error_status_is_the_sdks_error_with_its_headers(scripted_llm):
    scripted_llm.script = lambda call: Fault("http", status=429, retry_after=2)
    model = StreamingChatOpenAI(
        model="scripted", base_url=scripted_llm.base_url, api_key="sk-test", max_retries=0
    )
    with pytest.raises(openai.RateLimitError) as raised:
        async for _ in model.astream("hello"):
            pass
    assert raised.value.response.headers["retry-after"] == "2"
    assert scripted_llm.calls[0].authorization == "Bearer sk-test"
    assert scripted_llm.calls[0].body["stream"] is True
