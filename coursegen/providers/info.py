"""Describe the chat model in use (provider, name, base URL without secrets) for logs and APIs."""

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from langchain_core.language_models import BaseChatModel
from langchain_openai.chat_models.base import BaseChatOpenAI
from pydantic import BaseModel, Field

from coursegen.names import StructuredMode
from coursegen.providers.llama.chat import ChatLlamaCppEmbedded
from coursegen.providers.llama.files import SMOLLM2_FILE
from coursegen.providers.sandbox import SANDBOX, ChatSandbox

ModelKind = Literal["provider", "embedded", "sandbox"]


class ModelInfo(BaseModel):
    """Which model writes the courses, and how it is asked for structured output."""

    kind: ModelKind = Field(
        description="provider: a real LLM over HTTP; embedded: the small in-process demo "
        "model or a GGUF file; sandbox: the deterministic test model (no network, no cost)."
    )
    provider: str = Field(description="openai, openai-compatible, llamacpp, sandbox or another.")
    name: str = Field(description="The model's name as the provider spells it.")
    base_url: str | None = Field(
        default=None, description="The server it is reached at, without credentials or query."
    )
    structured_output: StructuredMode = Field(description="How structured output is asked for.")
    languages: list[str] | None = Field(
        default=None, description="The languages it writes well; null: any."
    )

    @property
    def priced_as(self) -> str:
        """`provider:name`, the form the quality report's price table reads."""
        return f"{self.provider}:{self.name}"

    def line(self) -> str:
        """One line for a log or a page: `openai-compatible qwen2.5:7b at http://…/v1`."""
        where = f" at {self.base_url}" if self.base_url else ""
        who = self.name if self.name == self.provider else f"{self.provider} {self.name}"
        return f"{who}{where} (structured output: {self.structured_output})"


def public_url(url: str | None) -> str | None:
    """A URL without user, password, query or fragment (where keys sometimes hide)."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def describe_model(model: BaseChatModel, mode: StructuredMode) -> ModelInfo:
    """Say what `model` is, from the model object itself (so an injected model is described)."""
    if isinstance(model, ChatSandbox):
        return ModelInfo(kind="sandbox", provider=SANDBOX, name=SANDBOX, structured_output=mode)
    if isinstance(model, ChatLlamaCppEmbedded):
        name = Path(model.model_path).name
        return ModelInfo(
            kind="embedded",
            provider="llamacpp",
            name=name,
            structured_output=mode,
            # The bundled demo model; a GGUF file of one's own is taken at its word.
            languages=["en"] if name == SMOLLM2_FILE else None,
        )
    if isinstance(model, BaseChatOpenAI):
        base = public_url(model.openai_api_base)
        return ModelInfo(
            kind="provider",
            provider="openai-compatible" if base else "openai",
            name=model.model_name,
            base_url=base,
            structured_output=mode,
        )
    name = str(getattr(model, "model", None) or getattr(model, "model_name", None) or "")
    return ModelInfo(
        kind="provider",
        provider=model._llm_type,
        name=name or type(model).__name__,
        structured_output=mode,
    )
