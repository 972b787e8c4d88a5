"""Issue 16's goals against this run's figures, and this run beside the run before that work."""

import json
import math
from pathlib import Path
from typing import Any

from bench.harness import Figure, table

BASELINE = Path(__file__).with_name("baseline_issue16.json")
Goal = tuple[str, str, str, bool | None]
AB_NOTE = (
    "For a difference the machine's load does not move, see "
    "[docs/bench/issue16-ab.md](bench/issue16-ab.md): main and this work as two servers on one "
    "simulator, batch by batch in one run (`python -m bench.ab`)."
)


def _find(figures: list[Figure], key: str) -> Figure | None:
    return next((f for f in figures if f.key == key), None)


def _latency_series(
    figures: list[Figure], series: str = "shipped"
) -> dict[int, tuple[float, float]]:
    """Latency (p50, p99) ms per course count of one series of figure 2: the shipped
    settings on one worker, or `workers` (one worker per core)."""
    lat = _find(figures, "latency")
    rows = lat.data.get("rows", []) if lat else []
    return {int(r[1]): (r[6], r[8]) for r in rows if series in r[0]}


def measured(figures: list[Figure]) -> dict[str, float]:
    """The figures this issue is judged by, flat (NaN where a figure did not run)."""
    nan = math.nan
    out: dict[str, float] = {}
    stock = _find(figures, "stock")
    cells = stock.data.get("cells", {}) if stock else {}
    for key in ("jobs", "stock-langgraph", "stock-langserve"):
        out[f"stock.{key}.cpu_us"] = cells.get(key, {}).get("cpu", nan)
        out[f"stock.{key}.wall_s"] = cells.get(key, {}).get("wall", nan)
    cpu = _find(figures, "cpu_memory")
    split = (cpu.data.get("split") or {}) if cpu else {}
    out["marginal_us"] = split.get("per_token_us", nan)
    out["per_call_ms"] = split.get("per_call_ms", nan)
    for point in cpu.data.get("points", []) if cpu else []:
        out[f"courses.{point['n']}.cpu_us"] = point["cpu_per_token_us"]
        out[f"courses.{point['n']}.max_ms"] = point.get("max_ms", nan)
    for n, (p50, p99) in _latency_series(figures).items():
        out[f"latency.{n}.p50_ms"], out[f"latency.{n}.p99_ms"] = p50, p99
    for n, (p50, p99) in _latency_series(figures, "workers").items():
        out[f"latency_workers.{n}.p50_ms"], out[f"latency_workers.{n}.p99_ms"] = p50, p99
    for point in cpu.data.get("workers_points", []) if cpu else []:
        out[f"courses_workers.{point['n']}.max_ms"] = point.get("max_ms", nan)
    crit = _find(figures, "critical_path")
    rows = crit.data.get("rows", []) if crit else []
    ratios = [r[6] for r in rows if len(r) > 6 and isinstance(r[6], float)]  # wall ÷ critical
    out["critical_path"] = max(ratios) if ratios else nan
    return out


def _check(value: float, limit: float) -> bool | None:
    return None if math.isnan(value) else value <= limit


def issue_goals(figures: list[Figure]) -> list[Goal]:
    """One row per goal of issue 16: what, target, measured, met (None: not measured here)."""
    m = measured(figures)
    jobs = m["stock.jobs.cpu_us"]
    goals: list[Goal] = []
    for peer, name in (("stock-langgraph", "`langgraph dev`"), ("stock-langserve", "LangServe")):
        theirs = m[f"stock.{peer}.cpu_us"]
        ratio = jobs / theirs if theirs else math.nan
        goals.append(
            (
                f"CPU per token ≤ 0.10 × the stock pipeline's on {name}, 6 × 3×3 (figure 6)",
                "≤ 0.10×",
                f"{ratio:.2f}× ({jobs:.0f} vs {theirs:.0f} µs)",
                _check(ratio, 0.10),
            )
        )
    goals += [
        (
            "marginal CPU per token (figure 3)",
            "≤ 60 µs",
            f"{m['marginal_us']:.0f} µs",
            _check(m["marginal_us"], 60),
        ),
        (
            "CPU per model call besides its tokens (figure 3)",
            "≤ 3 ms",
            f"{m['per_call_ms']:.1f} ms",
            _check(m["per_call_ms"], 3),
        ),
        (
            "50 concurrent courses: token latency p99 (figure 2)",
            "≤ 100 ms",
            f"{m.get('latency.50.p99_ms', math.nan):,.0f} ms",
            _check(m.get("latency.50.p99_ms", math.nan), 100),
        ),
        (
            "200 concurrent courses: no client more than 1 s behind (figure 3, slowest token)",
            "≤ 1,000 ms",
            f"{m.get('courses.200.max_ms', math.nan):,.0f} ms",
            _check(m.get("courses.200.max_ms", math.nan), 1000),
        ),
        (
            "both cores: `coursegen serve --workers N`",
            "tested",
            "tests/server/test_workers.py (claims, event ids, resume across worker processes); "
            "measured below on one worker per core",
            None,
        ),
    ]
    p99 = m.get("latency_workers.50.p99_ms", math.nan)
    behind = m.get("courses_workers.200.max_ms", math.nan)
    if not math.isnan(p99):
        label = "50 concurrent courses, one worker per core: token latency p99 (figure 2)"
        goals.append((label, "≤ 100 ms", f"{p99:,.0f} ms", _check(p99, 100)))
    if not math.isnan(behind):
        label = "200 concurrent courses, one worker per core: slowest token (figure 3)"
        goals.append((label, "≤ 1,000 ms", f"{behind:,.0f} ms", _check(behind, 1000)))
    for n in (1, 10):
        p50 = m.get(f"latency.{n}.p50_ms", math.nan)
        label = f"keep: token latency p50, {n} course(s) (figure 2)"
        goals.append((label, "≤ 2 ms", f"{p50:.1f} ms", _check(p50, 2)))
    goals += [
        (
            "keep: critical-path ratio (figure 1)",
            "≤ 1.10",
            f"{m['critical_path']:.3f}",
            _check(m["critical_path"], 1.10),
        ),
        (
            "keep: gap-free replay, every event stored before it is sent",
            "tested",
            "tests/server (event ids 1, 2, 3, … per job; replay then live)",
            None,
        ),
    ]
    return goals


