"""Build the source store's embedder from the service settings (none: full-text search)."""

from coursegen.settings import Settings
from coursegen.sources.embeddings import Embedder, load_embedder


def source_embedder(settings: Settings) -> Embedder | None:
    """The embedder COURSEGEN_EMBEDDINGS names, reached like the chat model unless told
    otherwise (COURSEGEN_EMBEDDINGS_BASE_URL); None when it is unset."""
    if not settings.embeddings:
        return None
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return load_embedder(
        settings.embeddings,
        base_url=settings.embeddings_base_url or settings.base_url,
        api_key=key,
        timeout_s=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
    )
