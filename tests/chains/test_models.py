"""Check model loading: OpenAI, OpenAI-compatible servers, the embedded model and errors."""

import pytest
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from coursegen.providers import loading
from coursegen.providers.llama.chat import ChatLlamaCppEmbedded
from coursegen.providers.loading import (
    DEFAULT_OPENAI_MODEL,
    ModelOptions,
    ProviderConfigError,
    load_chat_model,
    resolve_model_spec,
)
from coursegen.providers.sandbox import ChatSandbox

BASE_URL = "http://127.0.0.1:9/v1"


@pytest.fixture
def no_provider(monkeypatch):
    """No key, no base URL and no embedded model in the environment."""
    for name in ("OPENAI_API_KEY", "COURSEGEN_BASE_URL", "COURSEGEN_MODEL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(loading, "local_model_available", lambda: False)


def test_base_url_points_chat_openai_there(no_provider):
    options = ModelOptions(
        base_url=BASE_URL, temperature=0.1, timeout_s=7, max_retries=1, max_tokens=77
    )
    chat = load_chat_model("openai:qwen2.5", options)
    assert isinstance(chat, ChatOpenAI)
    assert chat.openai_api_base == BASE_URL
    assert chat.model_name == "qwen2.5"
    assert isinstance(chat.openai_api_key, SecretStr)
    assert chat.openai_api_key.get_secret_value() == "not-needed"
    assert (chat.temperature, chat.request_timeout, chat.max_retries) == (0.1, 7, 1)
    assert chat.max_tokens == 77
    assert chat.stream_usage is True


def test_base_url_without_model_name(no_provider):
    chat = load_chat_model(None, ModelOptions(base_url=BASE_URL))
    assert isinstance(chat, ChatOpenAI)
    assert (chat.model_name, chat.openai_api_base) == ("default", BASE_URL)
    bare = load_chat_model("llama3", ModelOptions(base_url=BASE_URL))
    assert isinstance(bare, ChatOpenAI)
    assert (bare.model_name, bare.openai_api_base) == ("llama3", BASE_URL)


def test_openai_key_from_environment(no_provider, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    assert resolve_model_spec(None, ModelOptions()) == f"openai:{DEFAULT_OPENAI_MODEL}"
    chat = load_chat_model()
    assert isinstance(chat, ChatOpenAI)
    assert chat.model_name == DEFAULT_OPENAI_MODEL
    assert isinstance(chat.openai_api_key, SecretStr)
    assert chat.openai_api_key.get_secret_value() == "sk-test-123"


def test_explicit_api_key_wins(no_provider, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    chat = load_chat_model("openai:gpt-4o", ModelOptions(api_key="sk-option"))
    assert isinstance(chat, ChatOpenAI)
    assert isinstance(chat.openai_api_key, SecretStr)
    assert chat.openai_api_key.get_secret_value() == "sk-option"


def test_no_provider_at_all_names_what_to_set(no_provider):
    with pytest.raises(ProviderConfigError) as info:
        load_chat_model()
    message = str(info.value)
    assert "OPENAI_API_KEY" in message
    assert "COURSEGEN_BASE_URL" in message
    assert "uv sync --extra local" in message


def test_openai_model_without_key_names_what_to_set(no_provider):
    with pytest.raises(ProviderConfigError) as info:
        load_chat_model("openai:gpt-4o")
    message = str(info.value)
    assert message.startswith("model 'openai:gpt-4o' needs OPENAI_API_KEY.")
    assert "COURSEGEN_BASE_URL" in message


def test_embedded_model_is_chosen_when_installed(no_provider, monkeypatch):
    monkeypatch.setattr(loading, "local_model_available", lambda: True)
    assert resolve_model_spec(None, ModelOptions()) == "local"


def test_llamacpp_spec_loads_the_named_gguf_lazily(no_provider, tmp_path):
    path = tmp_path / "model.gguf"
    chat = load_chat_model(f"llamacpp:{path}", ModelOptions(temperature=0.3, max_tokens=64))
    assert isinstance(chat, ChatLlamaCppEmbedded)
    assert (chat.model_path, chat.temperature, chat.max_tokens) == (str(path), 0.3, 64)


async def test_model_fixture_talks_to_the_scripted_server(model, scripted_llm):
    assert model.openai_api_base == scripted_llm.base_url
    scripted_llm.script = lambda call: "hi there"
    reply = await model.ainvoke("hello")
    assert reply.content == "hi there"
    assert scripted_llm.calls[0].messages == [{"role": "user", "content": "hello"}]


def test_with_a_base_url_any_model_name_is_that_servers(no_provider):
    """Ollama spells its models `qwen2.5:7b`: that is a name, not `provider:model`."""
    chat = load_chat_model("qwen2.5:7b", ModelOptions(base_url=BASE_URL))
    assert isinstance(chat, ChatOpenAI)
    assert (chat.model_name, chat.openai_api_base) == ("qwen2.5:7b", BASE_URL)


def test_sandbox_model_needs_no_provider(no_provider):
    chat = load_chat_model("sandbox", ModelOptions(sandbox_tokens_per_s=25))
    assert isinstance(chat, ChatSandbox) and chat.tokens_per_s == 25
