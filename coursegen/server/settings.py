"""Read the service configuration from COURSEGEN_* environment variables (and .env)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from coursegen.chains.models import ModelOptions
from coursegen.chains.structured import StructuredMode


class Settings(BaseSettings):
    """Every knob of the service; see the configuration table in README.md."""

    model_config = SettingsConfigDict(env_prefix="COURSEGEN_", env_file=".env", extra="ignore")

    model: str | None = Field(
        default=None, description="provider:model; unset = zero-config choice."
    )
    base_url: str | None = Field(default=None, description="OpenAI-compatible server URL (…/v1).")
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "COURSEGEN_OPENAI_API_KEY")
    )
    structured_output: StructuredMode = Field(
        default="json_schema", description="json_schema, json_mode or function_calling."
    )
    temperature: float = Field(default=0.4, ge=0, le=2)
    llm_timeout_s: float = Field(default=120.0, gt=0, description="Per-call timeout.")
    llm_max_retries: int = Field(default=2, ge=0, description="HTTP retries inside the client.")
    max_tokens: int | None = Field(default=4096, gt=0, description="Most tokens per answer.")
    job_token_budget: int | None = Field(
        default=1_500_000, gt=0, description="Most tokens one job may spend (then budget_exceeded)."
    )
    max_jobs_per_owner: int = Field(default=5, ge=1, description="Queued + running jobs per key.")
    requests_per_minute: int = Field(default=60, ge=1, description="Write requests per key.")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest request body.")
    max_source_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="Largest source upload (POST /sources)."
    )
    source_top_k: int = Field(
        default=5, ge=1, le=20, description="Source passages each lesson prompt receives."
    )
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS.")
    data_dir: Path = Field(default=Path("./data"), description="Where the SQLite file lives.")
    database_url: str | None = Field(default=None, description="postgresql://… for scale-out.")
    redis_url: str | None = Field(default=None, description="redis://… for scale-out fan-out.")
    host: str = Field(default="127.0.0.1")
    port: int = Field(default=8000, ge=1, le=65535)
    max_running_jobs: int = Field(default=4, ge=1, description="Jobs one replica runs at once.")
    lease_s: float = Field(
        default=15.0, gt=0, description="Job lease; a dead replica's jobs move after it."
    )
    event_linger_ms: float = Field(
        default=0.0,
        ge=0,
        le=1000,
        description="Wait this long before each event-log write to batch more per transaction "
        "(0: write as soon as the previous write is done).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "coursegen.sqlite"

    @property
    def uses_postgres(self) -> bool:
        return bool(
            self.database_url and self.database_url.startswith(("postgres://", "postgresql://"))
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
        )


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()
