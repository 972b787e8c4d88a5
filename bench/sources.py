"""Measure grounding: content-prompt tokens per topic by upload size, and retrieval latency.

python -m bench.sources                 # SQLite and PostgreSQL (if reachable); docs/benchmarks.md
python -m bench.sources --chunks 2000   # a smaller corpus; --out - prints the section only

Prompt tokens are characters ÷ 4 (as the simulated LLM counts them) of the real content
prompt, rendered with the top-k passages the real store retrieved for the topic. The corpus is
synthetic: chunks of ~1,000 characters drawn from a 5,000-word vocabulary with Zipf-like
frequencies, so BM25 / ts_rank have common and rare words to weigh.

Hybrid rows: the same searches with an embedder, so each also embeds its query, ranks the
vectors exactly (numpy over float32 bytes, on both stores) and fuses both rankings (RRF).
The embedder is in-process (LangChain's DeterministicFakeEmbedding, 1,536 dimensions like
text-embedding-3-small): a real embeddings API adds its round trip per query on top.
"""

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from langchain_core.embeddings import DeterministicFakeEmbedding

from coursegen.chains.stages import ContentInput, content_prompt
from coursegen.domain import CourseRequest, ThemeOutline, ThemeTopics, TopicOutline
from coursegen.server.jobs.postgres_store import PostgresJobStore
from coursegen.server.jobs.sqlite_store import SqliteJobStore
from coursegen.server.jobs.store import SqlJobStore
from coursegen.server.sources.dialects import source_store
from coursegen.server.sources.store import SourceStore
from coursegen.sources.embeddings import Embedder
from coursegen.sources.models import Chunk, ParsedSource, Section

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- sources-bench:start -->", "<!-- sources-bench:end -->"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
TOP_K = 5
QUERIES = 200
DIMENSIONS = 1536


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(size)]


