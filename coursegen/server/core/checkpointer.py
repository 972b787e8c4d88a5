"""Open the LangGraph checkpointer: SQLite by default, PostgreSQL for scale-out."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from coursegen.settings import Settings

# Checkpoints hold our Pydantic models; allow exactly our modules when loading them back.
SERDE = JsonPlusSerializer(
    allowed_msgpack_modules=[
        ("coursegen.domain", name)
        for name in (
            "CourseRequest",
            "CourseOptions",
            "Outline",
            "ThemeOutline",
            "ThemeTopics",
            "TopicOutline",
            "TopicContent",
            "WorkedExample",
            "SelfCheckQuestion",
            "PolishedTopic",
            "TokenUsage",
            "CourseUsage",
            "Course",
            "CourseTheme",
            "CourseTopic",
            "GlossaryEntry",
            "Citation",
            "RequirementCoverage",
            "TermDefinition",
            "ItemCoverage",
            "CoverageMap",
        )
    ]
    + [("coursegen.graph.state", "ThemeResult"), ("coursegen.graph.state", "TopicResult")]
)


async def threads_with_prefix(saver: BaseCheckpointSaver, prefix: str) -> list[str]:
    """The checkpoint threads whose id starts with `prefix` (the savers list by thread only)."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    sql = "SELECT DISTINCT thread_id FROM {table} WHERE substr(thread_id, 1, {n}) = {p}"
    tables = ("checkpoints", "writes")
    if isinstance(saver, AsyncSqliteSaver):
        query = " UNION ".join(sql.format(table=t, n="?", p="?") for t in tables)
        async with saver.lock, saver.conn.execute(query, [len(prefix), prefix] * 2) as cursor:
            return [row[0] for row in await cursor.fetchall()]
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    assert isinstance(saver, AsyncPostgresSaver), type(saver)
    tables = ("checkpoints", "checkpoint_writes")
    query = " UNION ".join(sql.format(table=t, n="%s", p="%s") for t in tables)
    async with saver._cursor() as cursor:  # the saver's own connection handling
        await cursor.execute(query, [len(prefix), prefix] * 2)
        return [row["thread_id"] for row in await cursor.fetchall()]


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver]:
    """Yield a ready checkpointer for the lifetime of the app (tables created if missing)."""
    if settings.uses_postgres:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        assert settings.database_url is not None
        async with AsyncPostgresSaver.from_conn_string(settings.database_url, serde=SERDE) as saver:
            await saver.setup()
            yield saver
        return
    import aiosqlite

    from coursegen.server.core._sqlite_saver import PatientSqliteSaver

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # The same busy timeout as the job store's connection: a lock one of them waits out does
    # not fail the other.
    wait_s = settings.sqlite_busy_timeout_s
    async with aiosqlite.connect(settings.sqlite_path, timeout=wait_s) as conn:
        # WAL lets the job store read while the checkpointer writes to the same file; in WAL
        # mode NORMAL survives a killed process (only a power cut may lose the last commits)
        # and saves an fsync per checkpoint write, as the job store's connection does.
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        sqlite_saver = PatientSqliteSaver(conn, serde=SERDE, busy_timeout_s=wait_s)
        await sqlite_saver.setup()
        yield sqlite_saver
