"""Figure 3: server CPU per streamed token and memory per active job, as courses pile up."""

import asyncio
from typing import Any

from bench.clients import CourseRun, percentile
from bench.harness import BASE_LLM, Batch, Ctx, Figure, courses, drive, table, warm_up
from bench.servers import Coursegen, rss_bytes, serve_default_workers

MIB = 2**20


def active_at(runs: list[CourseRun], at: float) -> int:
    """Jobs running at `at`, as their followers saw them (status running … end)."""
    return sum(
        1 for r in runs if r.running is not None and r.running <= at and (r.ended or 1e18) > at
    )


def memory(batch: Batch, baseline: int) -> dict[str, Any]:
    samples = batch.samples
    if not samples:
        return {}
    peak_at, peak_rss, _ = max(samples, key=lambda s: s[1])
    most = max((active_at(batch.runs, at) for at, _, _ in samples), default=0)
    return {
        "baseline": baseline,
        "peak": peak_rss,
        "most_active": most,
        "active_at_peak": active_at(batch.runs, peak_at),
        "per_job": (peak_rss - baseline) / len(batch.runs) if batch.runs else float("nan"),
        "after": samples[-1][1],
    }


def marginal(short: Batch, long: Batch) -> dict[str, Any]:
    """Split CPU into a per-token and a per-call part from two runs with other answer sizes."""
    extra_tokens = long.tokens - short.tokens
    per_token = (long.cpu_s - short.cpu_s) / extra_tokens if extra_tokens else float("nan")
    calls = len(short.calls)
    return {
        "per_token_us": per_token * 1e6,
        "per_call_ms": (short.cpu_s - per_token * short.tokens) / calls * 1000,
        "calls": calls,
        "tokens": (short.tokens, long.tokens),
        "cpu": (short.cpu_s, long.cpu_s),
        "all_in_us": (short.cpu_per_token_us, long.cpu_per_token_us),
    }


def _courses(label: int | str) -> str:
    """`200 courses`, or `200 courses (2 workers)` for a row labelled `200 (2 workers)`."""
    count, _, rest = str(label).partition(" ")
    return f"{count} courses" + (f" {rest}" if rest else "")


