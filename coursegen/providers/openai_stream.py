"""ChatOpenAI whose async stream reads the server's SSE itself: one chunk per network read."""
# ~360 lines on purpose: the read loop, the SSE parser, the coalescing and the token-sink path
# share one per-call state (the queue of reads, the usage, the final message); split, each
# part would have to pass that state back and forth.

import asyncio
import contextlib
import contextvars
import math
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import openai
import orjson
from langchain_core.callbacks import (
    AsyncCallbackHandler,
    AsyncCallbackManager,
    BaseCallbackHandler,
)
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessageChunk, BaseMessage, BaseMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import RunnableConfig, ensure_config
from langchain_openai import ChatOpenAI

from coursegen.providers.core.chunked import (
    AsyncChunks,
    AsyncChunkSource,
    AsyncRun,
    Messages,
    Options,
    Stop,
)

HTTP_LIBRARIES = {"httpx", "httpx2", "httpcore", "httpcore2", "anyio", "h11"}
# The fields of a chunk whose text can be joined with the next one's (see `_plain`).
# The SDK's own header for "hand me the response unread" (`with_streaming_response`).
_RAW_RESPONSE = "X-Stainless-Raw-Response"
_PLAIN_CHOICE = frozenset({"index", "delta", "finish_reason", "logprobs"})
_PLAIN_DELTA = frozenset({"content", "role", "refusal"})


class TokenSink(AsyncCallbackHandler):
    """A callback handler that can take a call's text straight from the stream.

    When every other handler of a call ignores tokens, `StreamingChatOpenAI` hands the text
    of each network read to `stream_text` and gives LangChain the answer in a few chunks at the
    end, instead of one chunk per token through the callback manager. LangChain still sees
    the call start and end, its usage and its final message; the sink's `on_llm_new_token`
    must then skip the text it already had: `direct` says so for the call under way.
    """

    direct = False

    def stream_text(self, text: str) -> None:
        """Take the next piece of the answer (the text of one network read)."""
        raise NotImplementedError


_SINK: contextvars.ContextVar[TokenSink | None] = contextvars.ContextVar("_SINK", default=None)
_NO_TOKENS = {BaseCallbackHandler.on_llm_new_token, AsyncCallbackHandler.on_llm_new_token}


def _wants_tokens(handler: BaseCallbackHandler) -> bool:
    if handler.ignore_llm:
        return False
    return getattr(type(handler), "on_llm_new_token", None) not in _NO_TOKENS


def direct_sink(config: RunnableConfig, own: list[Any] | None, verbose: bool) -> TokenSink | None:
    """The one sink of a call that no other handler needs the tokens of, else None."""
    callbacks = config.get("callbacks")
    if callbacks is None or (isinstance(callbacks, list) and not callbacks):
        return None  # no sink can be there: skip configuring the managers
    # `configure` also adds what the environment asks for (tracing, console): those count.
    manager = AsyncCallbackManager.configure(callbacks, own, verbose)
    handlers: list[BaseCallbackHandler] = list(manager.handlers)
    sinks = [h for h in handlers if isinstance(h, TokenSink)]
    if len(sinks) != 1 or any(_wants_tokens(h) for h in handlers if h is not sinks[0]):
        return None
    return sinks[0]


