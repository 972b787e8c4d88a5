"""Figure 2: from the model emitting a token to an SSE client of the jobs API receiving it."""

import asyncio
from typing import Any

from bench.clients import percentile
from bench.harness import BASE_LLM, Ctx, Figure, courses, drive, table, warm_up
from bench.servers import Coursegen


def wait_columns(t: dict[str, list[float]], wall_s: float) -> list[float]:
    """Rates and p50/p99 (ms) of the probe's timings over one run."""

    def ms(name: str, q: float) -> float:
        return percentile(t.get(name, []), q) * 1000

    def rate(name: str) -> float:
        return len(t.get(name, [])) / wall_s if wall_s else float("nan")

    return [
        rate("eventlog.flush"),
        ms("eventlog.flush", 50),
        ms("eventlog.flush", 99),
        rate("store.transaction_total"),
        ms("store.wait_lock_and_begin", 50),
        ms("store.wait_lock_and_begin", 99),
        rate("checkpoint.aput_writes"),
        ms("checkpoint.aput_writes", 50),
        ms("checkpoint.aput_writes", 99),
        ms("aiosqlite.op.result_to_loop", 99),
    ]


def shipped_flush_s() -> float:
    from coursegen.server.jobs.eventlog import FLUSH_S

    return float(FLUSH_S)


async def run(ctx: Ctx, small_flush_s: float = 0.01) -> Figure:
    shipped = shipped_flush_s()
    if ctx.quick:
        plan: list[tuple[float | None, list[int]]] = [(None, [1])]
        themes, topics = 1, 2
    else:
        plan = [(None, [1, 10, 50]), (small_flush_s, [1, 10])]
        themes, topics = 2, 2
    llm = BASE_LLM
    figure = Figure(
        "latency",
        "2. Streaming latency (jobs API)",
        f"N courses of {themes}×{topics} started at once through the jobs API, each followed "
        "by one SSE client; `coursegen serve` in its own process (SQLite in a temp dir, limits "
        "raised out of the way). Every body token the simulator emits carries a unique marker; "
        "latency = arrival of the first SSE event that contains the marker − the simulator's "
        "timestamp just before it wrote that token (both `time.monotonic()`, one clock on one "
        "machine). Token events are coalesced by design: the job's event log stores and "
        f"publishes them every `FLUSH_S` = {shipped * 1000:g} ms (one event per stream per "
        "flush), so a token waits for the next flush; the second series runs the same load with "
        f"`FLUSH_S` patched to {small_flush_s * 1000:g} ms (it is not a setting) to separate the "
        "flush wait from the rest of the path. Both servers run under `bench/probe.py`, which "
        "patches that constant and times the event log's flushes, the job store's "
        "transactions and the checkpointer's writes (a few µs per database operation; the CPU "
        "figures 3 and 4 use an unwrapped server). Simulated LLM: "
        f"{llm.first_token_s:g} s to first token, {llm.tokens_per_s:g} tokens/s per stream; a "
        f"{themes}×{topics} course streams up to {themes * topics} topic calls at once.",
    )
    rows: list[list[Any]] = []
    waits: list[list[Any]] = []
    series: dict[str, dict[str, Any]] = {}
    for flush, levels in plan:
        flush_ms = (flush if flush is not None else shipped) * 1000
        label = f"FLUSH_S {flush_ms:g} ms" + (" (shipped)" if flush is None else " (patched)")
        curve: dict[str, Any] = {"levels": [], "p50": [], "p99": [], "values": {}}
        name = f"fig2-{flush_ms:g}ms"
        probe_path = ctx.workdir / f"{name}-probe.json"
        server = Coursegen(
            ctx.sim.base_url, ctx.workdir / name, flush_s=flush, probe_path=probe_path
        )
        with server:
            await warm_up(ctx, "jobs", server)
            ctx.configure_llm(llm)
            seen = {k: len(v) for k, v in (await asyncio.to_thread(server.probe)).items()}
            for n in levels:
                batch = await drive(ctx, "jobs", server, courses(f"{name} n{n}", n, themes, topics))
                timings = await asyncio.to_thread(server.probe)
                new = {k: v[seen.get(k, 0) :] for k, v in timings.items()}
                seen = {k: len(v) for k, v in timings.items()}
                waits.append([label, n, *wait_columns(new, batch.wall_s)])
                values, missing = batch.latency()
                token_events = sum(r.token_events for r in batch.runs)
                p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
                rows.append(
                    [
                        label,
                        n,
                        batch.tokens,
                        token_events,
                        len(values),
                        missing,
                        p50,
                        percentile(values, 90) * 1000,
                        p99,
                        max(values, default=float("nan")) * 1000,
                        batch.wall_s,
                        batch.cpu_util,
                    ]
                )
                curve["levels"].append(n)
                curve["p50"].append(p50)
                curve["p99"].append(p99)
                curve["values"][n] = [v * 1000 for v in values]
                ctx.log(f"  {label}, {n} courses: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        series[label] = curve
    figure.tables.append(
        table(
            [
                "event log",
                "courses",
                "tokens emitted",
                "token events received",
                "marked tokens timed",
                "never arrived",
                "p50 (ms)",
                "p90 (ms)",
                "**p99 (ms)**",
                "max (ms)",
                "wall (s)",
                "server CPU / wall",
            ],
            rows,
        )
    )
    figure.tables.append(
        "Where the time goes, from the probe (same runs). A flush is one job's "
        "store-then-publish of its buffered events; it waits for the job store's single "
        "SQLite connection (an `asyncio.Lock` around `BEGIN IMMEDIATE … COMMIT`, each "
        "statement a round trip to aiosqlite's thread). Checkpoint writes are LangGraph's "
        "`aput_writes` (one per task: every LLM call, every topic, every node) on the other "
        "connection to the same file, serialised by the saver's own lock. `loop lag` is how long "
        "a finished aiosqlite operation waits for the busy event loop to resume its caller.\n\n"
        + table(
            [
                "event log",
                "courses",
                "flushes / s",
                "flush p50 (ms)",
                "**flush p99 (ms)**",
                "store tx / s",
                "wait for store p50 (ms)",
                "wait for store p99 (ms)",
                "checkpoint writes / s",
                "checkpoint write p50 (ms)",
                "**checkpoint write p99 (ms)**",
                "loop lag p99 (ms)",
            ],
            waits,
        )
    )
    figure.data["waits"] = waits
    figure.data["rows"] = rows
    busiest = max((row[11] for row in rows), default=float("nan"))
    if busiest < 0.8:
        figure.notes.append(
            f"`server CPU / wall` stayed at or below {busiest:.2f} at every load: the server "
            "was never CPU-bound here, so the latency growth is waiting, not computing (see "
            "the second table)."
        )
    else:
        figure.notes.append(
            "`server CPU / wall` near 1.0 means the server's one event loop is saturated: "
            "from there on, latency is queueing for the CPU, not the flush interval."
        )
    for row in rows:
        figure.headline.append(
            f"Latency, {row[0]}, {row[1]} course(s): p50 {row[6]:.0f} ms, p99 {row[8]:.0f} ms"
        )
    figure.data["series"] = series
    if ctx.plots_dir is not None and rows:
        from bench import plotting

        figure.plot = plotting.latency(figure.data, ctx.plots_dir / "latency.png")
    return figure
