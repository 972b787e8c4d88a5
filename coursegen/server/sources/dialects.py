"""Implement the source store's full-text indexes: SQLite (FTS5) and PostgreSQL (tsvector)."""

from coursegen.server.core.db import Database, Tx
from coursegen.server.sources.store import SourceStore, passage, query_words
from coursegen.sources.embeddings import Embedder
from coursegen.sources.models import Chunk, Passage

_SOURCES = """CREATE TABLE IF NOT EXISTS coursegen_sources (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL,
    pages INTEGER, chunks INTEGER NOT NULL, filename TEXT NOT NULL, bytes INTEGER NOT NULL,
    language TEXT NOT NULL, headings TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)"""
_SOURCES_LIST = (
    "CREATE INDEX IF NOT EXISTS coursegen_sources_list ON coursegen_sources (owner, created_at)"
)
_CHUNKS_BY_SOURCE = (
    "CREATE INDEX IF NOT EXISTS coursegen_source_chunks_source "
    "ON coursegen_source_chunks (source_id, idx)"
)
_CHUNK_INSERT = (
    "INSERT INTO coursegen_source_chunks (source_id, idx, page, heading, text{extra}) "
    "VALUES (?, ?, ?, ?, ?{marks})"
)
# One layout on both: a chunk's float32 vector as bytes, under the chunk's seq (vectors.py).
_VECTORS = """CREATE TABLE IF NOT EXISTS coursegen_source_vectors (
    seq {key}, source_id TEXT NOT NULL, model TEXT NOT NULL, embedding {bytes} NOT NULL)"""
_VECTORS_BY_SOURCE = (
    "CREATE INDEX IF NOT EXISTS coursegen_source_vectors_source "
    "ON coursegen_source_vectors (source_id, model)"
)


# Text-search configurations a stock PostgreSQL has, by ISO 639-1 code.
PG_CONFIGS = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "da": "danish",
    "nl": "dutch", "en": "english", "fi": "finnish", "fr": "french", "de": "german",
    "el": "greek", "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish",
    "it": "italian", "lt": "lithuanian", "ne": "nepali", "no": "norwegian", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sr": "serbian", "es": "spanish", "sv": "swedish",
    "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}  # fmt: skip


def text_search_config(language: str) -> str:
    """PostgreSQL's configuration for a language code; 'simple' (no stemming) for the rest."""
    return PG_CONFIGS.get(language, "simple")


class SqliteSourceStore(SourceStore):
    """Sources in the SQLite file; FTS5 with BM25 ranking (diacritics folded).

    Vectors are float32 BLOBs in the same file (vectors.py). sqlite-vec's `vec0` would scan
    the same way, but it is a loadable extension and interpreters built without
    `enable_load_extension` (pyenv's default build, this project's CI) cannot load it.
    """

    schema = [  # noqa: RUF012 - the abstract property, as a constant
        _SOURCES,
        _SOURCES_LIST,
        """CREATE TABLE IF NOT EXISTS coursegen_source_chunks (
            seq INTEGER PRIMARY KEY, source_id TEXT NOT NULL, idx INTEGER NOT NULL,
            page INTEGER, heading TEXT NOT NULL, text TEXT NOT NULL)""",
        _CHUNKS_BY_SOURCE,
        "CREATE VIRTUAL TABLE IF NOT EXISTS coursegen_source_fts USING fts5("
        "heading, text, tokenize = 'unicode61 remove_diacritics 2')",
        # Always there (it costs nothing): a source embedded once is deleted whole later.
        _VECTORS.format(key="INTEGER PRIMARY KEY", bytes="BLOB"),
        _VECTORS_BY_SOURCE,
    ]

    async def _index(self, tx: Tx, source_id: str, language: str, chunks: list[Chunk]) -> None:
        await tx.run_many(
            _CHUNK_INSERT.format(extra="", marks=""),
            [(source_id, c.index, c.page, c.heading, c.text) for c in chunks],
        )
        # The FTS row shares the chunk's rowid: the join back needs no other key.
        await tx.run(
            "INSERT INTO coursegen_source_fts (rowid, heading, text) "
            "SELECT seq, heading, text FROM coursegen_source_chunks WHERE source_id = ?",
            (source_id,),
        )

    async def _unindex(self, tx: Tx, source_id: str) -> None:
        await tx.run(
            "DELETE FROM coursegen_source_fts WHERE rowid IN "
            "(SELECT seq FROM coursegen_source_chunks WHERE source_id = ?)",
            (source_id,),
        )

    def _match(self, words: list[str]) -> str:
        return " OR ".join(f'"{w}"' for w in words)

    def _search_sql(self, ids: int) -> str:
        return (
            "SELECT c.source_id, s.title, c.idx, c.text, c.heading, c.page, "
            "-bm25(coursegen_source_fts) AS score FROM coursegen_source_fts "
            "JOIN coursegen_source_chunks c ON c.seq = coursegen_source_fts.rowid "
            "JOIN coursegen_sources s ON s.id = c.source_id "
            "WHERE coursegen_source_fts MATCH ? AND s.owner = ? "
            f"AND c.source_id IN ({', '.join('?' for _ in range(ids))}) "
            "ORDER BY score DESC, c.source_id, c.idx LIMIT ?"
        )


