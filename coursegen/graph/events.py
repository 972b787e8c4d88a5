"""Relay streamed tokens of one LLM call to the graph's custom stream."""

from typing import Any
from uuid import UUID

from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from langgraph.types import StreamWriter

from coursegen.chains.structured import chunk_text
from coursegen.providers.openai_stream import TokenSink


class TokenRelay(TokenSink):
    """Forward each streamed token of one call to the graph's custom stream.

    A stream is named by its stage and where it writes: the outline's theme and topic are
    None, a theme's topic list has its theme, a lesson and its polish have both.

    Every model call (a first try, a retry, a re-ask, a resumed run) first sends a token
    event with `start: true`: a reader drops the text it had for that stream, so the
    concatenated deltas after the last start always equal the answer that was kept.

    As a `TokenSink` it takes the text of each network read straight from the lean OpenAI
    stream when nothing else listens to the tokens (the jobs API); otherwise (LangServe's
    `/stream_events`, tracing) the tokens come through LangChain's callbacks.
    """

    run_inline = True  # a dict handed to the writer: not worth a task per token

    def __init__(
        self, writer: StreamWriter, stage: str, theme: int | None = None, topic: int | None = None
    ) -> None:
        self.writer = writer
        self.event = {"type": "token", "stage": stage, "theme": theme, "topic": topic}

    async def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        self.writer({**self.event, "text": "", "start": True})

    async def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.direct:  # the stream already handed this call's text to `stream_text`
            return
        text = token if isinstance(token, str) else ""
        if isinstance(chunk, ChatGenerationChunk) and isinstance(chunk.message, AIMessageChunk):
            text = chunk_text(chunk.message)
        if text:
            self.writer({**self.event, "text": text})

    def stream_text(self, text: str) -> None:
        self.writer({**self.event, "text": text})
