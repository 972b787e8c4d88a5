"""Bind the source store to one owner, as the graph's `SourceLibrary`."""

from dataclasses import dataclass

from coursegen.server.sources.store import SourceStore
from coursegen.sources.models import Passage, SourceDigest
from coursegen.sources.retriever import SourceRetriever


@dataclass(frozen=True)
class OwnerSources:
    """The sources of `owner`: ids of anyone else's find nothing."""

    store: SourceStore
    owner: str
    top_k: int = 5

    async def search(self, ids: list[str], query: str, k: int) -> list[Passage]:
        return await self.store.search(self.owner, ids, query, k)

    async def digest(self, ids: list[str]) -> list[SourceDigest]:
        return await self.store.digest(self.owner, ids)

    def retriever(self, ids: list[str]) -> SourceRetriever:
        """A LangChain retriever over these sources, for other chains."""

        async def search(query: str, k: int) -> list[Passage]:
            return await self.search(ids, query, k)

        return SourceRetriever(search=search, k=self.top_k)