ROWS = [
    ("coursegen jobs API, CPU per token, 6 × 3×3 (figure 6)", "stock.jobs.cpu_us", "µs"),
    ("stock pipeline on `langgraph dev`, CPU per token", "stock.stock-langgraph.cpu_us", "µs"),
    ("stock pipeline on LangServe, CPU per token", "stock.stock-langserve.cpu_us", "µs"),
    ("coursegen jobs API, wall time of the 6 courses", "stock.jobs.wall_s", "s"),
    ("marginal CPU per token (figure 3)", "marginal_us", "µs"),
    ("CPU per model call besides its tokens (figure 3)", "per_call_ms", "ms"),
    ("CPU per token, 10 courses (figure 3)", "courses.10.cpu_us", "µs"),
    ("CPU per token, 50 courses (figure 3)", "courses.50.cpu_us", "µs"),
    ("CPU per token, 200 courses (figure 3)", "courses.200.cpu_us", "µs"),
    ("token latency p50, 1 course (figure 2)", "latency.1.p50_ms", "ms"),
    ("token latency p50, 10 courses (figure 2)", "latency.10.p50_ms", "ms"),
    ("token latency p99, 50 courses (figure 2)", "latency.50.p99_ms", "ms"),
    ("critical-path ratio, worst run (figure 1)", "critical_path", ""),
]


def _fmt(value: Any, unit: str) -> str:
    if not isinstance(value, (int, float)) or math.isnan(value):
        return "–"
    if unit == "":
        return f"{value:.3f}"
    return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:.1f} {unit}"


def section(figures: list[Figure]) -> list[str]:
    """The report's goals table and before/after table for issue 16."""
    lines = ["## Goals of issue 16 (CPU per token against the stock pipeline)", ""]
    lines.append(
        table(
            ["goal", "target", "measured", "met"],
            [
                [g, t, r, "– (not measured here)" if ok is None else ("✅ yes" if ok else "❌ no")]
                for g, t, r, ok in issue_goals(figures)
            ],
            "llll",
        )
    )
    lines.append("")
    if not BASELINE.exists():
        return lines
    before = json.loads(BASELINE.read_text())
    now = measured(figures)
    rows = [
        [label, _fmt(before["values"].get(key), unit), _fmt(now.get(key), unit)]
        for label, key, unit in ROWS
        if key in before["values"] or not math.isnan(now.get(key, math.nan))
    ]
    lines += [
        "### Before and after (issue 16)",
        "",
        f"Before: {before['label']}. After: this run. {before['note']} {AB_NOTE}",
        "",
        table(["figure", "before", "after (this run)"], rows, "lrr"),
        "",
    ]
    profile = before.get("profile")
    if profile and _find(figures, "profile") is not None:
        lines += [
            "### The profile before (py-spy, the same load as the profile below)",
            "",
            f"Recorded on main before this work by `python -m bench.run --figures profile`: "
            f"{profile['note']} Compare with the profile of this run at the end of the page.",
            "",
            "Non-idle thread time by thread, before.",
            "",
            profile["threads"],
            "",
            "GIL-held time by owner, before.",
            "",
            profile["owners"],
            "",
            "Top functions by self time (GIL held), before.",
            "",
            profile["self"],
            "",
            "The per-token path step by step, before.",
            "",
            profile["steps"],
            "",
        ]
    return lines