def corpus(count: int, seed: int = 7) -> tuple[list[Chunk], list[str]]:
    """`count` chunks of ~1,000 characters; Zipf-ish word choice."""
    rng = random.Random(seed)
    words = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    chunks = []
    for i in range(count):
        text = " ".join(rng.choices(words, weights, k=150))[:1000]
        chunks.append(Chunk(index=i, text=text, heading=f"Section {i // 20}", page=i // 3 + 1))
    return chunks, words


@asynccontextmanager
async def opened(
    kind: str, tmp: Path, embedder: Embedder | None = None
) -> AsyncIterator[SourceStore]:
    jobs: SqlJobStore
    if kind == "sqlite":
        jobs = SqliteJobStore(tmp / f"{uuid.uuid4().hex}.sqlite")
        admin = None
    else:
        import psycopg

        name = f"coursegen_bench_{uuid.uuid4().hex[:12]}"
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
        admin.execute(f'CREATE DATABASE "{name}"')
        jobs = PostgresJobStore(f"postgresql://postgres@127.0.0.1:5432/{name}")
    await jobs.setup()
    store = source_store(jobs, embedder)
    await store.setup()
    try:
        yield store
    finally:
        await jobs.close()
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()


async def add(store: SourceStore, chunks: list[Chunk]) -> str:
    parsed = ParsedSource(title="Synthetic", kind="text", sections=[Section(text="x")])
    info = await store.add("bench", parsed, chunks, filename="synthetic.txt", size=0, language="en")
    return info.id


def prompt_tokens(topic_words: list[str], passages: list) -> int:  # type: ignore[type-arg]
    request = CourseRequest(course_name="Synthetic course", language="en", sources=["0" * 32])
    topic = TopicOutline(title=" ".join(topic_words[:3]), description=" ".join(topic_words))
    inp = ContentInput(
        request=request,
        theme=ThemeOutline(title="Theme", description="A theme"),
        topics=ThemeTopics(topics=[topic]),
        topic_index=0,
        passages=passages,
    )
    return len(content_prompt(inp).to_string()) // 4


async def tokens_by_size(kind: str, sizes: list[int], tmp: Path) -> list[tuple[int, int, int]]:
    """(chunks uploaded, prompt tokens without sources, with the top-k) per size."""
    rows = []
    chunks, words = corpus(max(sizes))
    query = words[40:48]
    bare = prompt_tokens(query, [])
    for size in sizes:
        async with opened(kind, tmp) as store:
            source = await add(store, chunks[:size])
            found = await store.search("bench", [source], " ".join(query), TOP_K)
            rows.append((size, bare, prompt_tokens(query, found)))
    return rows


async def latency(
    kind: str, count: int, tmp: Path, embedder: Embedder | None = None
) -> dict[str, float]:
    """Milliseconds per search (top-k) over `count` chunks: the first (hybrid: the vectors read
    from the database into memory), then p50, p95, max; and the load time."""
    chunks, words = corpus(count)
    rng = random.Random(11)
    async with opened(kind, tmp, embedder) as store:
        started = time.perf_counter()
        source = await add(store, chunks)
        loaded = time.perf_counter() - started
        t0 = time.perf_counter()
        await store.search("bench", [source], " ".join(rng.sample(words[:500], 12)), TOP_K)
        first = (time.perf_counter() - t0) * 1000
        for _ in range(10):  # warm-up
            await store.search("bench", [source], " ".join(rng.sample(words[:500], 12)), TOP_K)
        times = []
        for _ in range(QUERIES):
            query = " ".join(rng.sample(words[:2000], 12))
            t0 = time.perf_counter()
            await store.search("bench", [source], query, TOP_K)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[int(len(times) * 0.95) - 1],
        "max": times[-1],
        "load_s": loaded,
        "first": first,
    }


def postgres_reachable() -> bool:
    try:
        import psycopg

        psycopg.connect(ADMIN_URL, connect_timeout=3).close()
    except Exception:
        return False
    return True


async def measure(count: int) -> list[str]:
    kinds = ["sqlite", *(["postgres"] if postgres_reachable() else [])]
    sizes = sorted({10, 100, 1000, count})
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tokens = await tokens_by_size("sqlite", sizes, Path(tmp))
        waits = {kind: await latency(kind, count, Path(tmp)) for kind in kinds}
        fake = Embedder("bench-fake", DeterministicFakeEmbedding(size=DIMENSIONS))
        for kind in kinds:
            waits[f"{kind}, hybrid"] = await latency(kind, count, Path(tmp), fake)
    lines = [
        "## Sources: prompt size and retrieval",
        "",
        f"Measured by `python -m bench.sources` on {time.strftime('%Y-%m-%d %H:%M UTC')}"
        f" (top-k = {TOP_K}, chunks of ~1,000 characters; method in the script's docstring)"
        f" on {os.cpu_count()} cores shared with other work: load average"
        f" {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.",
        "",
        "Content-prompt tokens of one topic by the size of the uploaded material:",
        "",
        "| chunks uploaded | prompt tokens, no sources | prompt tokens, with sources |",
        "|---:|---:|---:|",
        *(f"| {size:,} | {bare:,} | {sourced:,} |" for size, bare, sourced in tokens),
        "",
        f"Retrieval latency over {count:,} chunks ({QUERIES} queries of 12 words, top {TOP_K}):",
        "",
        f"Hybrid rows embed the query and rank {DIMENSIONS}-dimension vectors too (see the"
        " script's docstring: the embeddings API's own time is not in them). The first search"
        " after the upload reads the source's vectors from the database into memory; the"
        " others (after 10 more warm-up searches) find them there.",
        "",
        "| store | first search | p50 | p95 | max | indexing the upload |",
        "|:---|---:|---:|---:|---:|---:|",
        *(
            f"| {kind} | {w['first']:.1f} ms | {w['p50']:.1f} ms | {w['p95']:.1f} ms "
            f"| {w['max']:.1f} ms | {w['load_s']:.1f} s |"
            for kind, w in waits.items()
        ),
    ]
    return lines


def write(out: Path, lines: list[str]) -> None:
    """Put the section between its markers (replacing an older one) at the end of `out`."""
    block = f"{START}\n" + "\n".join(lines) + f"\n{END}\n"
    text = out.read_text() if out.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    out.write_text(text)


def main() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    lines = asyncio.run(measure(args.chunks))
    if args.out == "-":
        print("\n".join(lines))
    else:
        write(Path(args.out), lines)
        print("\n".join(lines))


if __name__ == "__main__":
    main()
