"""ChatOpenAI whose async stream reads the server's SSE lines itself, with orjson."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import openai
import orjson
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage, BaseMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI

HTTP_LIBRARIES = {"httpx", "httpx2", "httpcore", "httpcore2", "anyio", "h11"}


class StreamingChatOpenAI(ChatOpenAI):
    """ChatOpenAI with a leaner async Chat Completions stream.

    The SDK turns every streamed chunk into a typed model (the costliest step of a streamed
    token: a quarter of the server's CPU in `make bench`), and LangChain dumps it straight
    back into a dict. Here the SDK still sends the request (retries, Retry-After, status
    errors as its exceptions) but the body is read as SSE lines and decoded with orjson into
    the dicts LangChain converts. Whatever this path does not cover (the Responses API,
    `response_format` passed as a parameter, response headers) takes ChatOpenAI's own path.
    """

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        payload = self._lean_payload(messages, stop, kwargs)
        if payload is None:
            async for chunk in super()._astream(messages, stop, run_manager, **kwargs):
                yield chunk
            return
        chunk_class: type[BaseMessageChunk] = AIMessageChunk
        async for data in self._chunks(payload):
            generation = self._convert_chunk_to_generation_chunk(data, chunk_class, {})
            if generation is None:
                continue
            chunk_class = generation.message.__class__
            if run_manager:
                logprobs = (generation.generation_info or {}).get("logprobs")
                await run_manager.on_llm_new_token(
                    generation.text, chunk=generation, logprobs=logprobs
                )
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

    async def _chunks(self, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The JSON chunks of one streamed completion, as dicts."""
        async with self.async_client.with_streaming_response.create(**payload) as response:
            request = response.http_request
            try:
                async for data in _sse_data(response.iter_lines()):
                    if data == "[DONE]":
                        # Read on to the end of the body: a response left half-read is
                        # closed instead of going back to the pool (a new connection per call).
                        continue
                    chunk = orjson.loads(data)
                    if isinstance(chunk, dict) and chunk.get("error"):
                        raise openai.APIError(str(chunk["error"]), request, body=chunk["error"])
                    yield chunk
                    # Buffered chunks are read without suspending: a fast server would let one
                    # stream hold the event loop while the others (and the writer) wait.
                    await asyncio.sleep(0)
            except orjson.JSONDecodeError as exc:
                raise openai.APIError(f"invalid stream chunk: {exc}", request, body=None) from exc
            except Exception as exc:
                # A connection cut mid-body raises the HTTP library's own error; the SDK's
                # type lets retry policies see it as the dropped connection it is.
                if type(exc).__module__.split(".")[0] in HTTP_LIBRARIES:
                    raise openai.APIConnectionError(request=request) from exc
                raise


async def _sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The `data` of each server-sent event (lines joined), comments and other fields skipped."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield "\n".join(data)
