"""Read the model configuration (provider, endpoint, key, call knobs) from the environment."""

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from coursegen.chains.models import ModelOptions
from coursegen.chains.structured import StructuredMode


class ModelSettings(BaseSettings):
    """How to reach the model: the one source for the server and for `langgraph dev`.

    The provider key is `COURSEGEN_LLM_API_KEY` or `OPENAI_API_KEY`, never `COURSEGEN_API_KEY`:
    that one is the service's own bearer token (the CLI's), which must not reach a provider.
    """

    model_config = SettingsConfigDict(
        env_prefix="COURSEGEN_", env_file=".env", extra="ignore", populate_by_name=True
    )

    model: str | None = Field(
        default=None, description="provider:model; unset = zero-config choice."
    )
    base_url: str | None = Field(default=None, description="OpenAI-compatible server URL (…/v1).")
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "COURSEGEN_LLM_API_KEY", "OPENAI_API_KEY", "COURSEGEN_OPENAI_API_KEY"
        ),
        description="The model provider's key.",
    )
    structured_output: StructuredMode = Field(
        default="json_schema", description="json_schema, json_mode or function_calling."
    )
    temperature: float = Field(default=0.4, ge=0, le=2)
    llm_timeout_s: float = Field(default=120.0, gt=0, description="Per-call timeout.")
    llm_max_retries: int = Field(default=2, ge=0, description="HTTP retries inside the client.")
    max_tokens: int | None = Field(default=4096, gt=0, description="Most tokens per answer.")
    sandbox_tokens_per_s: float = Field(
        default=400.0, ge=0, description="Speed of COURSEGEN_MODEL=sandbox (0: no pauses)."
    )

    def model_options(self) -> ModelOptions:
        key = self.openai_api_key.get_secret_value() if self.openai_api_key else None
        return ModelOptions(
            base_url=self.base_url,
            api_key=key,
            temperature=self.temperature,
            timeout_s=self.llm_timeout_s,
            max_retries=self.llm_max_retries,
            max_tokens=self.max_tokens,
            sandbox_tokens_per_s=self.sandbox_tokens_per_s,
        )