class StreamingChatOpenAI(AsyncChunkSource, ChatOpenAI):
    """ChatOpenAI with a leaner async Chat Completions stream.

    The SDK turns every streamed chunk into a typed model and LangChain dumps it straight
    back into a dict; here the SDK still sends the request (retries, Retry-After, status
    errors as its exceptions) but the body is read as SSE with orjson. The chunks of one
    network read are joined into one, so that under load the per-chunk costs (message
    objects, callback dispatch, merging, the event they become) are paid per read, not per
    token, while an idle stream still delivers every token as it comes. With a `TokenSink`
    that is the only handler wanting tokens, the text bypasses LangChain altogether (see
    `TokenSink`). Whatever this path does not cover (the Responses API, `response_format`
    passed as a parameter, response headers) takes ChatOpenAI's own path.
    """

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        config = ensure_config(config)
        sink = direct_sink(config, self.callbacks, self.verbose)  # type: ignore[arg-type]
        if sink is None:
            async for chunk in super().astream(input, config, stop=stop, **kwargs):
                yield chunk
            return
        # `_astream` is called without the run manager: the sink reaches it through the
        # context, which is this generator's for as long as it runs.
        token = _SINK.set(sink)
        try:
            async for chunk in super().astream(input, config, stop=stop, **kwargs):
                yield chunk
        finally:
            sink.direct = False
            # A generator closed from another context (garbage collection) cannot reset it.
            with contextlib.suppress(ValueError):
                _SINK.reset(token)

    async def _achunks(
        self, messages: Messages, stop: Stop, run: AsyncRun, kw: Options
    ) -> AsyncChunks:
        payload = self._lean_payload(messages, stop, kw)
        if payload is None:
            async for chunk in ChatOpenAI._astream(self, messages, stop, run, **kw):
                yield chunk
            return
        sink = _SINK.get() if run is None else None
        if sink is not None and payload.get("logprobs") is None and payload.get("n", 1) == 1:
            async for joined in self._direct(payload, sink):
                yield joined
            return
        chunk_class: type[BaseMessageChunk] = AIMessageChunk
        async for batch in self._reads(payload):
            for data in _joined(batch):
                generation = self._convert_chunk_to_generation_chunk(data, chunk_class, {})
                if generation is None:
                    continue
                chunk_class = generation.message.__class__
                if run:
                    logprobs = (generation.generation_info or {}).get("logprobs")
                    await run.on_llm_new_token(generation.text, chunk=generation, logprobs=logprobs)
                yield generation

    async def _direct(
        self, payload: dict[str, Any], sink: TokenSink
    ) -> AsyncIterator[ChatGenerationChunk]:
        """Text to the sink read by read; the answer to LangChain at the end, joined."""
        sink.direct = True
        kept: list[dict[str, Any]] = []
        async for batch in self._reads(payload):
            text = "".join(_text(chunk) for chunk in batch)
            if text:
                sink.stream_text(text)
            kept.extend(batch)
        chunk_class: type[BaseMessageChunk] = AIMessageChunk
        for data in _joined(kept):
            generation = self._convert_chunk_to_generation_chunk(data, chunk_class, {})
            if generation is not None:
                chunk_class = generation.message.__class__
                yield generation

    def _lean_payload(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The request body, or None when ChatOpenAI's own stream must handle the call."""
        if self._use_responses_api({**kwargs, **self.model_kwargs}):
            return None
        if self.include_response_headers or self._uses_gateway:
            return None
        options = dict(kwargs)
        stream_usage = self._should_stream_usage(options.pop("stream_usage", None), **options)
        options["stream"] = True
        if stream_usage:
            options["stream_options"] = {"include_usage": True}
        payload = self._get_request_payload(messages, stop=stop, **options)
        return None if "response_format" in payload else payload

    async def _reads(self, payload: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        """The JSON chunks of one streamed completion, as dicts: a list per wake-up.

        A task of its own reads the body into a queue; each time this reader wakes it takes
        everything read meanwhile. (The HTTP library hands over one chunked-encoding chunk
        at a time, one per SSE event, even when a single network read brought many.)
        """
        response = await self._send(payload)
        try:
            request = response.request
            queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()

            async def pump() -> None:
                try:
                    # Read to the end of the body (past `[DONE]`): a response left half-read
                    # is closed instead of going back to the pool (a new connection per call).
                    async for raw in response.aiter_bytes():
                        queue.put_nowait(raw)
                except Exception as exc:
                    queue.put_nowait(exc)
                else:
                    queue.put_nowait(None)

            reader = asyncio.create_task(pump())
            events = SSEData()
            try:
                ended = False
                while not ended:
                    # A wait on every round: one busy stream cannot hold the event loop.
                    items = [await queue.get()]
                    while not queue.empty():
                        items.append(queue.get_nowait())
                    raws: list[bytes] = []
                    for item in items:
                        if isinstance(item, BaseException):
                            raise item
                        if item is None:
                            ended = True
                        else:
                            raws.append(item)
                    datas = events.feed(b"".join(raws))
                    batch = _decoded(datas + events.close() if ended else datas, request)
                    if batch:
                        yield batch
            except orjson.JSONDecodeError as exc:
                raise openai.APIError(f"invalid stream chunk: {exc}", request, body=None) from exc
            except Exception as exc:
                # A connection cut mid-body raises the HTTP library's own error; the SDK's
                # type lets retry policies see it as the dropped connection it is.
                if type(exc).__module__.split(".")[0] in HTTP_LIBRARIES:
                    raise openai.APIConnectionError(request=request) from exc
                raise
            finally:
                if not reader.done():
                    reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reader
        finally:
            await response.aclose()

    async def _send(self, payload: dict[str, Any]) -> httpx2.Response:
        """POST the request with the SDK's client (auth, retries, status errors), body unread.

        `chat.completions.create` would first walk the whole request (every message) to
        transform it against its typed parameters: the costliest step of a call (15% of the
        server's CPU in `make bench`'s profile) for a body that is plain JSON already.
        """
        body = dict(payload)
        options: dict[str, Any] = {
            "security": {"bearer_auth": True},
            "headers": {**(body.pop("extra_headers", None) or {}), _RAW_RESPONSE: "stream"},
        }
        extra = body.pop("extra_body", None) or {}
        if query := body.pop("extra_query", None):
            options["params"] = query
        if "timeout" in body:
            options["timeout"] = body.pop("timeout")
        # `extra_body` (where the response format travels) merged on top, as the SDK does.
        content = _serialized({**body, **extra})
        if content is None and extra:
            options["extra_json"] = extra
        return await self.root_async_client.post(
            "/chat/completions",
            cast_to=httpx2.Response,
            body=None if content is not None else body,
            content=content,
            options=options,
            stream=True,
            stream_cls=None,
        )


def _serialized(body: dict[str, Any]) -> bytes | None:
    """The request body as JSON bytes for the SDK to send as they are; None: let it encode.

    The SDK's own `json.dumps` with a custom encoder walked the whole prompt in Python: 2% of
    a call's CPU, about ten times what orjson takes. A body orjson cannot encode (a pydantic
    model inside, an integer past 64 bits) is left to the SDK, and so is one with a parameter
    that is not a finite number, which the SDK refuses and orjson would send as null.
    """
    if any(isinstance(v, float) and not math.isfinite(v) for v in body.values()):
        return None
    try:
        return orjson.dumps(body)
    except TypeError:
        return None


def _decoded(datas: list[bytes], request: Any) -> list[dict[str, Any]]:
    chunks = []
    for data in datas:
        if data == b"[DONE]":
            continue
        chunk = orjson.loads(data)
        if isinstance(chunk, dict) and chunk.get("error"):
            raise openai.APIError(str(chunk["error"]), request, body=chunk["error"])
        chunks.append(chunk)
    return chunks


def _plain(chunk: dict[str, Any]) -> bool:
    """Whether a chunk is nothing but text (and maybe the role) of the one choice."""
    choices = chunk.get("choices")
    if chunk.get("usage") or not choices or len(choices) != 1:
        return False
    choice = choices[0]
    if choice.keys() - _PLAIN_CHOICE or choice.get("finish_reason") or choice.get("logprobs"):
        return False
    delta = choice.get("delta") or {}
    return not (delta.keys() - _PLAIN_DELTA) and not delta.get("refusal")


def _text(chunk: dict[str, Any]) -> str:
    """The answer text a chunk carries: its content, or its tool calls' arguments."""
    choices = chunk.get("choices") or []
    delta = (choices[0].get("delta") or {}) if choices else {}
    content = delta.get("content")
    if isinstance(content, str) and content:
        return content
    calls = delta.get("tool_calls") or []
    return "".join(((c.get("function") or {}).get("arguments") or "") for c in calls)


def _joined(chunks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The chunks, runs of plain ones joined into one: their texts in order, the first's
    fields (the role comes only with the first chunk of an answer)."""
    run: dict[str, Any] | None = None
    texts: list[str] = []
    for chunk in chunks:
        if _plain(chunk):
            if run is None:
                run, texts = chunk, []
            texts.append(chunk["choices"][0].get("delta", {}).get("content") or "")
            continue
        if run is not None:
            yield _with_text(run, texts)
            run = None
        yield chunk
    if run is not None:
        yield _with_text(run, texts)


def _with_text(chunk: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    if len(texts) == 1:
        return chunk
    choice = chunk["choices"][0]
    delta = {**(choice.get("delta") or {}), "content": "".join(texts)}
    return {**chunk, "choices": [{**choice, "delta": delta}]}


class SSEData:
    """Incremental server-sent events parser: the `data` of each complete event (lines
    joined with newlines); comments and other fields skipped; CR, LF and CRLF all end a line."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, raw: bytes) -> list[bytes]:
        buffer = self._buffer + raw
        if b"\r" in buffer:
            # A CR at the very end may be the first half of a CRLF: wait for the next byte.
            held = buffer.endswith(b"\r")
            buffer = buffer[:-1] if held else buffer
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n") + (b"\r" if held else b"")
        blocks = buffer.split(b"\n\n")
        self._buffer = blocks.pop()
        return [data for block in blocks if (data := _event_data(block)) is not None]

    def close(self) -> list[bytes]:
        """The data of an event the stream ended inside (no blank line after it)."""
        rest, self._buffer = self._buffer.replace(b"\r", b"\n").strip(b"\n"), b""
        data = _event_data(rest) if rest else None
        return [] if data is None else [data]


def _event_data(block: bytes) -> bytes | None:
    data = [line[5:].removeprefix(b" ") for line in block.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(data) if data else None
