"""Figure 6: coursegen's jobs API against the stock pipeline a user would build instead."""

import statistics
from typing import Any

from bench.harness import BASE_LLM, Batch, Ctx, Figure, courses, drive, table, warm_up
from bench.servers import ROOT, Coursegen, LanggraphDev, StockLangServe, langgraph_cli

SYSTEMS = {
    "jobs": "coursegen jobs API + SSE (`/courses`)",
    "stock-langgraph": "stock pipeline, `langgraph dev` (`messages-tuple`)",
    "stock-langserve": "stock pipeline, LangServe `astream_events`",
}
# The load: a fast hosted model, 6 concurrent 3 × 3 courses.
STOCK_LLM = BASE_LLM.__class__(**{**BASE_LLM.__dict__, "tokens_per_s": 150.0})
GOAL_RATIO = 0.10


async def run(ctx: Ctx) -> Figure:
    n, themes, topics = (2, 1, 2) if ctx.quick else (6, 3, 3)
    repeats = 1 if ctx.quick else 2
    systems = ["jobs", "stock-langserve"] + (["stock-langgraph"] if langgraph_cli() else [])
    figure = Figure(
        "stock",
        "6. coursegen vs the stock pipeline",
        f"{n} concurrent courses of {themes}×{topics} against the simulated model at "
        f"{STOCK_LLM.tokens_per_s:g} tokens/s per stream. The stock peer (`bench/stock/"
        "graph.py`) is the pipeline as the LangGraph documentation writes it, from stock parts "
        "only: `ChatOpenAI(streaming=True).with_structured_output(Schema, "
        "method='json_schema')` per stage, one `Send` per theme, the topics of a theme "
        "concurrently (`asyncio.gather` of content → polish). It is served twice: by "
        "`langgraph dev --n-jobs-per-worker 10` (in-memory runtime, driven by `langgraph-sdk` "
        "`runs.stream(stream_mode='messages-tuple')`) and by LangServe `add_routes` "
        "(`/course/stream_events`, i.e. `astream_events`, with a `Send`-aware serializer, "
        "without which it fails) under uvicorn. coursegen is `coursegen serve` on SQLite, "
        "followed through `/courses/{id}/events`. Server CPU: each server's process tree "
        "(psutil), divided by the tokens the simulator streamed. Systems alternate within "
        f"each round after an unmeasured warm-up course each; {repeats} rounds, median and "
        "range.",
    )
    results: dict[str, list[Batch]] = {}
    coursegen = Coursegen(ctx.sim.base_url, ctx.workdir / "fig6-coursegen")
    langserve = StockLangServe(ctx.sim.base_url, ctx.workdir / "fig6-langserve")
    dev = (
        LanggraphDev(
            ctx.sim.base_url,
            ctx.workdir / "fig6-langgraph",
            config=ROOT / "bench" / "stock" / "langgraph.json",
        )
        if "stock-langgraph" in systems
        else None
    )
    targets: dict[str, Any] = {"jobs": coursegen, "stock-langserve": langserve}
    with coursegen, langserve:
        try:
            if dev is not None:
                dev.start()
                targets["stock-langgraph"] = dev
            for system in systems:
                await warm_up(ctx, system, targets[system])
            ctx.configure_llm(STOCK_LLM)
            for rnd in range(repeats):
                for system in systems:
                    batch = await drive(
                        ctx,
                        system,
                        targets[system],
                        courses(f"fig6 {system} r{rnd}", n, themes, topics),
                    )
                    results.setdefault(system, []).append(batch)
                    ctx.log(
                        f"  {system}, round {rnd + 1}: {batch.cpu_per_token_us:.0f} µs/token, "
                        f"{batch.tokens} tokens, wall {batch.wall_s:.1f} s, "
                        f"p50 {batch.latency_ms(50):.1f} ms"
                    )
        finally:
            if dev is not None:
                dev.stop()
            ctx.configure_llm(BASE_LLM)
    cells: dict[str, dict[str, float]] = {}
    rows: list[list[Any]] = []
    for system in systems:
        batches = results.get(system, [])
        if not batches:
            continue
        cpu = [b.cpu_per_token_us for b in batches]
        cell = {
            "cpu": statistics.median(cpu),
            "cpu_s": statistics.median(b.cpu_s for b in batches),
            "wall": statistics.median(b.wall_s for b in batches),
            "p50": statistics.median(b.latency_ms(50) for b in batches),
            "p99": statistics.median(b.latency_ms(99) for b in batches),
        }
        cells[system] = cell
        rows.append(
            [
                SYSTEMS[system],
                statistics.median(b.tokens for b in batches),
                statistics.median(sum(r.token_events for r in b.runs) for b in batches),
                cell["wall"],
                cell["cpu_s"],
                cell["cpu"],
                f"{min(cpu):.0f}–{max(cpu):.0f}",
                cell["p50"],
                cell["p99"],
                sum(b.latency()[1] for b in batches),
                sum(len(b.failures) for b in batches),
            ]
        )
    figure.tables.append(
        table(
            [
                "system",
                "tokens",
                "token events",
                "wall (s)",
                "server CPU (s)",
                "**CPU per token (µs)**",
                "range",
                "latency p50 (ms)",
                "p99 (ms)",
                "missing",
                "failed",
            ],
            rows,
        )
    )
    ours = cells.get("jobs")
    for peer in ("stock-langgraph", "stock-langserve"):
        theirs = cells.get(peer)
        if ours is None or theirs is None:
            continue
        ratio = ours["cpu"] / theirs["cpu"]
        figure.goals.append(
            (
                f"CPU per streamed token ≤ {GOAL_RATIO:.2f} × the {SYSTEMS[peer]}'s, "
                f"{n} × {themes}×{topics} courses",
                f"≤ {GOAL_RATIO:.2f}×",
                f"{ratio:.2f}× ({ours['cpu']:.0f} vs {theirs['cpu']:.0f} µs)",
                ratio <= GOAL_RATIO,
            )
        )
    for system, cell in cells.items():
        figure.headline.append(
            f"{SYSTEMS[system]}, {n} × {themes}×{topics}: {cell['cpu']:.0f} µs CPU/token, "
            f"wall {cell['wall']:.1f} s, p50 {cell['p50']:.1f} ms"
        )
    if ours:
        figure.summary = "server CPU per token, 6 concurrent 3×3 courses: " + ", ".join(
            f"{SYSTEMS[s]} {c['cpu']:.0f} µs" for s, c in cells.items()
        )
    figure.data = {"cells": cells, "systems": SYSTEMS}
    return figure
