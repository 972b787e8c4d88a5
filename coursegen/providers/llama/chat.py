"""Run an embedded GGUF model through llama-cpp-python as a LangChain chat model."""

import asyncio
import contextlib
import importlib.util
import random
import threading
import types
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from coursegen.providers.core.chunked import (
    AsyncChunks,
    AsyncRun,
    ChunkedChatModel,
    Chunks,
    Messages,
    Options,
    Stop,
    merge,
)
from coursegen.providers.llama.files import (
    LocalModelUnavailable,
    chat_formatter,
    load_llama,
)
from coursegen.providers.llama.grammar import response_format_grammar
from coursegen.providers.llama.sampling import Sampling, TopKGrammar, init_sampler
from coursegen.providers.llama.stops import StopScanner

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


class _Cancelled(Exception):
    """The consumer went away; the generation was stopped."""


class ChatLlamaCppEmbedded(ChunkedChatModel):
    """A chat model that runs a GGUF file in-process with llama.cpp.

    `response_format={"type": "json_schema", "json_schema": {"schema": ...}}` is turned into
    llama.cpp's grammar-constrained decoding, so the answer is JSON of that schema. The model
    is loaded once per instance, on first use; one generation runs at a time (llama.cpp's
    context is not shared), and an abandoned async stream stops generating at once.
    """

    model_path: str = Field(description="Path of the GGUF file.")
    n_ctx: int = Field(default=8192, description="Context window in tokens.")
    n_threads: int | None = Field(default=None, description="CPU threads (llama.cpp's default).")
    temperature: float = Field(default=0.2, description="Sampling temperature.")
    max_tokens: int = Field(default=2048, description="Most tokens one answer may have.")
    top_p: float = Field(default=0.95, description="Nucleus sampling threshold.")
    min_p: float = Field(default=0.05, description="Drop tokens below this share of the best.")
    repeat_penalty: float = Field(
        default=1.1,
        description="Penalty for repeating recent tokens (keeps small models out of loops).",
    )
    dry_multiplier: float = Field(
        default=0.8,
        description="DRY penalty for repeating earlier sequences (0: off); stops the "
        "loops small models fall into.",
    )
    seed: int | None = Field(
        default=1234,
        description="Sampling seed of every call (same prompt, same answer); None: varies.",
    )
    max_list_items: int = Field(
        default=8,
        description="Structured output: most items of a list without maxItems (0: no bound); "
        "8 is the largest count the prompts suggest when the request sets none.",
    )
    max_string_chars: int = Field(
        default=2000,
        description="Structured output: most characters of a string without maxLength "
        "(0: no bound).",
    )
    fast_grammar: bool = Field(
        default=True,
        description="Check the grammar on the top-k candidates first (about twice as fast "
        "on small models); False: llama.cpp checks the whole vocabulary at every token.",
    )
    repack_weights: bool = Field(
        default=False,
        description="Let llama.cpp repack weights for the CPU (AMX, …); crashes on some VMs.",
    )

    model_config = ConfigDict(arbitrary_types_allowed=True)
    _llama: Any = PrivateAttr(default=None)
    _formatter: Any = PrivateAttr(default=None)
    # One llama.cpp context serves one generation at a time; it also guards loading.
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llamacpp-embedded"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "n_ctx": self.n_ctx,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }

    def _client(self) -> Any:
        """Return the loaded model (call with `_lock` held)."""
        if self._llama is None:
            if importlib.util.find_spec("llama_cpp") is None:
                raise LocalModelUnavailable(
                    "llama-cpp-python is not installed: uv sync --extra local"
                )
            if not Path(self.model_path).is_file():
                raise LocalModelUnavailable(f"GGUF file not found: {self.model_path}")
            llama = load_llama(
                self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                repack_weights=self.repack_weights,
            )
            self._formatter = chat_formatter(llama)
            llama._init_sampler = types.MethodType(init_sampler, llama)
            self._llama = llama
        return self._llama

    def _generate_chunks(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        cancel: threading.Event | None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Generate under the lock; yield text chunks, then one chunk with usage."""
        import llama_cpp.llama_cpp as lib
        from llama_cpp import LlamaGrammar

        grammar_text = response_format_grammar(
            kwargs.get("response_format"), self.max_list_items, self.max_string_chars
        )
        chat = [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]
        seed = kwargs.get("seed", self.seed)
        max_tokens = kwargs.get("max_tokens", self.max_tokens)

        with self._lock:
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            llama = self._client()
            formatted = self._formatter(messages=chat)
            prompt = llama.tokenize(
                formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
            )
            room = llama.n_ctx() - len(prompt)
            if room <= 0:
                raise ValueError(
                    f"the prompt has {len(prompt)} tokens; the context window is {llama.n_ctx()}"
                )
            limit = min(max_tokens, room) if max_tokens and max_tokens > 0 else room
            template_stop = formatted.stop or []
            if isinstance(template_stop, str):
                template_stop = [template_stop]
            texts = StopScanner([*(stop or []), *template_stop])
            vocab = llama._model.vocab
            llama.set_seed(seed if seed is not None else random.randrange(2**31))
            written = 0
            finish_reason = "length"
            grammar: Any = None
            if grammar_text and self.fast_grammar:
                grammar = TopKGrammar(llama, grammar_text)  # freed below
            elif grammar_text:
                grammar = LlamaGrammar.from_string(grammar_text, verbose=False)
            tokens = llama.generate(
                prompt,
                top_k=kwargs.get("top_k", 40),
                top_p=kwargs.get("top_p", self.top_p),
                min_p=kwargs.get("min_p", self.min_p),
                temp=kwargs.get("temperature", self.temperature),
                repeat_penalty=kwargs.get("repeat_penalty", self.repeat_penalty),
                grammar=Sampling(
                    grammar=grammar,
                    dry_multiplier=kwargs.get("dry_multiplier", self.dry_multiplier),
                ),
            )
            try:
                for token in tokens:
                    if cancel is not None and cancel.is_set():
                        raise _Cancelled
                    if lib.llama_vocab_is_eog(vocab, token):
                        finish_reason = "stop"
                        break
                    written += 1
                    if isinstance(grammar, TopKGrammar):
                        grammar.accept(token)
                    text, stopped = texts.feed(llama.detokenize([token]))
                    if text:
                        yield ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if stopped:
                        finish_reason = "stop"
                        break
                    if written >= limit:
                        break
            finally:
                tokens.close()
                if isinstance(grammar, TopKGrammar):
                    grammar.close()
            if text := texts.flush():
                yield ChatGenerationChunk(message=AIMessageChunk(content=text))
        usage = UsageMetadata(
            input_tokens=len(prompt), output_tokens=written, total_tokens=len(prompt) + written
        )
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=usage,
                response_metadata={
                    "finish_reason": finish_reason,
                    "model_name": Path(self.model_path).name,
                },
                chunk_position="last",
            )
        )

    def _chunks(self, messages: Messages, stop: Stop, kw: Options) -> Chunks:
        return self._generate_chunks(messages, stop, None, **kw)

    async def _achunks(
        self, messages: Messages, stop: Stop, run: AsyncRun, kw: Options
    ) -> AsyncChunks:
        # llama.cpp blocks: generate in a thread of its own (calls waiting for the lock must
        # not fill the loop's default executor) and hand chunks over a queue. When the
        # consumer stops early (closed or cancelled), `cancel` makes the thread stop
        # sampling at the next token, and a call still waiting for the lock never starts.
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[ChatGenerationChunk | BaseException | None] = asyncio.Queue()
        cancel = threading.Event()

        def put(item: ChatGenerationChunk | BaseException | None) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the event loop is closed: nobody is listening
                cancel.set()

        def produce() -> None:
            try:
                for chunk in self._generate_chunks(messages, stop, cancel, **kw):
                    if cancel.is_set():
                        break
                    put(chunk)
            except _Cancelled:
                pass
            except BaseException as exc:  # handed to the consumer, which re-raises it
                put(exc)
            finally:
                put(None)

        threading.Thread(target=produce, name="llama-cpp-generate", daemon=True).start()
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                if run and item.text:
                    await run.on_llm_new_token(item.text, chunk=item)
                yield item
        finally:
            cancel.set()

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Through _astream, so that cancelling `ainvoke` also stops the generation.
        stream = cast(
            AsyncGenerator[ChatGenerationChunk, None],
            self._astream(messages, stop, run_manager, **kwargs),
        )
        async with contextlib.aclosing(stream):
            chunks = [chunk async for chunk in stream]
        return merge(iter(chunks))
