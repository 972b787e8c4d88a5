"""Write LangChain's chat-model stream and generate entry points once, over chunk hooks."""

from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage, message_chunk_to_message
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

# The short names of the hooks' arguments (LangChain's own methods spell them out).
Messages = list[BaseMessage]
Stop = list[str] | None
Run = CallbackManagerForLLMRun | None
AsyncRun = AsyncCallbackManagerForLLMRun | None
Options = dict[str, Any]
Chunks = Iterator[ChatGenerationChunk]
AsyncChunks = AsyncGenerator[ChatGenerationChunk, None]


class AsyncChunkSource(BaseChatModel):
    """A chat model whose async stream is `_achunks`; closing the stream closes the source."""

    def _achunks(self, messages: Messages, stop: Stop, run: AsyncRun, kw: Options) -> AsyncChunks:
        """The answer's chunks; the source reports tokens to `run` itself."""
        raise NotImplementedError

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[ChatGenerationChunk, None]:
        # Closed at once, not when collected: a consumer that stops early stops the source.
        async with aclosing(self._achunks(messages, stop, run_manager, kwargs)) as chunks:
            async for chunk in chunks:
                yield chunk


class ChunkedChatModel(AsyncChunkSource):
    """A chat model written as chunk sources: `_chunks` streams, `_whole` makes `invoke`."""

    def _chunks(self, messages: Messages, stop: Stop, kw: Options) -> Chunks:
        """The answer's chunks for the synchronous stream."""
        raise NotImplementedError

    def _whole(self, messages: Messages, stop: Stop, run: Run, kw: Options) -> Chunks:
        """The chunks `invoke` merges: by default the stream's, tokens reported."""
        return self._stream(messages, stop, run, **kw)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages, stop, kwargs):
            if run_manager and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return merge(self._whole(messages, stop, run_manager, kwargs))


def merge(chunks: Iterator[ChatGenerationChunk]) -> ChatResult:
    """The chunks of one answer as the result `invoke` returns."""
    merged: ChatGenerationChunk | None = None
    for chunk in chunks:
        merged = chunk if merged is None else merged + chunk
    message = merged.message if merged is not None else AIMessageChunk(content="")
    return ChatResult(generations=[ChatGeneration(message=message_chunk_to_message(message))])
