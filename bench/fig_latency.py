"""Figure 2: from the model emitting a token to an SSE client of the jobs API receiving it."""

import asyncio
from typing import Any

from bench.clients import percentile
from bench.harness import BASE_LLM, Ctx, Figure, courses, drive, table, warm_up
from bench.servers import Coursegen, serve_default_workers


def wait_columns(t: dict[str, list[float]], wall_s: float) -> list[float]:
    """Rates and p50/p99 (ms) of the probe's timings over one run."""

    def ms(name: str, q: float) -> float:
        return percentile(t.get(name, []), q) * 1000

    def rate(name: str) -> float:
        return len(t.get(name, [])) / wall_s if wall_s else float("nan")

    rounds = t.get("writer.jobs_per_round", [])
    return [
        rate("writer.round"),
        sum(rounds) / len(rounds) if rounds else float("nan"),
        ms("writer.round", 50),
        ms("writer.round", 99),
        rate("store.transaction_total"),
        ms("store.wait_lock_and_begin", 50),
        ms("store.wait_lock_and_begin", 99),
        rate("checkpoint.aput_writes"),
        ms("checkpoint.aput_writes", 50),
        ms("checkpoint.aput_writes", 99),
        ms("aiosqlite.op.result_to_loop", 99),
        sum(rate(f"gc.gen{g}") for g in range(3)),
        max((x for g in range(3) for x in t.get(f"gc.gen{g}", [])), default=0.0) * 1000,
    ]


def shipped_linger_ms() -> float:
    from coursegen.settings import Settings

    return float(Settings.model_fields["event_linger_ms"].default)


async def run(ctx: Ctx, long_linger_ms: float = 50.0) -> Figure:
    shipped = shipped_linger_ms()
    # (linger, workers, course counts): one worker, as the probe instruments one process; then
    # `serve`'s default of one worker per core, where the load is what one core cannot carry.
    if ctx.quick:
        plan: list[tuple[float | None, int, list[int]]] = [(None, 1, [1])]
        themes, topics = 1, 2
    else:
        plan = [(None, 1, [1, 10, 50]), (long_linger_ms, 1, [1, 10, 50])]
        cores = serve_default_workers()
        plan += [(None, cores, [10, 50])] if cores > 1 else []
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
        "machine). Events are stored before they are published, by one event writer per "
        "process: a round takes what every job buffered (consecutive tokens of a stream merged "
        "into one event), stores it in one transaction and publishes it, and the next round "
        "starts as soon as something is waiting. The shipped default "
        f"(`COURSEGEN_EVENT_LINGER_MS={shipped:g}`) starts a round at once; the second series "
        f"waits {long_linger_ms:g} ms before each round, like the 50 ms flush timer of the "
        "earlier design, to show what the wait costs. Both servers run under `bench/probe.py`, "
        "which times the writer's rounds, the job store's "
        "transactions and the checkpointer's writes (a few µs per database operation; the CPU "
        "figures 3 and 4 use an unwrapped server). Simulated LLM: "
        f"{llm.first_token_s:g} s to first token, {llm.tokens_per_s:g} tokens/s per stream; a "
        f"{themes}×{topics} course streams up to {themes * topics} topic calls at once.",
    )
    rows: list[list[Any]] = []
    waits: list[list[Any]] = []
    series: dict[str, dict[str, Any]] = {}
    for linger, workers, levels in plan:
        linger_ms = linger if linger is not None else shipped
        label = f"linger {linger_ms:g} ms" + (" (shipped)" if linger is None else "")
        if workers > 1:  # not "shipped": the rows of one worker stay the ones compared over time
            label = f"{workers} workers (one per core), linger {linger_ms:g} ms"
        curve: dict[str, Any] = {"levels": [], "p50": [], "p99": [], "values": {}}
        name = f"fig2-{linger_ms:g}ms-w{workers}"
        probe_path = ctx.workdir / f"{name}-probe.json" if workers == 1 else None
        server = Coursegen(
            ctx.sim.base_url,
            ctx.workdir / name,
            linger_ms=linger,
            probe_path=probe_path,
            env={"COURSEGEN_WORKERS": str(workers)},
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
                if probe_path is not None:
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
        "Where the time goes, from the probe (same runs). A round is one group commit of the "
        "events every job buffered, then their publication; it waits for the job store's single "
        "SQLite connection (on a thread of its own, behind an `asyncio.Lock`; a round is one "
        "call to that thread, `BEGIN IMMEDIATE … COMMIT` inside). Checkpoint writes are "
        "LangGraph's "
        "`aput_writes` (one per task: every LLM call, every topic, every node) on the other "
        "connection to the same file, serialised by the saver's own lock, each one trip to "
        "aiosqlite's thread. `loop lag` is how long a finished aiosqlite operation of the "
        "checkpointer waits for the busy event loop to resume its caller. Collections are the "
        "garbage collector's, every generation (the event loop stops while one runs).\n\n"
        + table(
            [
                "event log",
                "courses",
                "writer rounds / s",
                "jobs per round",
                "round p50 (ms)",
                "**round p99 (ms)**",
                "store tx / s",
                "wait for store p50 (ms)",
                "wait for store p99 (ms)",
                "checkpoint writes / s",
                "checkpoint write p50 (ms)",
                "**checkpoint write p99 (ms)**",
                "loop lag p99 (ms)",
                "collections / s",
                "longest collection (ms)",
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
            "from there on, latency is queueing for the CPU, not the writer."
        )
    for row in rows:
        if "shipped" in row[0] or "workers" in row[0]:
            workers = f", {row[0].split(' (')[0]}" if "workers" in row[0] else ""
            figure.goals.append(
                (
                    f"streaming latency, {row[1]} course(s){workers}",
                    "p50 ≤ 2 ms, p99 ≤ 20 ms",
                    f"p50 {row[6]:.1f} ms, p99 {row[8]:.1f} ms",
                    row[6] <= 2 and row[8] <= 20,
                )
            )
    for row in rows:
        figure.headline.append(
            f"Latency, {row[0]}, {row[1]} course(s): p50 {row[6]:.0f} ms, p99 {row[8]:.0f} ms"
        )
    shipped_rows = [row for row in rows if "shipped" in row[0]]
    figure.summary = "model token → SSE client, p50 / p99: " + ", ".join(
        f"{row[1]} course{'s' if row[1] > 1 else ''} {row[6]:,.1f} / {row[8]:,.1f} ms"
        for row in shipped_rows
    )
    figure.data["series"] = series
    if ctx.plots_dir is not None and rows:
        from bench import plotting

        figure.plot = plotting.latency(figure.data, ctx.plots_dir / "latency.png")
    return figure
