"""Figure 5: prompt tokens per topic and the largest single answer as the course grows."""

import statistics
from typing import Any

import httpx

from bench.clients import course_request
from bench.harness import BASE_LLM, Ctx, Figure, drive, table, warm_up
from bench.servers import Coursegen

STAGE = {
    "Outline": "outline",
    "ThemeTopics": "topics",
    "CoverageMap": "coverage",
    "TopicContent": "content",
    "PolishedTopic": "polish",
}


MAP_TOKENS_PER_TOPIC = 25  # one course-map line: "2.3 <title> — terms: <2 terms>"


def stats(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Prompt and completion sizes of one course's calls, by stage and per topic."""
    by_stage: dict[str, list[int]] = {s: [] for s in STAGE.values()}
    per_topic: dict[tuple[int, int], int] = {}
    for c in calls:
        stage = STAGE.get(c["schema"])
        if stage is None:
            continue
        by_stage[stage].append(c["prompt_tokens"])
        if stage in ("content", "polish"):
            key = (c["theme"], c["topic"])
            per_topic[key] = per_topic.get(key, 0) + c["prompt_tokens"]
    largest = max(calls, key=lambda c: c["completion_tokens"])
    topic_values = list(per_topic.values()) or [0]
    return {
        "by_stage": {s: (statistics.mean(v), max(v)) for s, v in by_stage.items() if v},
        "topic_mean": statistics.mean(topic_values),
        "topic_max": max(topic_values),
        "topic_min": min(topic_values),
        "prompt_total": sum(c["prompt_tokens"] for c in calls),
        "max_completion": largest["completion_tokens"],
        "max_completion_stage": STAGE.get(largest["schema"], "?"),
        "max_tokens_asked": max((c["max_tokens"] or 0) for c in calls),
        "calls": len(calls),
    }


async def run(ctx: Ctx) -> Figure:
    sizes = [(1, 2), (2, 2)] if ctx.quick else [(3, 3), (6, 4), (9, 6), (12, 8)]
    llm = ctx.configure_llm(BASE_LLM, first_token_s=0.0, tokens_per_s=0.0, body_tokens=60)
    figure = Figure(
        "prompt_tokens",
        "5. Prompt tokens per topic as the course grows",
        "One course per size through the jobs API, the simulated model answering at once "
        f"(no pacing; {llm.body_tokens} body tokens per content/polish answer). Prompt tokens "
        "are what the simulator counts of the messages it receives (characters ÷ 4, the same "
        "rule as the scripted test server); the server's own usage total (from "
        "`GET /courses/{id}`, summed from the usage the model reported) is shown beside them. "
        "Per topic = its content prompt + its polish prompt. Answer sizes come from the "
        "simulator, so the largest-answer column shows the pipeline's structure (which call "
        "writes the most), not a model's verbosity; `max_tokens` is what the server asks "
        "for on every call.",
    )
    rows: list[list[Any]] = []
    points: list[dict[str, Any]] = []
    with Coursegen(ctx.sim.base_url, ctx.workdir / "fig5") as server:
        await warm_up(ctx, "jobs", server)
        ctx.configure_llm(llm)
        async with httpx.AsyncClient(timeout=60.0) as http:
            for themes, topics in sizes:
                name = f"fig5 {themes}x{topics}"
                batch = await drive(ctx, "jobs", server, [course_request(name, themes, topics)])
                run = batch.runs[0]
                calls = [c for c in batch.calls if c["course"] == name]
                s = stats(calls)
                reported = None
                if run.job_id:
                    snap = (await http.get(f"{server.url}/courses/{run.job_id}")).json()
                    reported = snap["usage"]["total"]["prompt_tokens"]
                stage = s["by_stage"]
                rows.append(
                    [
                        f"{themes}×{topics}",
                        themes * topics,
                        s["calls"],
                        stage["outline"][1],
                        f"{stage['topics'][0]:.0f} / {stage['topics'][1]}",
                        f"{stage['content'][0]:.0f} / {stage['content'][1]}",
                        f"{stage['polish'][0]:.0f} / {stage['polish'][1]}",
                        f"{s['topic_mean']:.0f} / {s['topic_max']}",
                        s["prompt_total"],
                        reported if reported is not None else "–",
                        f"{s['max_completion']} ({s['max_completion_stage']})",
                        s["max_tokens_asked"],
                    ]
                )
                points.append({"size": f"{themes}×{topics}", "topics": themes * topics, **s})
    figure.tables.append(
        table(
            [
                "course",
                "topics",
                "LLM calls",
                "outline prompt",
                "topics prompt mean / max",
                "content prompt mean / max",
                "polish prompt mean / max",
                "**per topic mean / max**",
                "all prompts (sim)",
                "all prompts (server usage)",
                "largest answer (tokens, stage)",
                "max_tokens asked",
            ],
            rows,
        )
    )
    if len(points) >= 2:
        first, last = points[0], points[-1]
        # Every content prompt carries the course map (one line per topic of the course), so
        # it grows linearly on purpose; what is held to a goal is how much per topic.
        content = [p["by_stage"]["content"][0] for p in (first, last)]
        per_line = (content[1] - content[0]) / max(1, last["topics"] - first["topics"])
        figure.goals.append(
            (
                "course map: content prompt growth per topic of the course",
                f"≤ {MAP_TOKENS_PER_TOPIC} tokens",
                f"{per_line:.1f} tokens per topic (content prompt {content[0]:.0f} → "
                f"{content[1]:.0f} from {first['size']} to {last['size']})",
                per_line <= MAP_TOKENS_PER_TOPIC,
            )
        )
        polish_growth = last["by_stage"]["polish"][1] / first["by_stage"]["polish"][1] - 1
        figure.goals.append(
            (
                "polish prompt constant as the course grows (±15%)",
                "flat",
                f"{first['by_stage']['polish'][1]} → {last['by_stage']['polish'][1]} tokens "
                f"({polish_growth:+.0%})",
                abs(polish_growth) <= 0.15,
            )
        )
        grew = last["max_completion"] > first["max_completion"] * 1.10
        figure.goals.append(
            (
                "largest single answer does not grow with the course (±10%)",
                "flat",
                f"{first['max_completion']} → {last['max_completion']} tokens "
                f"({first['max_completion_stage']} → {last['max_completion_stage']})",
                not grew,
            )
        )
        figure.summary = (
            f"prompt tokens per topic {first['topic_mean']:.0f} ({first['size']}) → "
            f"{last['topic_mean']:.0f} ({last['size']}); the largest single answer stays "
            f"{first['max_completion']} → {last['max_completion']} tokens"
        )
        figure.headline.append(
            f"Prompt tokens per topic: {first['topic_mean']:.0f} ({first['size']}) → "
            f"{last['topic_mean']:.0f} ({last['size']}); largest single answer "
            f"{first['max_completion']} → {last['max_completion']} tokens"
        )
    figure.data = {"points": points}
    if ctx.plots_dir is not None and points:
        from bench import plotting

        figure.plot = plotting.prompt_tokens(figure.data, ctx.plots_dir / "prompt_tokens.png")
    return figure
