"""Name the custom-stream events the graph writes and build them."""

from typing import Any

from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from langgraph.types import StreamWriter

from coursegen.chains.structured import chunk_text


class TokenRelay(AsyncCallbackHandler):
    """Forward each streamed token of one call to the graph's custom stream."""

    def __init__(self, writer: StreamWriter, stage: str, theme: int, topic: int) -> None:
        self.writer = writer
        self.event = {"type": "token", "stage": stage, "theme": theme, "topic": topic}

    async def on_llm_new_token(
        self,
        token: str,
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(chunk, ChatGenerationChunk) and isinstance(chunk.message, AIMessageChunk):
            token = chunk_text(chunk.message)
        if token:
            self.writer({**self.event, "text": token})
