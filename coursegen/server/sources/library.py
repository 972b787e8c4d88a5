"""Bind the source store to one job's owner and sources, as the graph's `SourceLibrary`."""

from dataclasses import dataclass

from coursegen.server.sources.store import SourceStore
from coursegen.sources.models import Passage, SourceDigest
from coursegen.sources.retriever import SourceRetriever


@dataclass(frozen=True)
class OwnerSources:
    """The sources a course of `owner` was asked to use; nobody else's are reachable."""

    store: SourceStore
    owner: str
    ids: tuple[str, ...]
    top_k: int = 5

    async def search(self, query: str, k: int) -> list[Passage]:
        return await self.store.search(self.owner, list(self.ids), query, k)

    async def digest(self) -> list[SourceDigest]:
        return await self.store.digest(self.owner, list(self.ids))

    def retriever(self) -> SourceRetriever:
        """The same search as a LangChain retriever, for other chains."""
        return SourceRetriever(search=self.search, k=self.top_k)
