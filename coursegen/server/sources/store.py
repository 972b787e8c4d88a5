"""Store sources and their chunks in the jobs database, with its full-text index.

SQLite: an FTS5 table ranked by BM25, in the same file as the jobs. PostgreSQL: a tsvector
column under a GIN index, built with the text-search configuration of the source's language
('simple' where PostgreSQL has none), ranked by ts_rank_cd. Both go through the job store's
transactions, so they share its connection (SQLite) or pool (PostgreSQL).

With an embedder (COURSEGEN_EMBEDDINGS) each chunk also gets a unit vector at upload, and a
search fuses the full-text ranking with the vector ranking by reciprocal rank fusion
(`coursegen.sources.fusion`). Vectors are float32 bytes in `coursegen_source_vectors` on
both databases, searched exactly in numpy (vectors.py): no database extension is needed.
"""

import asyncio
import re
import time
import uuid
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import orjson

from coursegen.server.core.db import Database, Tx
from coursegen.server.sources.models import SourceInfo
from coursegen.server.sources.vectors import VectorIndex
from coursegen.sources.embeddings import Embedder
from coursegen.sources.fusion import fuse
from coursegen.sources.models import Chunk, ParsedSource, Passage, SourceDigest, SourceError

SOURCE_COLUMNS = (
    "id, owner, title, kind, pages, chunks, filename, bytes, language, headings, created_at"
)
MAX_QUERY_WORDS = 32
# Each ranking fused offers this many times `k` candidates (at least MIN_POOL): a passage
# ranked low by one method and high by the other still reaches the fusion.
POOL_FACTOR, MIN_POOL = 4, 20


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

    def __init__(self, jobs: Database, embedder: Embedder | None = None) -> None:
        self.jobs = jobs
        self.embedder = embedder
        self.vectors = VectorIndex()

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
        """Store a parsed source and index its chunks (and their vectors) in one transaction."""
        vectors = await self._embed(chunks)
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
            if self.embedder is not None:
                await self.vectors.store(tx, info.id, self.embedder.model, vectors)
        return info

    async def _embed(self, chunks: list[Chunk]) -> list[np.ndarray]:
        if self.embedder is None:
            return []
        # The heading is part of what a passage is about ("Respiration" over its paragraphs).
        texts = [f"{c.heading}\n\n{c.text}" if c.heading else c.text for c in chunks]
        try:
            return await self.embedder.embed_passages(texts)
        except Exception as exc:  # the model's failure, not the upload's: 502, never a 500
            raise SourceError(
                f"the embeddings model {self.embedder.model!r} failed: {exc}", status=502
            ) from exc

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
            await self.vectors.delete(tx, source_id)
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

    async def vector_count(self, source_id: str) -> int:
        """Vectors stored for a source id (whoever owns it): zero once it is deleted."""
        async with self.jobs.transaction() as tx:
            rows = await tx.fetch(
                "SELECT COUNT(*) AS n FROM coursegen_source_vectors WHERE source_id = ?",
                (source_id,),
            )
        return int(rows[0]["n"])

    async def search(self, owner: str, ids: list[str], query: str, k: int) -> list[Passage]:
        """The `k` best passages for a query among the owner's sources `ids`, best first.

        Full-text alone without an embedder; with one, the full-text and the vector
        rankings fused (scores are then RRF scores, not BM25 / ts_rank).
        """
        if not ids or k < 1 or not query.strip():
            return []
        if self.embedder is None:
            return await self.lexical_search(owner, ids, query, k)
        embedder, pool = self.embedder, max(k * POOL_FACTOR, MIN_POOL)

        async def semantic() -> list[Passage]:
            vector = await embedder.embed_query(query)
            async with self.jobs.transaction() as tx:
                return await self._nearest(tx, owner, ids, embedder.model, vector, pool)

        # At once: the query's embedding (a model's round trip) overlaps the full-text search,
        # and on PostgreSQL the two searches run on two pooled connections.
        rankings = await asyncio.gather(self.lexical_search(owner, ids, query, pool), semantic())
        return fuse(list(rankings), k)

    async def _nearest(
        self, tx: Tx, owner: str, ids: list[str], model: str, vector: np.ndarray, n: int
    ) -> list[Passage]:
        """The `n` passages of the owner's sources `ids` nearest a unit vector, by cosine."""
        score = await self.vectors.nearest(tx, owner, ids, model, vector, n)
        if not score:
            return []
        found = await tx.fetch(
            "SELECT c.seq, c.source_id, s.title, c.idx, c.text, c.heading, c.page "
            "FROM coursegen_source_chunks c JOIN coursegen_sources s ON s.id = c.source_id "
            f"WHERE c.seq IN ({', '.join('?' for _ in score)})",
            tuple(score),
        )
        ranked = sorted(found, key=lambda r: (-score[r["seq"]], r["source_id"], r["idx"]))
        return [passage({**r, "score": score[r["seq"]]}) for r in ranked]

    async def lexical_search(self, owner: str, ids: list[str], query: str, k: int) -> list[Passage]:
        """The `k` best passages by full-text rank alone (BM25 or ts_rank_cd), best first."""
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
