"""Run a prompt against a chat model and return validated structured output with usage."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_openai.chat_models.base import BaseChatOpenAI
from pydantic import BaseModel, Field, ValidationError
from pydantic_core import from_json

from coursegen.domain import TokenUsage
from coursegen.names import JSON_MODE_SCHEMA_MARKER, StructuredMode

OutputT = TypeVar("OutputT", bound=BaseModel)

# The most one streamed answer may take (4,096 tokens at 10 tokens/s is 410 s): it ends a
# stream that stays alive on keep-alives alone, which the HTTP read timeout never sees.
ANSWER_DEADLINE_S = 900.0

REPAIR_TEXT = (
    "Your previous answer did not match the required JSON schema:\n{error}\n"
    "Answer again with the complete corrected JSON only."
)


class StructuredOutputError(RuntimeError):
    """The model's answer failed validation twice (the first answer and one re-ask)."""

    def __init__(
        self, schema: type[BaseModel], error: str, text: str, usage: TokenUsage | None = None
    ) -> None:
        super().__init__(
            f"model output failed {schema.__name__} validation after one re-ask: {error}"
        )
        self.schema = schema
        self.error = error
        self.text = text
        self.usage = usage or TokenUsage()
        """Tokens the failed attempts cost: they are paid for all the same."""


class TruncatedAnswer(RuntimeError):
    """The answer's stream ended inside its JSON: a transport fault, not a model mistake.

    It is retried with the backoff policy like a dropped connection (never re-asked: the
    model did nothing wrong, and a second cut must not fail the call).
    """

    def __init__(self, schema: type[BaseModel], text: str, usage: TokenUsage) -> None:
        super().__init__(
            f"the {schema.__name__} answer ended inside its JSON after {len(text)} characters"
        )
        self.schema = schema
        self.text = text
        self.usage = usage
        """Tokens the cut answer cost: they are paid for all the same."""


class StageResult(BaseModel, Generic[OutputT]):
    """A stage's validated output and the tokens it cost."""

    output: OutputT = Field(description="The validated structured output.")
    usage: TokenUsage = Field(description="Tokens spent on this call (re-asks included).")


ListBounds = dict[str, tuple[int, int]]
"""Top-level list fields of a schema and the (fewest, most) items the model is asked for."""


def bounded_schema(json_schema: dict[str, Any], bounds: ListBounds | None) -> dict[str, Any]:
    """Return a copy of a JSON schema whose top-level lists carry `minItems` / `maxItems`."""
    if not bounds:
        return json_schema
    properties = dict(json_schema.get("properties") or {})
    for field, (fewest, most) in bounds.items():
        properties[field] = {**properties[field], "minItems": fewest, "maxItems": most}
    return {**json_schema, "properties": properties}


def _schema_prompt(json_schema: dict[str, Any]) -> str:
    return JSON_MODE_SCHEMA_MARKER + json.dumps(json_schema)


def bind_structured(
    model: BaseChatModel,
    schema: type[BaseModel],
    mode: StructuredMode,
    bounds: ListBounds | None = None,
) -> Runnable[Any, Any]:
    """Bind a model so that its raw (streamable) answer is JSON of the given schema.

    `bounds` put list lengths into the schema sent, for providers that enforce them (answers
    are still validated against `schema`, so the caller decides what a wrong count means).
    For OpenAI-compatible servers the response format travels in `extra_body`: this keeps
    langchain-openai on its plain streaming path, which yields each token once, instead of
    the beta stream helper that re-parses the growing JSON at every chunk.
    """
    name = schema.__name__
    if mode == "function_calling":
        tool = convert_to_openai_tool(schema)
        function = tool["function"]
        tool = {
            **tool,
            "function": {**function, "parameters": bounded_schema(function["parameters"], bounds)},
        }
        return model.bind_tools([tool], tool_choice=function["name"])
    if mode == "json_mode":
        response_format: dict[str, Any] = {"type": "json_object"}
    else:
        response_format = {
            "type": "json_schema",
            "json_schema": {
                "name": name,
                "schema": bounded_schema(schema.model_json_schema(), bounds),
                "strict": False,
            },
        }
    if isinstance(model, BaseChatOpenAI):
        return model.bind(extra_body={"response_format": response_format})
    return model.bind(response_format=response_format)


def chunk_text(chunk: AIMessageChunk) -> str:
    """Return the answer text carried by one streamed chunk (content or tool arguments)."""
    if chunk.tool_call_chunks:
        return "".join(c.get("args") or "" for c in chunk.tool_call_chunks)
    content = chunk.content
    return content if isinstance(content, str) else ""


def _usage_of(message: AIMessage | AIMessageChunk | None) -> TokenUsage:
    meta = message.usage_metadata if message is not None else None
    if not meta:
        return TokenUsage(calls=1)
    return TokenUsage(
        prompt_tokens=meta.get("input_tokens", 0),
        completion_tokens=meta.get("output_tokens", 0),
        total_tokens=meta.get("total_tokens", 0),
        calls=1,
    )


