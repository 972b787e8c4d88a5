"""Read every setting (graph, server, CLI, `langgraph dev`) from COURSEGEN_* variables and .env."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from standardwebhooks import Webhook

from coursegen.names import StructuredMode

WEBHOOK_SECRET_PREFIX = "whsec_"


def check_secret(secret: str) -> str:
    """The secret, if the library can sign with it (`whsec_` + base64); else ValueError."""
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_ (make one: coursegen keys create)")
    try:
        Webhook(secret)
    except Exception as exc:  # binascii.Error, or the library's empty-secret error
        raise ValueError(f"the webhook secret is not base64 after whsec_: {exc}") from exc
    return secret


class Settings(BaseSettings):
    """Every knob of coursegen; see the configuration table in README.md.

    The one source of configuration: the server, the CLI's in-process service and the graph
    that `langgraph dev` serves all read this class (the model, its endpoint and key
    included). The provider key is `COURSEGEN_LLM_API_KEY` or `OPENAI_API_KEY`, never
    `COURSEGEN_API_KEY`: that one is the CLI's bearer token for the service, which must not
    reach a provider.
    """

    model_config = SettingsConfigDict(
        env_prefix="COURSEGEN_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # The model.
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

    # The service.
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
    embeddings: str | None = Field(
        default=None,
        description="Embeddings model for hybrid source search (openai:text-embedding-3-small, "
        "or a name the embeddings server knows); unset: full-text search alone.",
    )
    embeddings_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible server of the embeddings model (…/v1); unset: "
        "COURSEGEN_BASE_URL.",
    )
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS.")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the server answers to (DNS rebinding); empty: the loopback "
        "names and the bind address. `*.example.com` and `*` work.",
    )
    data_dir: Path = Field(default=Path("./data"), description="Where the SQLite file lives.")
    sqlite_busy_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="How long a SQLite connection (job store and checkpoints alike) waits "
        "for a lock another connection holds before its write fails (checkpoint writes are "
        "then retried).",
    )
    thread_ttl_s: float = Field(
        default=7 * 24 * 3600.0,
        gt=0,
        description="LangServe threads unused this long are deleted with their checkpoints.",
    )
    database_url: str | None = Field(default=None, description="postgresql://… for scale-out.")
    redis_url: str | None = Field(default=None, description="redis://… for scale-out fan-out.")
    host: str = Field(default="127.0.0.1")
    port: int = Field(default=8000, ge=1, le=65535)
    max_running_jobs: int = Field(
        default=4, ge=1, description="Jobs one replica (one worker process) runs at once."
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        description="Worker processes of `coursegen serve` (default: one per core; 1 with the "
        "local model, which every worker would load again).",
    )
    peer_dir: Path | None = Field(
        default=None,
        description="Set by `coursegen serve` for its workers (not by hand): the directory "
        "where they meet to relay live events and cancels to each other.",
    )
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
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="whsec_… secret that signs webhooks of keys without a secret of their own.",
    )
    webhook_allow_private: bool = Field(
        default=False, description="Allow webhooks to private, loopback and link-local hosts."
    )
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60, description="Per attempt.")
    webhook_retry_base_s: float = Field(
        default=5.0, gt=0, description="First retry delay; it triples each time (docs/webhooks.md)."
    )
    webhook_retry_window_s: float = Field(
        default=24 * 3600.0, gt=0, description="How long a webhook is retried after its event."
    )
    public_url: str | None = Field(
        default=None, description="https://… this service is reached at (links in webhooks)."
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("webhook_secret")
    @classmethod
    def _signing_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None:
            check_secret(secret.get_secret_value())
        return secret

    @property
    def trusted_hosts(self) -> list[str]:
        """The host names a request's `Host` header may carry."""
        bind = f"[{self.host}]" if ":" in self.host else self.host  # as an IPv6 Host has it
        return self.allowed_hosts or sorted({"localhost", "127.0.0.1", "[::1]", bind})

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "coursegen.sqlite"

    @property
    def owns_store(self) -> bool:
        """Whether this process alone uses the store (one SQLite process, not a worker of
        several), so that leases it finds at start-up are its own dead ones."""
        return not self.uses_postgres and self.peer_dir is None

    @property
    def uses_postgres(self) -> bool:
        return bool(
            self.database_url and self.database_url.startswith(("postgres://", "postgresql://"))
        )


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()
