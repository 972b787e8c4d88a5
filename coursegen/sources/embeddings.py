"""Embed passages and queries with the model named by COURSEGEN_EMBEDDINGS (OpenAI-compatible)."""

import os
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_openai import OpenAIEmbeddings
from pydantic import SecretStr


class EmbeddingsConfigError(RuntimeError):
    """COURSEGEN_EMBEDDINGS names a model that cannot be reached; the message says what to set."""


def unit(vector: list[float]) -> np.ndarray:
    """The vector scaled to length 1 (float32): a dot product of two is their cosine."""
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


@dataclass(frozen=True)
class Embedder:
    """An embeddings model and the name its vectors are stored under.

    Vectors of different models are not comparable: the store keeps each vector's `model` and
    searches only those of the configured one.
    """

    model: str
    embeddings: Embeddings

    async def embed_passages(self, texts: list[str]) -> list[np.ndarray]:
        """Unit vectors of the texts, in order."""
        if not texts:
            return []
        return [unit(v) for v in await self.embeddings.aembed_documents(texts)]

    async def embed_query(self, text: str) -> np.ndarray:
        """The unit vector of a search query."""
        return unit(await self.embeddings.aembed_query(text))


def load_embedder(
    spec: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout_s: float = 60.0,
    max_retries: int = 2,
) -> Embedder:
    """The embedder for `openai:<model>` (OpenAI, or the server at `base_url`), or, with a base
    URL, for any name as that server spells it (`nomic-embed-text` for Ollama)."""
    provider, _, name = spec.partition(":")
    if provider != "openai" or not name:
        if not base_url:
            raise EmbeddingsConfigError(
                f"COURSEGEN_EMBEDDINGS={spec!r}: use openai:<model> (with OPENAI_API_KEY), or "
                "set COURSEGEN_EMBEDDINGS_BASE_URL / COURSEGEN_BASE_URL to an OpenAI-compatible "
                "server and name its model"
            )
        name = spec
    key = api_key or os.environ.get("OPENAI_API_KEY")
    if not key and not base_url:
        raise EmbeddingsConfigError(
            f"COURSEGEN_EMBEDDINGS={spec!r} needs OPENAI_API_KEY (or COURSEGEN_LLM_API_KEY), "
            "or a base URL of an OpenAI-compatible server"
        )
    embeddings = OpenAIEmbeddings(
        model=name,
        openai_api_base=base_url,
        # Local OpenAI-compatible servers ignore the key, but the client insists on one.
        openai_api_key=SecretStr(key or "not-needed"),
        # The length check tokenises with tiktoken, which downloads its encoding at run time
        # (and compatible servers reject token ids); chunks are ~1,200 characters, far below
        # any embedding model's context.
        check_embedding_ctx_length=False,
        request_timeout=timeout_s,
        max_retries=max_retries,
    )
    return Embedder(model=spec, embeddings=embeddings)
