"""Figure 4: the same graph and model behind our jobs API, LangServe and `langgraph dev`."""

import statistics
from typing import Any

from bench.harness import BASE_LLM, Batch, Ctx, Figure, courses, drive, table, warm_up
from bench.servers import Coursegen, LanggraphDev, langgraph_cli

SYSTEMS = {
    "jobs": "jobs API + SSE (`/courses`)",
    "langserve": "LangServe `/course/stream`",
    "langgraph": "`langgraph dev` runs stream (custom)",
}


async def run(ctx: Ctx) -> Figure:
    levels = [1] if ctx.quick else [1, 8]
    repeats = 1 if ctx.quick else 2
    themes, topics = (1, 2) if ctx.quick else (2, 2)
    llm = BASE_LLM
    systems = ["jobs", "langserve"] + (["langgraph"] if langgraph_cli() else [])
    figure = Figure(
        "compare",
        "4. Jobs API vs LangServe vs `langgraph dev`",
        f"The same graph (`coursegen/graph/graph.py`) and the same simulated model; N courses "
        f"of {themes}×{topics} at once, each with one streaming client. Jobs API and LangServe "
        "are routes of one `coursegen serve` process (SQLite checkpointer); `langgraph dev "
        "--no-reload --n-jobs-per-worker 10` serves langgraph.json's graph (in-memory runtime "
        "and checkpoints) from a temp copy with absolute paths, model chosen by "
        "`COURSEGEN_MODEL=openai:bench` + `COURSEGEN_BASE_URL`, and is driven by `langgraph-sdk` "
        "(`threads.create`, then `runs.stream(stream_mode='custom')`). The jobs API and "
        "LangServe clients are the harness's raw SSE reader. Server CPU: the server's process "
        "tree. Systems alternate within each round; every system had one unmeasured warm-up "
        f"course; {repeats} rounds, the table shows the median (and the range) per cell. "
        "LangServe and `langgraph dev` send one event per token; the jobs API coalesces them "
        "per stream while they wait for the event writer and stores them before sending.",
    )
    results: dict[tuple[str, int], list[Batch]] = {}
    coursegen = Coursegen(ctx.sim.base_url, ctx.workdir / "fig4-coursegen")
    dev = (
        LanggraphDev(ctx.sim.base_url, ctx.workdir / "fig4-langgraph")
        if "langgraph" in systems
        else None
    )
    with coursegen:
        targets: dict[str, Any] = {"jobs": coursegen, "langserve": coursegen}
        try:
            if dev is not None:
                dev.start()
                targets["langgraph"] = dev
            for system in systems:
                await warm_up(ctx, system, targets[system])
            ctx.configure_llm(llm)
            for rnd in range(repeats):
                for n in levels:
                    for system in systems:
                        batch = await drive(
                            ctx,
                            system,
                            targets[system],
                            courses(f"fig4 {system} n{n} r{rnd}", n, themes, topics),
                        )
                        results.setdefault((system, n), []).append(batch)
                        ctx.log(
                            f"  {system}, {n} course(s), round {rnd + 1}: "
                            f"{batch.cpu_per_token_us:.0f} µs/token, "
                            f"p50 {batch.latency_ms(50):.1f} ms"
                        )
        finally:
            if dev is not None:
                dev.stop()
    rows: list[list[Any]] = []
    cells: dict[tuple[str, int], dict[str, float]] = {}
    for n in levels:
        for system in systems:
            batches = results.get((system, n), [])
            if not batches:
                continue
            cpu = [b.cpu_per_token_us for b in batches]
            p50 = [b.latency_ms(50) for b in batches]
            p99 = [b.latency_ms(99) for b in batches]
            missing = sum(b.latency()[1] for b in batches)
            cell = {
                "cpu": statistics.median(cpu),
                "p50": statistics.median(p50),
                "p99": statistics.median(p99),
            }
            cells[(system, n)] = cell
            failures = sum(len(b.failures) for b in batches)
            rows.append(
                [
                    SYSTEMS[system],
                    n,
                    statistics.median(b.tokens for b in batches),
                    statistics.median(sum(r.token_events for r in b.runs) for b in batches),
                    statistics.median(b.wall_s for b in batches),
                    cell["cpu"],
                    f"{min(cpu):.0f}–{max(cpu):.0f}",
                    cell["p50"],
                    f"{min(p50):.0f}–{max(p50):.0f}",
                    cell["p99"],
                    missing,
                    failures,
                ]
            )
    figure.tables.append(
        table(
            [
                "system",
                "courses",
                "tokens",
                "token events",
                "wall (s)",
                "**server CPU µs / token**",
                "range",
                "latency p50 (ms)",
                "range",
                "latency p99 (ms)",
                "never arrived",
                "failed courses",
            ],
            rows,
        )
    )
    for n in levels:
        for peer in ("langserve", "langgraph"):
            if ("jobs", n) not in cells or (peer, n) not in cells:
                continue
            ours, theirs = cells[("jobs", n)], cells[(peer, n)]
            ratio = ours["cpu"] / theirs["cpu"]
            name = SYSTEMS[peer].split(" runs")[0].split(" /")[0]
            figure.goals.append(
                (
                    f"jobs API CPU/token ≤ ½ of {name}'s, {n} course(s)",
                    "≤ 0.50×",
                    f"{ratio:.2f}×",
                    ratio <= 0.5,
                )
            )
            figure.goals.append(
                (
                    f"jobs API latency p50 no worse than {name}'s, {n} course(s)",
                    f"≤ {theirs['p50']:.1f} ms",
                    f"{ours['p50']:.1f} ms",
                    ours["p50"] <= theirs["p50"],
                )
            )
    for (system, n), cell in cells.items():
        figure.headline.append(
            f"{SYSTEMS[system]}, {n} course(s): {cell['cpu']:.0f} µs CPU/token, "
            f"p50 {cell['p50']:.1f} ms, p99 {cell['p99']:.1f} ms"
        )
    parts = []
    for n in levels:
        row = [cells[(s, n)] for s in systems if (s, n) in cells]
        if len(row) == len(systems):
            parts.append(
                f"{n} course(s) "
                + " / ".join(f"{c['cpu']:.0f}" for c in row)
                + " µs per token, p50 "
                + " / ".join(f"{c['p50']:.1f}" for c in row)
                + " ms"
            )
    figure.summary = "jobs API / LangServe / `langgraph dev`, same graph and model: " + "; ".join(
        parts
    )
    figure.data = {
        "systems": [SYSTEMS[s] for s in systems],
        "keys": systems,
        "levels": levels,
        "cells": {f"{s}|{n}": v for (s, n), v in cells.items()},
    }
    if ctx.plots_dir is not None and rows:
        from bench import plotting

        figure.plot = plotting.compare(figure.data, ctx.plots_dir / "compare.png")
    return figure
