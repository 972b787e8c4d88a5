"""What every figure shares: the run context, a measured batch of courses, result tables."""

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.clients import (
    CourseRun,
    course_request,
    latencies,
    percentile,
    run_job,
    run_langgraph,
    run_langserve,
)
from bench.servers import Sampler, cpu_seconds
from bench.simulated_llm import SimConfig, SimProcess

# The simulated model of most figures: a fast hosted model (time to first token and rate of
# one stream), answers cut down so that the whole benchmark fits in minutes.
BASE_LLM = SimConfig(first_token_s=0.25, tokens_per_s=30.0, body_tokens=60, piece_chars=8)


@dataclass
class Ctx:
    """The run: the simulator, a scratch directory, where plots go, and the size knob."""

    sim: SimProcess
    workdir: Path
    plots_dir: Path | None  # None: no plots (matplotlib missing or not wanted)
    quick: bool = False
    log: Callable[[str], None] = print

    def configure_llm(self, config: SimConfig, **overrides: Any) -> SimConfig:
        values = {**config.__dict__, **overrides}
        self.sim.configure(**values)
        return SimConfig(**values)


@dataclass
class Figure:
    """One figure's results, ready for the report."""

    key: str
    title: str
    method: str
    tables: list[str] = field(default_factory=list)
    plot: str | None = None  # file name under docs/bench/
    notes: list[str] = field(default_factory=list)
    goals: list[tuple[str, str, str, bool | None]] = field(default_factory=list)
    headline: list[str] = field(default_factory=list)
    summary: str = ""  # the figure's one line in the README
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Batch:
    """A set of courses run at once against one system, with what it cost the server."""

    system: str
    runs: list[CourseRun]
    calls: list[dict[str, Any]]
    wall_s: float
    cpu_s: float
    samples: list[tuple[float, int, float]] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return [f"{r.name}: {r.error or r.status}" for r in self.runs if r.status != "completed"]

    @property
    def tokens(self) -> int:
        return sum(len(c["tokens"]) for c in self.calls)

    @property
    def cpu_per_token_us(self) -> float:
        return self.cpu_s / self.tokens * 1e6 if self.tokens else math.nan

    @property
    def cpu_util(self) -> float:
        return self.cpu_s / self.wall_s if self.wall_s else math.nan

    def latency(self) -> tuple[list[float], int]:
        return latencies(self.runs, self.calls)

    def latency_ms(self, q: float) -> float:
        values, _ = self.latency()
        return percentile(values, q) * 1000


async def drive(
    ctx: Ctx,
    system: str,
    target: Any,
    requests: Sequence[dict[str, Any]],
    *,
    sample_every_s: float | None = None,
) -> Batch:
    """Run `requests` at once through `system`; measure it.

    Systems: jobs, langserve, langgraph (coursegen's graph), stock-langgraph and
    stock-langserve (the stock pipeline of `bench/stock`).

    `target` is the served process (`.url`, `.pid`). Server CPU is the process tree's user +
    system time between the first request and the last course's end; tokens are what the
    simulator emitted meanwhile (it is reset first).
    """
    ctx.sim.reset()
    pid = target.pid
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(600.0, connect=30.0),
        limits=httpx.Limits(max_connections=500, max_keepalive_connections=500),
    ) as http:
        sdk = None
        if system in ("langgraph", "stock-langgraph"):
            from langgraph_sdk import get_client

            sdk = get_client(url=target.url, timeout=600.0)

        async def one(request: dict[str, Any]) -> CourseRun:
            if system == "jobs":
                return await run_job(http, target.url, request)
            if system == "langserve":
                return await run_langserve(target.url, request)
            if system == "langgraph":
                return await run_langgraph(sdk, request)
            if system == "stock-langgraph":
                return await run_langgraph(sdk, request, "stock", "messages-tuple")
            if system == "stock-langserve":
                return await run_langserve(target.url, request, "stream_events", "request")
            raise ValueError(system)

        sampler = Sampler(pid, sample_every_s or 3600.0)
        watch = sampler if sample_every_s else contextlib.nullcontext()
        cpu0, started = cpu_seconds(pid), time.monotonic()
        with watch:
            runs = await asyncio.gather(*(one(r) for r in requests))
        wall, cpu = time.monotonic() - started, cpu_seconds(pid) - cpu0
    calls = await asyncio.to_thread(ctx.sim.calls, True)
    batch = Batch(system, list(runs), calls, wall, cpu, sampler.samples)
    if batch.failures:
        ctx.log(f"  ! {system}: {len(batch.failures)} course(s) failed: {batch.failures[:3]}")
    return batch


async def warm_up(ctx: Ctx, system: str, target: Any) -> None:
    """One small course, unmeasured: first-call imports and caches are not per-token costs."""
    before = dict(ctx.sim.config.__dict__)
    ctx.sim.configure(first_token_s=0.0, tokens_per_s=0.0)
    try:
        await drive(ctx, system, target, [course_request(f"warm-up {system}", 1, 2)])
    finally:
        ctx.sim.configure(**before)


def courses(prefix: str, count: int, themes: int, topics: int) -> list[dict[str, Any]]:
    return [course_request(f"{prefix} {i + 1}", themes, topics) for i in range(count)]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "") -> str:
    """A Markdown table; `align` gives l/r per column (default: first left, others right)."""
    align = align or "l" + "r" * (len(headers) - 1)
    marks = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
