"""Draw the report's figures (matplotlib, Agg backend); each returns the PNG's file name."""

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from coursegen.names import PROGRESS_STAGES

STAGE_COLORS = dict(zip(PROGRESS_STAGES, ("#4c72b0", "#dd8452", "#55a868", "#c44e52"), strict=True))
SYSTEM_COLORS = ["#4c72b0", "#dd8452", "#8172b3"]


def _save(fig: Any, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def critical_path(data: dict[str, Any], path: Path) -> str:
    rows = data["rows"]
    gantt = data.get("gantt")
    fig, axes = plt.subplots(1, 2 if gantt else 1, figsize=(13, 4.8), squeeze=False)
    ax = axes[0][0]
    labels = [f"{r[0]} #{r[1]}" for r in rows]
    x = range(len(rows))
    width = 0.27
    ax.bar([i - width for i in x], [r[5] for r in rows], width, label="critical path")
    ax.bar(list(x), [r[4] for r in rows], width, label="wall (jobs API)")
    ax.bar([i + width for i in x], [r[7] for r in rows], width, label="sequential (sum of calls)")
    for i, r in enumerate(rows):
        ax.annotate(f"×{r[6]:.2f}", (i, r[4]), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(list(x), labels)
    ax.set_ylabel("seconds")
    ax.set_title("Course wall time vs critical path (ratio above the wall bar)")
    ax.legend(fontsize=8)
    if gantt:
        ax = axes[0][1]
        calls = sorted(gantt["calls"], key=lambda c: c[1])
        t0 = gantt["started"]
        for y, (stage, start, end) in enumerate(calls):
            ax.barh(
                y, end - start, left=start - t0, color=STAGE_COLORS.get(stage, "gray"), height=0.8
            )
        ax.axvline(gantt["ended"] - t0, color="black", linestyle="--", linewidth=1)
        ax.text(gantt["ended"] - t0, len(calls) * 0.02, " end event", fontsize=8)
        handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in STAGE_COLORS.values()]
        ax.legend(handles, list(STAGE_COLORS), fontsize=8, loc="lower right")
        ax.set_xlabel("seconds since POST /courses")
        ax.set_ylabel("LLM call (by start)")
        ax.set_title(f"LLM calls of the {gantt['name']} course (simulator's log)")
        ax.invert_yaxis()
    return _save(fig, path)


def latency(data: dict[str, Any], path: Path) -> str:
    series = data["series"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    for k, (label, curve) in enumerate(series.items()):
        color = SYSTEM_COLORS[k % len(SYSTEM_COLORS)]
        left.plot(curve["levels"], curve["p50"], "o-", color=color, label=f"p50, {label}")
        left.plot(curve["levels"], curve["p99"], "s--", color=color, label=f"p99, {label}")
        styles = ["-", "--", ":", "-."]
        for m, (n, values) in enumerate(sorted(curve["values"].items())):
            if not values:
                continue
            ordered = sorted(values)
            ys = [(i + 1) / len(ordered) for i in range(len(ordered))]
            right.plot(
                ordered, ys, styles[m % len(styles)], color=color, label=f"{n} courses, {label}"
            )
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("concurrent courses")
    left.set_ylabel("token latency (ms)")
    left.set_title("Model emits token → SSE client receives it")
    left.legend(fontsize=7)
    right.set_xscale("log")
    right.set_xlabel("token latency (ms)")
    right.set_ylabel("share of tokens")
    right.set_title("Latency distribution (CDF)")
    right.legend(fontsize=7)
    right.grid(alpha=0.3)
    left.grid(alpha=0.3, which="both")
    return _save(fig, path)


def cpu_memory(data: dict[str, Any], path: Path) -> str:
    points = data["points"]
    fig, (left, mid, right) = plt.subplots(1, 3, figsize=(15, 4.6))
    labels = [str(p["n"]) for p in points]
    left.bar(labels, [p["cpu_per_token_us"] for p in points], color="#4c72b0")
    for i, p in enumerate(points):
        left.annotate(
            f"{p['cpu_per_token_us']:.0f}", (i, p["cpu_per_token_us"]), ha="center", va="bottom"
        )
    left.set_xlabel("concurrent courses")
    left.set_ylabel("server CPU µs per token")
    left.set_title("CPU per streamed token")
    mid.bar(labels, [p["per_job_kib"] for p in points], color="#55a868")
    for i, p in enumerate(points):
        if not math.isnan(p["per_job_kib"]):
            mid.annotate(f"{p['per_job_kib']:.0f}", (i, p["per_job_kib"]), ha="center", va="bottom")
    mid.set_xlabel("concurrent courses")
    mid.set_ylabel("KiB RSS per active job")
    mid.set_title("Memory per active job")
    for k, p in enumerate(points):
        samples = p["samples"]
        if not samples:
            continue
        t0 = samples[0][0]
        color = SYSTEM_COLORS[k % len(SYSTEM_COLORS)]
        right.plot(
            [s[0] - t0 for s in samples],
            [s[1] / 2**20 for s in samples],
            color=color,
            label=f"RSS, {p['n']} courses",
        )
    twin = right.twinx()
    for k, p in enumerate(points):
        samples = p["samples"]
        if samples:
            t0 = samples[0][0]
            color = SYSTEM_COLORS[k % len(SYSTEM_COLORS)]
            twin.plot([s[0] - t0 for s in samples], p["active"], ":", color=color)
    right.set_xlabel("seconds")
    right.set_ylabel("server RSS (MiB), solid")
    twin.set_ylabel("jobs running as followers saw them, dotted")
    right.set_title("RSS and active jobs over the run")
    right.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def compare(data: dict[str, Any], path: Path) -> str:
    keys, names, levels, cells = data["keys"], data["systems"], data["levels"], data["cells"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    width = 0.8 / max(1, len(keys))
    for m, metric, title in (
        (0, "cpu", "server CPU µs per token"),
        (1, "p50", "token latency p50 (ms)"),
        (2, "p99", "token latency p99 (ms)"),
    ):
        ax = axes[m]
        for k, (key, name) in enumerate(zip(keys, names, strict=True)):
            xs = [i + (k - (len(keys) - 1) / 2) * width for i in range(len(levels))]
            ys = [cells.get(f"{key}|{n}", {}).get(metric, float("nan")) for n in levels]
            ax.bar(xs, ys, width, label=name.replace("`", ""), color=SYSTEM_COLORS[k % 3])
            for x, y in zip(xs, ys, strict=True):
                if not math.isnan(y):
                    ax.annotate(
                        f"{y:.0f}" if y >= 10 else f"{y:.1f}",
                        (x, y),
                        ha="center",
                        va="bottom",
                        fontsize=8,
                    )
        ax.set_xticks(range(len(levels)), [f"{n} course{'s' if n > 1 else ''}" for n in levels])
        ax.set_title(title)
        if m == 0:
            ax.legend(fontsize=7)
    return _save(fig, path)


def prompt_tokens(data: dict[str, Any], path: Path) -> str:
    points = data["points"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.6))
    xs = [p["topics"] for p in points]
    labels = [p["size"] for p in points]
    left.plot(
        xs, [p["topic_mean"] for p in points], "o-", label="per topic (content + polish), mean"
    )
    left.plot(xs, [p["topic_max"] for p in points], "s--", label="per topic, max")
    for stage, marker in zip(PROGRESS_STAGES, "^vDP", strict=True):
        ys = [p["by_stage"].get(stage, (float("nan"), float("nan")))[1] for p in points]
        left.plot(xs, ys, marker + ":", label=f"{stage} call, max", alpha=0.8)
    left.set_xticks(xs, labels)
    left.set_xlabel("course (themes × topics per theme)")
    left.set_ylabel("prompt tokens (simulator's count)")
    left.set_title("Prompt size per call and per topic")
    left.set_ylim(bottom=0)
    left.legend(fontsize=7)
    right.plot(xs, [p["max_completion"] for p in points], "o-", label="largest answer of any call")
    right.plot(xs, [p["prompt_total"] for p in points], "s--", label="all prompts of the course")
    right.set_yscale("log")
    right.set_xticks(xs, labels)
    right.set_xlabel("course (themes × topics per theme)")
    right.set_ylabel("tokens")
    right.set_title("Whole-course prompt tokens grow; the largest single answer does not")
    right.legend(fontsize=7)
    return _save(fig, path)