async def _stream_answer(
    bound: Runnable[Any, Any], messages: list[BaseMessage], config: RunnableConfig | None
) -> tuple[str, TokenUsage]:
    parts: list[str] = []
    last: AIMessageChunk | None = None
    stream: AsyncIterator[AIMessageChunk] = bound.astream(messages, config)
    async with asyncio.timeout(ANSWER_DEADLINE_S):
        async for chunk in stream:
            parts.append(chunk_text(chunk))
            if chunk.usage_metadata:
                last = chunk
    return "".join(parts), _usage_of(last)


def _stream_answer_sync(
    bound: Runnable[Any, Any], messages: list[BaseMessage], config: RunnableConfig | None
) -> tuple[str, TokenUsage]:
    parts: list[str] = []
    last: AIMessageChunk | None = None
    for chunk in bound.stream(messages, config):
        parts.append(chunk_text(chunk))
        if chunk.usage_metadata:
            last = chunk
    return "".join(parts), _usage_of(last)


def parse_answer(schema: type[OutputT], text: str) -> OutputT:
    """Validate an answer; tolerate a Markdown code fence some models wrap JSON in.

    Fields the schema does not have are an error (and so re-asked), at any depth: what is
    kept is exactly what the schema describes, and the streamed tokens of a kept answer are
    exactly its JSON (the output models themselves ignore extras, for internal reuse).
    """
    return schema.model_validate_json(_unfenced(text), extra="forbid")


def _unfenced(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`").removeprefix("json").strip()
    return stripped


def is_truncated(text: str) -> bool:
    """Whether an answer is JSON that stops before its end (the stream was cut inside it)."""
    stripped = _unfenced(text)
    if not stripped:
        return False  # nothing was begun: a model that answered nothing is re-asked
    try:
        from_json(stripped)
    except ValueError as exc:
        return str(exc).startswith("EOF while parsing")
    return False


def _repair_messages(messages: list[BaseMessage], text: str, error: str) -> list[BaseMessage]:
    return [
        *messages,
        AIMessage(content=text),
        HumanMessage(content=REPAIR_TEXT.format(error=error)),
    ]


def structured_output(
    model: BaseChatModel,
    schema: type[OutputT],
    mode: StructuredMode = "json_schema",
    bounds: ListBounds | None = None,
    render: Callable[[Any], PromptValue] | None = None,
) -> Runnable[Any, StageResult[OutputT]]:
    """Return a runnable: prompt value -> validated `StageResult[schema]`.

    The answer is always streamed, so token callbacks (LangGraph's `messages` stream, our
    progress events) see it as it is written. An invalid answer is re-asked once with the
    validation error; a second failure raises `StructuredOutputError`. An answer cut off
    inside its JSON raises `TruncatedAnswer` (the caller's retry policy retries it). `bounds`
    are list lengths sent with the schema (see `bind_structured`). With `render`, the runnable
    takes a stage's input and renders its prompt itself: one run per call, where a prompt step
    in a sequence would add two (each a callback run, config copies and signature checks).
    """
    bound = bind_structured(model, schema, mode, bounds)
    result_type = StageResult[schema]  # type: ignore[valid-type]
    sent = bounded_schema(schema.model_json_schema(), bounds)

    def prepare(value: Any) -> list[BaseMessage]:
        prompt: PromptValue = render(value) if render is not None else value
        messages = prompt.to_messages()
        if mode == "json_mode":
            messages = [
                *messages[:-1],
                HumanMessage(f"{messages[-1].content}\n\n{_schema_prompt(sent)}"),
            ]
        return messages

    async def arun(value: Any, config: RunnableConfig) -> StageResult[OutputT]:
        messages = prepare(value)
        text, usage = await _stream_answer(bound, messages, config)
        try:
            return result_type(output=parse_answer(schema, text), usage=usage)
        except ValidationError as exc:
            first_error = _invalid(schema, exc, text, usage)
        retry = _repair_messages(messages, text, first_error)
        text, extra = await _stream_answer(bound, retry, config)
        return _final(result_type, schema, text, usage + extra)

    def run(value: Any, config: RunnableConfig) -> StageResult[OutputT]:
        messages = prepare(value)
        text, usage = _stream_answer_sync(bound, messages, config)
        try:
            return result_type(output=parse_answer(schema, text), usage=usage)
        except ValidationError as exc:
            first_error = _invalid(schema, exc, text, usage)
        retry = _repair_messages(messages, text, first_error)
        text, extra = _stream_answer_sync(bound, retry, config)
        return _final(result_type, schema, text, usage + extra)

    return RunnableLambda(run, afunc=arun, name=f"{schema.__name__}Output")


def _short_error(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
        for err in exc.errors()[:10]
    )


def _invalid(schema: type[BaseModel], exc: ValidationError, text: str, usage: TokenUsage) -> str:
    """The error to re-ask with; a cut-off answer raises `TruncatedAnswer` instead."""
    if is_truncated(text):
        raise TruncatedAnswer(schema, text, usage) from exc
    return _short_error(exc)


def _final(result_type: Any, schema: type[OutputT], text: str, usage: TokenUsage) -> Any:
    try:
        return result_type(output=parse_answer(schema, text), usage=usage)
    except ValidationError as exc:
        error = _invalid(schema, exc, text, usage)
        raise StructuredOutputError(schema, error, text, usage) from exc
