"""Figure 1: a course's wall time against its critical path through the LLM calls."""

from collections import defaultdict
from typing import Any

from bench.clients import course_request
from bench.harness import BASE_LLM, Ctx, Figure, drive, table, warm_up
from bench.servers import Coursegen

GOAL = 1.10
STAGES = {
    "Outline": "outline",
    "ThemeTopics": "topics",
    "CoverageMap": "coverage",
    "TopicContent": "content",
    "PolishedTopic": "polish",
}


def _spent(calls: list[dict[str, Any]]) -> float:
    """Time on the chain for one node: all its attempts (a retry follows the failure)."""
    return sum(c["end"] - c["start"] for c in calls)


def critical_path(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Longest chain through the pipeline's dependencies, by call durations.

    Every lesson sees the course map, so lessons wait for every theme's topics (and for the
    requirements coverage check, when there is one): outline → slowest topics(theme) →
    coverage → slowest content(topic) → polish(topic). `calls` are one course's calls from
    the simulator's log. Also: the sum of all call durations (what a script making the calls
    one after another would take at best).
    """
    outline = [c for c in calls if c["schema"] == "Outline"]
    coverage = [c for c in calls if c["schema"] == "CoverageMap"]
    topics: dict[int, list[dict[str, Any]]] = defaultdict(list)
    per_topic: dict[tuple[int, int], dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: {"content": [], "polish": []}
    )
    for c in calls:
        if c["schema"] == "ThemeTopics":
            topics[c["theme"]].append(c)
        elif c["schema"] in ("TopicContent", "PolishedTopic"):
            per_topic[(c["theme"], c["topic"])][STAGES[c["schema"]]].append(c)
    planned = max((_spent(theme_calls) for theme_calls in topics.values()), default=0.0)
    best, chain = 0.0, None
    for (i, j), stages in per_topic.items():
        length = _spent(stages["content"]) + _spent(stages["polish"])
        if length > best:
            best, chain = length, (i, j)
    return {
        "critical_s": _spent(outline) + planned + _spent(coverage) + best,
        "sequential_s": _spent(calls),
        "chain": chain,
        "calls": len(calls),
    }


def gaps(calls: list[dict[str, Any]], started: float, ended: float) -> dict[str, float]:
    """Idle time along the chain that finished last: where the server added to the path."""
    polish = [c for c in calls if c["schema"] == "PolishedTopic" and c["status"] == "completed"]
    if not polish:
        return {}
    last = max(polish, key=lambda c: c["end"])
    i, j = last["theme"], last["topic"]

    def final(schema: str, **where: Any) -> dict[str, Any]:
        matching = [
            c for c in calls if c["schema"] == schema and all(c[k] == v for k, v in where.items())
        ]
        return max(matching, key=lambda c: c["end"])

    outline = final("Outline")
    theme = final("ThemeTopics", theme=i)
    planned = max((c for c in calls if c["schema"] == "ThemeTopics"), key=lambda c: c["end"])
    checks = [c for c in calls if c["schema"] == "CoverageMap"]
    content = final("TopicContent", theme=i, topic=j)
    before_content = max(checks, key=lambda c: c["end"]) if checks else planned
    return {
        "request → outline": outline["start"] - started,
        "outline → topics": theme["start"] - outline["end"],
        "last topics → coverage": (checks[0]["start"] - planned["end"]) if checks else 0.0,
        "→ content": content["start"] - before_content["end"],
        "content → polish": last["start"] - content["end"],
        "polish → end event": ended - last["end"],
    }


async def run(ctx: Ctx) -> Figure:
    sizes = [(1, 2)] if ctx.quick else [(3, 3), (8, 5)]
    repeats = 1
    llm = BASE_LLM
    if ctx.quick:
        llm = ctx.configure_llm(BASE_LLM, first_token_s=0.05, tokens_per_s=200.0, body_tokens=10)
    figure = Figure(
        "critical_path",
        "1. Critical-path ratio",
        "One course at a time through the jobs API (`POST /courses`, then its SSE stream until "
        "the `end` event); `coursegen serve` in its own process with SQLite. Wall time runs "
        "from just before the POST to the arrival of `end`. The critical path is the longest "
        "chain through the pipeline's dependencies by the call durations the simulator logged "
        "(request in → last byte out): outline → the slowest topics(theme) (every lesson sees "
        "the whole course map) → the requirements coverage check → content(topic) → "
        "polish(topic); the sequential time is the sum of "
        "all call durations, what a script calling the model one call after another would "
        f"need. Simulated LLM: time to first token {llm.first_token_s:g} s, "
        f"{llm.tokens_per_s:g} tokens/s per stream, {llm.body_tokens} body tokens per "
        f"content/polish answer. Each size runs {repeats}×.",
    )
    rows: list[list[Any]] = []
    gap_rows: list[list[Any]] = []
    gap_names: list[str] = []
    gantt = None
    worst = 0.0
    with Coursegen(ctx.sim.base_url, ctx.workdir / "fig1") as server:
        await warm_up(ctx, "jobs", server)
        ctx.configure_llm(llm)
        for themes, topics in sizes:
            for rep in range(repeats):
                name = f"Course {themes}x{topics} #{rep + 1}"
                batch = await drive(ctx, "jobs", server, [course_request(name, themes, topics)])
                run = batch.runs[0]
                if run.ended is None:
                    figure.notes.append(f"{name} did not finish: {run.error}")
                    continue
                calls = [c for c in batch.calls if c["course"] == name]
                path = critical_path(calls)
                wall = run.ended - run.started
                ratio = wall / path["critical_s"]
                worst = max(worst, ratio)
                rows.append(
                    [
                        f"{themes}×{topics}",
                        rep + 1,
                        path["calls"],
                        batch.tokens,
                        wall,
                        path["critical_s"],
                        ratio,
                        path["sequential_s"],
                        path["sequential_s"] / wall,
                        batch.cpu_s,
                        batch.cpu_util,
                    ]
                )
                gap = gaps(calls, run.started, run.ended)
                if gap:
                    gap_names = list(gap)
                    gap_rows.append(
                        [f"{themes}×{topics} #{rep + 1}", *(v * 1000 for v in gap.values())]
                    )
                if rep == 0 and (themes, topics) == sizes[-1]:
                    gantt = {
                        "name": f"{themes}×{topics}",
                        "started": run.started,
                        "ended": run.ended,
                        "calls": [
                            (STAGES.get(c["schema"], "?"), c["start"], c["end"]) for c in calls
                        ],
                    }
    figure.tables.append(
        table(
            [
                "course",
                "run",
                "LLM calls",
                "tokens",
                "wall (s)",
                "critical path (s)",
                "**ratio**",
                "sequential (s)",
                "speed-up vs sequential",
                "server CPU (s)",
                "server CPU / wall",
            ],
            rows,
        )
    )
    if gap_rows:
        figure.tables.append(
            "Idle time along the chain that finished last (ms): what the server adds between "
            "the calls of the critical chain.\n\n" + table(["course", *gap_names], gap_rows)
        )
    for row in gap_rows:
        worst_gap = max(range(len(gap_names)), key=lambda k: row[k + 1])
        figure.notes.append(
            f"{row[0]}: the largest gap on the last chain is {gap_names[worst_gap]} "
            f"({row[worst_gap + 1]:.0f} ms); these gaps are the server's share of the wall time."
        )
    figure.goals.append(
        (
            "critical-path ratio (wall ÷ critical path)",
            f"≤ {GOAL:.2f}",
            f"{worst:.3f} (worst run)",
            worst <= GOAL if rows else None,
        )
    )
    figure.headline.append(
        "Critical-path ratio: "
        + ", ".join(f"{r[0]} run {r[1]}: {r[6]:.3f}" for r in rows)
        + f" (goal ≤ {GOAL:.2f})"
    )
    figure.summary = (
        f"course wall time ÷ its critical path: {worst:.2f} in the worst run "
        f"({', '.join(sorted({str(r[0]) for r in rows}))}; goal ≤ {GOAL:.2f})"
    )
    figure.data = {"rows": rows, "gantt": gantt}
    if ctx.plots_dir is not None and rows:
        from bench import plotting

        figure.plot = plotting.critical_path(figure.data, ctx.plots_dir / "critical_path.png")
    return figure