class PostgresSourceStore(SourceStore):
    """Sources in PostgreSQL; a tsvector per chunk in its language's configuration.

    Vectors are float32 bytes in a `bytea` column, searched as on SQLite (vectors.py): pgvector
    would need an extension on the database server, and Debian bookworm packages none.
    """

    schema = [  # noqa: RUF012 - the abstract property, as a constant
        _SOURCES,
        _SOURCES_LIST,
        """CREATE TABLE IF NOT EXISTS coursegen_source_chunks (
            seq BIGSERIAL PRIMARY KEY, source_id TEXT NOT NULL, idx INTEGER NOT NULL,
            page INTEGER, heading TEXT NOT NULL, text TEXT NOT NULL, tsv TSVECTOR NOT NULL)""",
        _CHUNKS_BY_SOURCE,
        "CREATE INDEX IF NOT EXISTS coursegen_source_chunks_tsv "
        "ON coursegen_source_chunks USING GIN (tsv)",
        # Deleting a source deletes its vectors (store.py); the key cascades all the same.
        _VECTORS.format(
            key="BIGINT PRIMARY KEY REFERENCES coursegen_source_chunks (seq) ON DELETE CASCADE",
            bytes="BYTEA",
        ),
        _VECTORS_BY_SOURCE,
    ]

    async def _index(self, tx: Tx, source_id: str, language: str, chunks: list[Chunk]) -> None:
        config = text_search_config(language)
        await tx.run_many(
            _CHUNK_INSERT.format(
                extra=", tsv",
                marks=", setweight(to_tsvector(?::regconfig, ?), 'A') || "
                "to_tsvector(?::regconfig, ?)",
            ),
            [_pg_row(source_id, config, c) for c in chunks],
        )

    async def _unindex(self, tx: Tx, source_id: str) -> None:
        return None  # the tsvector lives in the chunk row

    def _match(self, words: list[str]) -> str:
        return " | ".join(words)

    def _search_sql(self, ids: int) -> str:
        # One configuration per query (a constant tsquery), so the GIN index is used.
        return (
            "SELECT c.source_id, s.title, c.idx, c.text, c.heading, c.page, "
            "ts_rank_cd(c.tsv, q.query) AS score "
            "FROM (SELECT to_tsquery(?::regconfig, ?) AS query) q "
            "JOIN coursegen_source_chunks c ON c.tsv @@ q.query "
            "JOIN coursegen_sources s ON s.id = c.source_id WHERE s.owner = ? "
            f"AND c.source_id IN ({', '.join('?' for _ in range(ids))}) "
            "ORDER BY score DESC, c.source_id, c.idx LIMIT ?"
        )

    async def lexical_search(self, owner: str, ids: list[str], query: str, k: int) -> list[Passage]:
        """Search the sources of each text-search configuration apart, then merge by rank."""
        words = query_words(query)
        if not ids or not words or k < 1:
            return []
        by_config: dict[str, list[str]] = {}
        for info in await self.list_sources(owner):
            if info.id in ids:
                by_config.setdefault(text_search_config(info.language), []).append(info.id)
        found: list[Passage] = []
        async with self.jobs.transaction() as tx:
            for config, group in by_config.items():
                params = (config, self._match(words), owner, *group, k)
                found += [passage(r) for r in await tx.fetch(self._search_sql(len(group)), params)]
        found.sort(key=lambda p: (-p.score, p.source_id, p.index))
        return found[:k]


def _pg_row(source_id: str, config: str, c: Chunk) -> tuple[object, ...]:
    # The heading weighs more (A) than the body: a topic named like a section finds it.
    chunk = (source_id, c.index, c.page, c.heading, c.text)
    return (*chunk, config, c.heading, config, c.text)


def source_store(jobs: Database, embedder: Embedder | None = None) -> SourceStore:
    """The source store on the job store's database (hybrid search with an embedder)."""
    if jobs.dialect == "sqlite":
        return SqliteSourceStore(jobs, embedder)
    return PostgresSourceStore(jobs, embedder)
