"""Expose a source search as a LangChain retriever that other chains can use."""

from collections.abc import Awaitable, Callable
from typing import Protocol

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from coursegen.sources.models import Passage, SourceDigest

Search = Callable[[str, int], Awaitable[list[Passage]]]


class SourceLibrary(Protocol):
    """One owner's sources: a search over their chunks and their digests, by source ids."""

    async def search(self, ids: list[str], query: str, k: int) -> list[Passage]:
        """The `k` passages of sources `ids` that best match a query, best first."""
        ...

    async def digest(self, ids: list[str]) -> list[SourceDigest]:
        """Titles and headings of sources `ids`."""
        ...


def passage_document(passage: Passage) -> Document:
    """A passage as a LangChain document (its text; where it is from in the metadata)."""
    return Document(
        page_content=passage.text,
        metadata=passage.model_dump(exclude={"text"}),
    )


def document_passage(document: Document) -> Passage:
    """The inverse of `passage_document`."""
    return Passage.model_validate({**document.metadata, "text": document.page_content})


class SourceRetriever(BaseRetriever):
    """Top-`k` passages of a source search (full text, or hybrid with embeddings) as documents.

    The stores are asynchronous: use `ainvoke` (or an async chain); `invoke` is refused.
    """

    search: Search
    k: int = 6

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [passage_document(p) for p in await self.search(query, self.k)]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        raise NotImplementedError("SourceRetriever searches asynchronously: use ainvoke()")
