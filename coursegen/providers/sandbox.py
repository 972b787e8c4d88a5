"""Write schema-valid answers without a network or a bill: the `COURSEGEN_MODEL=sandbox` model."""

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

import coursegen.providers.core.chunked as hook
from coursegen.names import JSON_MODE_SCHEMA_MARKER
from coursegen.prompts.languages import LANGUAGE_NAMES, LANGUAGE_NAMES_RU
from coursegen.providers._sandbox_fill import Fill, fill_schema
from coursegen.providers._sandbox_phrases import phrases_for
from coursegen.providers.core.chunked import ChunkedChatModel

SANDBOX = "sandbox"
TOKEN_CHARS = 4  # a "token" of the sandbox: a few characters, as a BPE tokeniser has them
_DATA_RE = re.compile(r"<course_data>\n(.*?)\n</course_data>", re.S)
# "exactly 5" / "ровно 5", else the low end of "4 to 8" / "от 4 до 8".
_COUNT_RE = re.compile(r"(?:exactly|ровно) (\d+)|(\d+) (?:to|до) \d+")
_WRITE_IN_RE = re.compile(r"Write in ([A-Z][A-Za-z ()-]*?)\.")
_WRITE_IN_RU_RE = re.compile(r"Пиши на (\w+) языке")
_BY_NAME = {name: code for code, name in LANGUAGE_NAMES.items()}
_BY_NAME_RU = {name: code for code, name in LANGUAGE_NAMES_RU.items()}


class ChatSandbox(ChunkedChatModel):
    """A deterministic chat model that writes JSON valid for the schema it is asked for.

    It reads what a real model would: the JSON schema (`response_format`, a forced tool, or
    the schema json_mode appends to the prompt), the language the prompt names, the count
    it asks for ("exactly N", else the low end of "4 to 8") and the titles in its
    `<course_data>`; and it streams its answer token by token at `tokens_per_s`. Usage
    counts ~4 characters a token; it costs nothing and never opens a connection.
    """

    tokens_per_s: float = Field(
        default=400.0, ge=0, description="Streaming speed of one answer (0: as fast as it can)."
    )

    @property
    def _llm_type(self) -> str:
        return SANDBOX

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _pieces(
        self, messages: list[BaseMessage], **kwargs: Any
    ) -> tuple[list[ChatGenerationChunk], float]:
        """The answer's chunks (usage on the last one) and the pause between two of them."""
        tool = (kwargs.get("tools") or [None])[0]
        schema = _requested_schema(messages, kwargs.get("response_format"), tool)
        # The instructions are in the system prompt (user text in <course_data> must not
        # steer it); a call without one is read whole.
        system = "\n".join(str(m.content) for m in messages if m.type == "system") or "\n".join(
            str(m.content) for m in messages
        )
        data = _course_data(messages)
        fill = Fill(phrases_for(_language(system)), _subject(data), _count(system))
        answer = (
            json.dumps(fill_schema(schema, fill), ensure_ascii=False)
            if schema is not None
            else fill.phrases["summary"].format(s=fill.subject, i=1, label="")
        )
        texts = [answer[i : i + TOKEN_CHARS] for i in range(0, len(answer), TOKEN_CHARS)]
        chunks = [_chunk(text, tool, first=n == 0) for n, text in enumerate(texts)]
        prompt_chars = sum(len(str(m.content)) for m in messages)
        usage = UsageMetadata(
            input_tokens=prompt_chars // TOKEN_CHARS,
            output_tokens=len(texts),
            total_tokens=prompt_chars // TOKEN_CHARS + len(texts),
        )
        chunks.append(
            ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    usage_metadata=usage,
                    response_metadata={"model_name": SANDBOX, "finish_reason": "stop", "cost": 0},
                    chunk_position="last",
                )
            )
        )
        return chunks, (1 / self.tokens_per_s if self.tokens_per_s > 0 else 0.0)

    def _chunks(self, messages: hook.Messages, stop: hook.Stop, kw: hook.Options) -> hook.Chunks:
        chunks, pause = self._pieces(messages, **kw)
        for chunk in chunks:
            if pause:
                time.sleep(pause)
            yield chunk

    async def _achunks(
        self, messages: hook.Messages, stop: hook.Stop, run: hook.AsyncRun, kw: hook.Options
    ) -> hook.AsyncChunks:
        chunks, pause = self._pieces(messages, **kw)
        for chunk in chunks:
            await asyncio.sleep(pause)  # also a point where a cancelled job stops
            if run and chunk.text:
                await run.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def _whole(
        self, messages: hook.Messages, stop: hook.Stop, run: hook.Run, kw: hook.Options
    ) -> hook.Chunks:
        # `invoke` answers at once: no pauses, no tokens reported.
        return iter(self._pieces(messages, **kw)[0])


def _chunk(text: str, tool: dict[str, Any] | None, *, first: bool) -> ChatGenerationChunk:
    if tool is None:
        return ChatGenerationChunk(message=AIMessageChunk(content=text))
    name = tool["function"]["name"] if first else None
    call_id = f"call_{uuid.uuid5(uuid.NAMESPACE_OID, name or '').hex[:12]}" if first else None
    message = AIMessageChunk(
        content="", tool_call_chunks=[{"name": name, "args": text, "id": call_id, "index": 0}]
    )
    return ChatGenerationChunk(message=message)


def _requested_schema(
    messages: list[BaseMessage], response_format: Any, tool: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The JSON schema the call asks for, by whichever structured-output method it uses."""
    if tool is not None:
        return dict(tool["function"].get("parameters") or {})
    if isinstance(response_format, dict):
        if response_format.get("type") == "json_schema":
            return dict((response_format.get("json_schema") or {}).get("schema") or {})
        if isinstance(response_format.get("schema"), dict):
            return dict(response_format["schema"])
    for message in reversed(messages):
        _, marker, rest = str(message.content).rpartition(JSON_MODE_SCHEMA_MARKER)
        if marker:
            schema, _ = json.JSONDecoder().raw_decode(rest)
            return dict(schema)
    return {"type": "object"} if response_format else None


def _course_data(messages: list[BaseMessage]) -> dict[str, Any]:
    for message in reversed(messages):
        if match := _DATA_RE.search(str(message.content)):
            try:
                return dict(json.loads(match.group(1)))
            except (ValueError, TypeError):
                return {}
    return {}


def _title(value: Any) -> str:
    return str(value.get("title") or "") if isinstance(value, dict) else str(value or "")


def _subject(data: dict[str, Any]) -> str:
    """The most specific title the data names: topic, else theme, else the course."""
    return (
        _title(data.get("topic"))
        or _title(data.get("theme"))
        or str(data.get("course_name") or "")
        or "coursegen"
    )


def _language(system: str) -> str:
    if match := _WRITE_IN_RU_RE.search(system):
        return _BY_NAME_RU.get(match.group(1), "ru")
    if match := _WRITE_IN_RE.search(system):
        return _BY_NAME.get(match.group(1), "en")
    return "en"


def _count(system: str) -> int | None:
    match = _COUNT_RE.search(system)
    return int(match.group(1) or match.group(2)) if match else None