async def run(ctx: Ctx) -> Figure:
    levels = [2] if ctx.quick else [10, 50, 200]
    themes, topics, body = 1, 2, 30
    long_body = 60 if ctx.quick else 180
    split: dict[str, Any] = {}
    llm = ctx.configure_llm(BASE_LLM, body_tokens=body)
    figure = Figure(
        "cpu_memory",
        "3. Server CPU per token and memory per active job (jobs API)",
        f"N courses of {themes}×{topics} ({body} body tokens per answer) started at once through "
        "the jobs API, each followed by one SSE client; a fresh `coursegen serve` per N. CPU = "
        "user + system time of the server process (psutil) from the first POST to the last "
        "`end` event ÷ tokens the simulator emitted meanwhile: everything the server does per "
        "course (job bookkeeping, checkpoints, prompts, parsing, the event log, SSE) is "
        "charged to the tokens. Memory: RSS sampled every 100 ms; per active job = (peak RSS − "
        "RSS after a warm-up course) ÷ the number of courses (every job runs from its POST: "
        "`COURSEGEN_MAX_RUNNING_JOBS` is raised; the dotted curve is what the SSE followers "
        "saw, which lags when their subscription waits on the store). Simulated LLM: "
        f"{llm.first_token_s:g} s to first token, {llm.tokens_per_s:g} tokens/s per stream.",
    )
    rows: list[list[Any]] = []
    points: list[dict[str, Any]] = []
    workers_points: list[dict[str, Any]] = []
    # The largest load again on `serve`'s default of one worker per core.
    cores = serve_default_workers()
    runs = [(n, 1) for n in levels] + ([(levels[-1], cores)] if cores > 1 and not ctx.quick else [])
    for n, workers in runs:
        env = {"COURSEGEN_WORKERS": str(workers)}
        name = f"fig3-{n}" + (f"-w{workers}" if workers > 1 else "")
        with Coursegen(ctx.sim.base_url, ctx.workdir / name, env=env) as server:
            await warm_up(ctx, "jobs", server)
            ctx.configure_llm(llm)
            await asyncio.sleep(0.5)
            baseline = rss_bytes(server.pid)
            batch = await drive(
                ctx, "jobs", server, courses(f"fig3 n{n}", n, themes, topics), sample_every_s=0.1
            )
            mem = memory(batch, baseline)
            per_course_ms = batch.cpu_s / n * 1000
            rows.append(
                [
                    n if workers == 1 else f"{n} ({workers} workers)",
                    batch.tokens,
                    batch.wall_s,
                    batch.cpu_s,
                    batch.cpu_util,
                    batch.cpu_per_token_us,
                    per_course_ms,
                    batch.latency_ms(50),
                    batch.latency_ms(99),
                    mem.get("baseline", 0) / MIB,
                    mem.get("peak", 0) / MIB,
                    mem.get("most_active", 0),
                    mem.get("per_job", float("nan")) / 1024,
                    percentile([r.running - r.started for r in batch.runs if r.running], 50),
                ]
            )
            (points if workers == 1 else workers_points).append(
                {
                    "n": n,
                    "cpu_per_token_us": batch.cpu_per_token_us,
                    "p99_ms": batch.latency_ms(99),
                    "max_ms": batch.latency_ms(100),  # the client that fell furthest behind
                    "per_job_kib": mem.get("per_job", float("nan")) / 1024,
                    "started": batch.runs[0].started if batch.runs else 0.0,
                    "samples": batch.samples,
                    "active": [active_at(batch.runs, at) for at, _, _ in batch.samples],
                }
            )
            ctx.log(
                f"  {n} courses: {batch.cpu_per_token_us:.0f} µs/token, "
                f"{mem.get('per_job', float('nan')) / 1024:.0f} KiB/active job"
            )
            if n == levels[0] and workers == 1:
                ctx.configure_llm(llm, body_tokens=long_body)
                longer = await drive(
                    ctx, "jobs", server, courses(f"fig3 long n{n}", n, themes, topics)
                )
                ctx.configure_llm(llm)
                split = marginal(batch, longer)
                split["n"] = n
                ctx.log(
                    f"  marginal: {split['per_token_us']:.0f} µs/token, "
                    f"{split['per_call_ms']:.1f} ms/call"
                )
    figure.tables.append(
        table(
            [
                "courses",
                "tokens",
                "wall (s)",
                "server CPU (s)",
                "CPU / wall",
                "**CPU µs / token**",
                "CPU ms / course",
                "latency p50 (ms)",
                "latency p99 (ms)",
                "RSS base (MiB)",
                "RSS peak (MiB)",
                "most running (followers' view)",
                "**RSS / active job (KiB)**",
                "POST → follower sees `running`, p50 (s)",
            ],
            rows,
        )
    )
    if split:
        figure.tables.append(
            f"Per token and per call: {split['n']} courses run twice on the same server, with "
            f"{body} and with {long_body} body tokens per answer (same calls, more tokens); "
            "the extra CPU over the extra tokens is the marginal cost of a streamed token, and "
            "the rest is spent per LLM call (request, parsing, validation, checkpoint, events)."
            "\n\n"
            + table(
                [
                    "answers",
                    "LLM calls",
                    "tokens",
                    "server CPU (s)",
                    "all-in µs / token",
                ],
                [
                    [
                        f"{body} body tokens",
                        split["calls"],
                        split["tokens"][0],
                        split["cpu"][0],
                        split["all_in_us"][0],
                    ],
                    [
                        f"{long_body} body tokens",
                        split["calls"],
                        split["tokens"][1],
                        split["cpu"][1],
                        split["all_in_us"][1],
                    ],
                ],
            )
            + "\n\n"
            + table(
                [
                    "**marginal CPU per token (µs)**",
                    "**CPU per LLM call, besides its tokens (ms)**",
                ],
                [[split["per_token_us"], split["per_call_ms"]]],
                "rr",
            )
        )
        figure.headline.append(
            f"Marginal server CPU per streamed token {split['per_token_us']:.0f} µs; "
            f"{split['per_call_ms']:.1f} ms per LLM call besides its tokens"
        )
    for row in rows:
        figure.headline.append(
            f"{row[0]} concurrent courses: {row[5]:.0f} µs server CPU per token, "
            f"{row[12]:.0f} KiB RSS per active job (CPU/wall {row[4]:.2f})"
        )
    figure.summary = "server CPU per streamed token " + ", ".join(
        f"{row[5]:.0f} µs at {_courses(row[0])}" for row in rows
    )
    per_job = [row[12] for row in rows if isinstance(row[0], int)]  # one process's RSS
    if per_job:
        figure.summary += f"; {min(per_job):.0f}–{max(per_job):.0f} KiB RSS per active job"
    figure.data = {"points": points, "split": split, "workers_points": workers_points}
    if ctx.plots_dir is not None and rows:
        from bench import plotting

        figure.plot = plotting.cpu_memory(figure.data, ctx.plots_dir / "cpu_memory.png")
    return figure
