"""Store sources and their chunks in the jobs database, with its full-text index.

SQLite: an FTS5 table ranked by BM25, in the same file as the jobs. PostgreSQL: a tsvector
column under a GIN index, built with the text-search configuration of the source's language
('simple' where PostgreSQL has none), ranked by ts_rank_cd. Both go through the job store's
transactions, so they share its connection (SQLite) or pool (PostgreSQL).
"""

import re
import time
import uuid
from abc import ABC, abstractmethod
from typing import Any

import orjson

from coursegen.server.jobs.store import SqlJobStore, Tx
from coursegen.server.sources.models import SourceInfo
from coursegen.sources.models import Chunk, ParsedSource, Passage, SourceDigest

SOURCE_COLUMNS = (
    "id, owner, title, kind, pages, chunks, filename, bytes, language, headings, created_at"
)
MAX_QUERY_WORDS = 32


def query_words(query: str) -> list[str]:
    """The distinct words of a query (letters and digits only: safe in any match syntax)."""
    words = [w for w in re.findall(r"\w+", query.casefold()) if len(w) > 1]
    return list(dict.fromkeys(words))[:MAX_QUERY_WORDS]


def _info(row: dict[str, Any]) -> SourceInfo:
    return SourceInfo.model_validate({**row, "headings": orjson.loads(row["headings"])})


def passage(row: dict[str, Any]) -> Passage:
    return Passage(
        source_id=row["source_id"],
        title=row["title"],
        index=row["idx"],
        text=row["text"],
        heading=row["heading"],
        page=row["page"],
        score=float(row["score"]),
    )


class SourceStore(ABC):
    """Sources of every owner; each call names the owner, and other owners' sources are absent."""

    def __init__(self, jobs: SqlJobStore) -> None:
        self.jobs = jobs

    @property
    @abstractmethod
    def schema(self) -> list[str]:
        """The dialect's CREATE statements."""

    @abstractmethod
    async def _index(self, tx: Tx, source_id: str, language: str, chunks: list[Chunk]) -> None:
        """Insert the chunks and their full-text entries."""

    @abstractmethod
    async def _unindex(self, tx: Tx, source_id: str) -> None:
        """Delete the source's full-text entries (before its chunks go)."""

    @abstractmethod
    def _search_sql(self, ids: int) -> str:
        """SELECT of passages: params (query, owner, *ids, k); columns as `passage` reads."""

    @abstractmethod
    def _match(self, words: list[str]) -> str:
        """The query words in the dialect's match syntax."""

    async def setup(self) -> None:
        async with self.jobs.transaction() as tx:
            for statement in self.schema:
                await tx.run(statement)

    async def add(
        self,
        owner: str,
        parsed: ParsedSource,
        chunks: list[Chunk],
        *,
        filename: str,
        size: int,
        language: str,
    ) -> SourceInfo:
        """Store a parsed source and index its chunks in one transaction."""
        info = SourceInfo(
            id=uuid.uuid4().hex,
            title=parsed.title[:300],
            kind=parsed.kind,
            pages=parsed.pages,
            chunks=len(chunks),
            filename=filename[:300],
            bytes=size,
            language=language,
            headings=parsed.headings[:200],
            created_at=time.time(),
        )
        headings = orjson.dumps(info.headings).decode()
        row = {**info.model_dump(), "owner": owner, "headings": headings}
        names = [n.strip() for n in SOURCE_COLUMNS.split(",")]
        async with self.jobs.transaction() as tx:
            await tx.run(
                f"INSERT INTO coursegen_sources ({SOURCE_COLUMNS}) "
                f"VALUES ({', '.join('?' for _ in names)})",
                [row[n] for n in names],
            )
            await self._index(tx, info.id, language, chunks)
        return info

    async def get(self, owner: str, source_id: str) -> SourceInfo | None:
        async with self.jobs.transaction() as tx:
            rows = await tx.fetch(
                f"SELECT {SOURCE_COLUMNS} FROM coursegen_sources WHERE id = ? AND owner = ?",
                (source_id, owner),
            )
        return _info(rows[0]) if rows else None

    async def list_sources(self, owner: str) -> list[SourceInfo]:
        async with self.jobs.transaction() as tx:
            rows = await tx.fetch(
                f"SELECT {SOURCE_COLUMNS} FROM coursegen_sources WHERE owner = ? "
                "ORDER BY created_at DESC, id DESC",
                (owner,),
            )
        return [_info(r) for r in rows]

    async def missing(self, owner: str, ids: list[str]) -> list[str]:
        """The ids among `ids` that are not sources of this owner."""
        if not ids:
            return []
        async with self.jobs.transaction() as tx:
            rows = await tx.fetch(
                "SELECT id FROM coursegen_sources WHERE owner = ? "
                f"AND id IN ({', '.join('?' for _ in ids)})",
                (owner, *ids),
            )
        found = {r["id"] for r in rows}
        return [i for i in ids if i not in found]

    async def delete(self, owner: str, source_id: str) -> bool:
        """Delete a source with its chunks and index entries; False if it is not the owner's."""
        async with self.jobs.transaction() as tx:
            rows = await tx.fetch(
                "SELECT id FROM coursegen_sources WHERE id = ? AND owner = ?", (source_id, owner)
            )
            if not rows:
                return False
            await self._unindex(tx, source_id)
            await tx.run("DELETE FROM coursegen_source_chunks WHERE source_id = ?", (source_id,))
            await tx.run("DELETE FROM coursegen_sources WHERE id = ?", (source_id,))
        return True

    async def chunk_count(self, source_id: str) -> int:
        """Chunks stored for a source id (whoever owns it): zero once it is deleted."""
        async with self.jobs.transaction() as tx:
            rows = await tx.fetch(
                "SELECT COUNT(*) AS n FROM coursegen_source_chunks WHERE source_id = ?",
                (source_id,),
            )
        return int(rows[0]["n"])

    async def search(self, owner: str, ids: list[str], query: str, k: int) -> list[Passage]:
        """The `k` best passages for a query among the owner's sources `ids`, best first."""
        words = query_words(query)
        if not ids or not words or k < 1:
            return []
        async with self.jobs.transaction() as tx:
            rows = await tx.fetch(self._search_sql(len(ids)), (self._match(words), owner, *ids, k))
        return [passage(r) for r in rows]

    async def digest(self, owner: str, ids: list[str]) -> list[SourceDigest]:
        """Titles and headings of the owner's sources `ids`, in the order given."""
        infos = {s.id: s for s in await self.list_sources(owner) if s.id in ids}
        return [
            SourceDigest(title=infos[i].title, headings=infos[i].headings)
            for i in ids
            if i in infos
        ]
