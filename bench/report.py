"""Write docs/benchmarks.md from the figures of one run."""

import datetime as dt
import os
from pathlib import Path
from typing import Any

from bench.goals import section as issue_goals_section
from bench.harness import BASE_LLM, Figure, table
from bench.servers import machine, versions

PATH_OF_A_TOKEN = (
    "the simulator's SSE chunk → an asyncio protocol's buffer (`AsyncioBackend`, httpcore2's "
    "network backend) → coursegen's SSE reader (`StreamingChatOpenAI`: the SDK's "
    "client sends the request, a reader task drains the body, orjson decodes every chunk read "
    "since the last wake-up and their texts are joined) → `TokenRelay.stream_text` (a "
    "`TokenSink`: when no other handler wants tokens, the text skips LangChain's per-chunk "
    "path; LangChain gets the whole answer at the end) → LangGraph's stream "
    "writer (`custom` mode) → `JobRunner._relay` → `JobEventLog.emit` (merged per stream "
    "while it waits) → `EventWriter` round: one SQLite transaction for every job's batch "
    "(`SqlJobStore.append_many`) → `LocalBroker` → each subscriber's `follow()` → "
    "`sse-starlette` → client"
)


def _find(figures: list[Figure], key: str) -> Figure | None:
    return next((f for f in figures if f.key == key), None)


def _limits(figures: list[Figure]) -> list[str]:
    """The 'what limits us' findings, computed from this run's numbers."""
    out: list[str] = []
    lat = _find(figures, "latency")
    if lat and lat.data.get("rows") and lat.data.get("waits"):
        rows, waits = lat.data["rows"], lat.data["waits"]
        shipped = [r for r in rows if "shipped" in r[0]]
        shipped_waits = [w for w in waits if "shipped" in w[0]]
        if len(shipped) >= 2 and len(shipped_waits) == len(shipped):
            one, top = shipped[0], shipped[-1]
            w1, wt = shipped_waits[0], shipped_waits[-1]
            cpu_bound = top[11] >= 0.8
            head = (
                "**Under load the CPU saturates, and the serial database sections amplify it.**"
                if cpu_bound
                else "**Under load the database path, not the CPU, sets the latency.**"
            )
            out.append(
                f"{head} With {top[1]} courses the server used {top[11]:.0%} of a core on "
                f"average and tokens reached their clients after p50 {top[6]:,.0f} ms / p99 "
                f"{top[8]:,.0f} ms (1 course: p50 {one[6]:.1f} ms). The probe (figure 2, second "
                f"table): the event writer made {wt[2]:.0f} rounds/s carrying {wt[3]:.1f} jobs "
                f"each (1 course: {w1[2]:.0f} rounds/s, {w1[3]:.1f} jobs), a round took p99 "
                f"{wt[5]:,.1f} ms (1 course: {w1[5]:.1f} ms), and checkpoint writes took p99 "
                f"{wt[11]:,.0f} ms (1 course: {w1[11]:.0f} ms), with loop lag p99 "
                f"{wt[12]:,.1f} ms. The writer's transactions grow with the load instead of "
                "multiplying with the jobs; what is left serial is LangGraph's checkpoint "
                "writes (one per task, on the saver's own connection and lock)."
                + (
                    f" The offered load ({top[2] / top[10]:,.0f} tokens/s emitted on average) "
                    "was beyond what one core processes, so the rest of the wait is plain CPU "
                    "queueing."
                    if cpu_bound
                    else ""
                )
            )
    cpu = _find(figures, "cpu_memory")
    if cpu and cpu.data.get("points"):
        points = cpu.data["points"]
        split = cpu.data.get("split") or {}
        best = min(p["cpu_per_token_us"] for p in points)
        worst = max(p["cpu_per_token_us"] for p in points)
        marginal = split.get("per_token_us")
        per_core = 1e6 / (marginal or best)
        text = (
            f"**CPU: {best:.0f}–{worst:.0f} µs per token, plus a per-call cost.** All-in, the "
            f"server spent {best:.0f}–{worst:.0f} µs of CPU per streamed token (figure 3)"
        )
        if marginal:
            text += (
                f"; split, {marginal:.0f} µs per extra token and {split['per_call_ms']:.1f} ms "
                "per LLM call besides its tokens (request, prompt, parsing and validation, "
                "checkpoint, events)"
            )
        text += (
            f". One core (one event loop) therefore carries at most ≈ {per_core:,.0f} tokens/s "
            f"≈ {per_core / BASE_LLM.tokens_per_s:.0f} streams at "
            f"{BASE_LLM.tokens_per_s:g} tokens/s, whatever the database does (see the profile "
            "below for where it goes)."
        )
        out.append(text)
    if lat and lat.data.get("series"):
        series = list(lat.data["series"].items())
        if len(series) > 1 and series[0][1]["p50"] and series[1][1]["p50"]:
            (label0, first), (label1, second) = series[0], series[1]
            out.append(
                f"**Waiting to batch costs latency and buys little.** With {label0} a single "
                f"course sees p50 {first['p50'][0]:.1f} ms; with {label1} it sees p50 "
                f"{second['p50'][0]:.0f} ms, and at {second['levels'][-1]} courses p50 "
                f"{second['p50'][-1]:,.0f} ms against {first['p50'][-1]:,.0f} ms: a round "
                "that starts as soon as the previous one ends already batches as much as the "
                "load requires."
            )
    prof = _find(figures, "profile")
    if prof and prof.data.get("owners"):
        owners = prof.data["owners"][:7]
        via = prof.data.get("owner_callers", {})

        def named(key: str, share: float) -> str:
            site = via.get(key, "")
            helper = key in ("typing_extensions", "sniffio") and site
            return f"`{key}` {share:.0%}" + (f" (reached from `{site}`)" if helper else "")

        listed = ", ".join(named(k, v) for k, v in owners)
        out.append(
            f"**Where the busy time goes** (py-spy `--gil`, {prof.data.get('courses', '?')} "
            "courses, innermost non-stdlib frame): "
            f"{listed}."
        )
        self_top = prof.data["self"][:6]
        out.append(
            "**Hottest functions by self time:** "
            + "; ".join(f"`{k}` {v:.1%}" for k, v in self_top)
            + "."
        )
        steps = prof.data.get("steps") or []
        if steps:
            top = sorted(steps, key=lambda step: -step[2])[:4]
            ours = sum(share for label, _, share in steps if label.startswith("coursegen"))
            out.append(
                "**Per-token steps by GIL time (inclusive, nested):** "
                + "; ".join(f"{label} {share:.0%}" for label, _, share in top)
                + f". coursegen's own steps (relay, event log, follow) add up to {ours:.0%}."
            )
    cmp_fig = _find(figures, "compare")
    if cmp_fig and cmp_fig.data.get("cells"):
        cells = cmp_fig.data["cells"]
        parts = []
        for n in cmp_fig.data["levels"]:
            row = [
                f"{name.replace('`', '')} {cells[f'{key}|{n}']['cpu']:.0f}"
                for key, name in zip(cmp_fig.data["keys"], cmp_fig.data["systems"], strict=True)
                if f"{key}|{n}" in cells
            ]
            parts.append(f"{n} course(s): " + ", ".join(row))
        out.append(
            "**Against the peers (µs of server CPU per token, figure 4):** "
            + "; ".join(parts)
            + ". The three share the graph, the model client and LangChain's callbacks, which "
            "take most of the CPU (the profile above): a streaming path, however lean, cannot "
            "halve the total, so the ½ goal is out of reach while the model client is shared. "
            "On top of that the jobs API stores every event before sending it; at light load "
            "its writer stores each token as it comes (one transaction and one event per "
            "token, for the latency), and `COURSEGEN_EVENT_LINGER_MS` trades latency back for "
            "fewer transactions. LangServe and `langgraph dev` send one event per token and "
            "store nothing."
        )
    return out


def write_report(
    out: Path,
    figures: list[Figure],
    *,
    total_s: float,
    plots_dir: Path | None,
    sim_cpu_s: float,
    quick: bool,
    plots_missing: bool,
    load: dict[str, Any] | None = None,
) -> None:
    host = machine()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines: list[str] = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (`python -m bench.run`) on {now}, in {total_s:.0f} s. "
        "Every number on this page was measured in that one run; nothing here is edited by "
        "hand (the text around the numbers is the harness's). Re-run to refresh it.",
    ]
    if quick:
        lines += ["", "> **Quick mode**: tiny sizes for a smoke test; the numbers mean nothing."]
    lines += [
        "",
        "## Machine",
        "",
        table(
            ["", ""],
            [
                ["CPU", host["cpu"]],
                ["logical cores", host["cores"]],
                ["memory", f"{host['memory_gib']} GiB"],
                ["OS", host["os"]],
                ["Python", host["python"]],
                ["packages", ", ".join(f"{k} {v}" for k, v in versions().items())],
            ],
            "ll",
        ),
        "",
        "## Method",
        "",
        "- **Simulated LLM** (`bench/simulated_llm.py`): an OpenAI-compatible "
        "`/v1/chat/completions` in a process of its own (uvicorn, raw ASGI), so its CPU is not "
        "the server's. It answers each stage (outline, topics, content, polish) with "
        "schema-valid JSON streamed piece by piece: configurable time to first token, tokens "
        "per second per stream (an absolute schedule, so a slow reader does not slow the "
        "model), answer size, and faults (HTTP 500 or a cut stream). One “token” is one SSE "
        f"chunk: a body word, or {BASE_LLM.piece_chars} characters of the surrounding JSON. "
        "Each body token carries a unique marker `zq<call>_<seq>q`; the simulator logs every "
        "call's start and end, every token's emission time, and the usage it reports "
        "(prompt tokens = characters ÷ 4).",
        "- **Servers**: `coursegen serve` (`python -m coursegen.cli serve`) with "
        "`COURSEGEN_BASE_URL` = the simulator, `COURSEGEN_MODEL=openai:bench`, SQLite in a "
        "temporary directory, `COURSEGEN_MAX_RUNNING_JOBS`, `COURSEGEN_MAX_JOBS_PER_OWNER` and "
        "`COURSEGEN_REQUESTS_PER_MINUTE` raised out of the way, log level `warning`, no API "
        "keys (loopback). `langgraph dev --no-browser --no-reload` for figure 4. Each server "
        "gets an unmeasured warm-up course first.",
        "- **Clients** run in the harness process: a minimal asyncio HTTP/1.1 SSE reader that "
        "timestamps each chunk as it is read and only scans it for markers (cheap enough to "
        "follow 200 streams); `httpx` for plain requests; `langgraph-sdk` for `langgraph dev`.",
        "- **CPU** is user + system time of the server's process tree (psutil) between the "
        "first request and the last course's end; **tokens** are what the simulator emitted "
        "meanwhile. **Latency** is the arrival time of the first event carrying a marker minus "
        "the simulator's emission time of that token (`time.monotonic()`, one clock).",
        f"- Server, simulator and harness share the {host['cores']} cores; the simulator "
        f"used {sim_cpu_s:.0f} s of CPU over the whole run. At the higher loads everything "
        "competes for them, which is part of what is measured.",
        "",
    ]
    if load:
        lines += [
            f"The machine is shared (other sessions run their tests on it): load average "
            f"{load['start']:.1f} at the start of this run and {load['end']:.1f} at its end; "
            f"all processes together kept the {host['cores']} cores {load['busy']:.0%} busy "
            "on average during the run, ours included. Runs on a busier machine give higher "
            "latencies; compare runs with their load.",
            "",
        ]
        if ref := load.get("reference_ms"):
            lines += [
                "The host's other tenants do not show in that load: a fixed pure-Python loop "
                f"(`bench/run.py: reference_loop_ms`, best of 5) took {ref[0]:.1f} ms at the "
                f"start and {min(ref):.1f}–{max(ref):.1f} ms between the figures (on this kind "
                "of machine 4–6 ms when the host is quiet, 10–11 ms when it is busy). Figures "
                "of runs with different reference times are not comparable one to one; within "
                "a run, ours and the peers' ran on the same host.",
                "",
            ]
    goals = [g for f in figures for g in f.goals]
    if goals:
        lines += ["## Goals vs results", ""]
        lines.append(
            table(
                ["goal", "target", "result", "met"],
                [
                    [g, t, r, "–" if ok is None else ("✅ yes" if ok else "❌ no")]
                    for g, t, r, ok in goals
                ],
                "llll",
            )
        )
        lines.append("")
    if any(f.key in ("stock", "cpu_memory", "latency") for f in figures):
        lines += issue_goals_section(figures)
    headline = [h for f in figures for h in f.headline]
    if headline:
        lines += ["## Headline numbers", ""] + [f"- {h}" for h in headline] + [""]
    if plots_missing:
        lines += ["> matplotlib is not installed (`uv sync --group bench`): no plots.", ""]
    for figure in figures:
        if figure.key == "profile":
            continue
        lines += _section(figure, out, plots_dir)
    lines += _before_after(figures)
    lines += ["## What limits us", ""]
    lines += [f"The path of one token: {PATH_OF_A_TOKEN}.", ""]
    lines += [f"- {finding}" for finding in _limits(figures)]
    lines.append("")
    prof = _find(figures, "profile")
    if prof is not None:
        lines += _section(prof, out, plots_dir, level="###")
    lines += [
        "## Reproduce",
        "",
        "```bash",
        "make bench                                   # this page and docs/bench/*.png",
        "uv run --group bench python -m bench.run --figures latency,compare "
        "--out /tmp/b.md --plots /tmp/b --keep",
        "uv run python -m bench.simulated_llm --port 8901   # the simulated LLM alone",
        "```",
        "",
        "Time per figure in this run: "
        + ", ".join(f"{f.key} {f.seconds:.0f} s" for f in figures)
        + ".",
        "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))


def _section(figure: Figure, out: Path, plots_dir: Path | None, level: str = "##") -> list[str]:
    lines = [f"{level} {figure.title}", ""]
    if figure.method:
        lines += [figure.method, ""]
    if figure.plot and plots_dir is not None:
        rel = os.path.relpath(plots_dir / figure.plot, out.parent)
        lines += [f"![{figure.title}]({rel})", ""]
    for tbl in figure.tables:
        lines += [tbl, ""]
    for note in figure.notes:
        lines += [f"- {note}"]
    if figure.notes:
        lines.append("")
    return lines


BASELINE = Path(__file__).with_name("baseline.json")


def _before_after(figures: list[Figure]) -> list[str]:
    """This run beside the recorded figures of the run before the optimisation work."""
    if not BASELINE.exists():
        return []
    import json

    before = json.loads(BASELINE.read_text())
    rows: list[list[str]] = []
    lat = _find(figures, "latency")
    for row in lat.data.get("rows", []) if lat else []:
        old = before["latency"].get(str(row[1]))
        if "shipped" in row[0] and old:
            rows.append(
                [
                    f"latency p50 / p99, {row[1]} course(s) (figure 2)",
                    f"{old[0]:,.1f} / {old[1]:,.1f} ms",
                    f"{row[6]:,.1f} / {row[8]:,.1f} ms",
                ]
            )
    cpu = _find(figures, "cpu_memory")
    for point in cpu.data.get("points", []) if cpu else []:
        old_cpu = before["cpu_per_token_us"].get(str(point["n"]))
        if old_cpu:
            rows.append(
                [
                    f"server CPU per token, {point['n']} courses (figure 3)",
                    f"{old_cpu:,.0f} µs",
                    f"{point['cpu_per_token_us']:,.0f} µs",
                ]
            )
    split = (cpu.data.get("split") or {}) if cpu else {}
    if split.get("per_token_us"):
        rows.append(
            [
                "marginal CPU per token / per LLM call (figure 3)",
                f"{before['marginal_per_token_us']:.0f} µs / {before['per_call_ms']:.1f} ms",
                f"{split['per_token_us']:.0f} µs / {split['per_call_ms']:.1f} ms",
            ]
        )
    cmp_fig = _find(figures, "compare")
    for key, cell in (cmp_fig.data.get("cells", {}) if cmp_fig else {}).items():
        system, n = key.split("|")
        if key in before["compare_cpu_us"]:
            name = cmp_fig.data["systems"][cmp_fig.data["keys"].index(system)]  # type: ignore[union-attr]
            rows.append(
                [
                    f"{name}, {n} course(s): CPU per token, p50 (figure 4)",
                    f"{before['compare_cpu_us'][key]:,.0f} µs, "
                    f"{before['compare_p50_ms'][key]:.1f} ms",
                    f"{cell['cpu']:,.0f} µs, {cell['p50']:.1f} ms",
                ]
            )
    if not rows:
        return []
    return [
        "## Before and after the optimisation work",
        "",
        f"Before: {before['label']}; {before['design']}. After: this run (one event writer per "
        "process with group commits, no per-chunk timer task, callbacks run inline). The "
        "before column is copied from that run's report (`bench/baseline.json`); both ran on "
        "the same kind of shared 2-core machine, so compare them with the load noted above.",
        "",
        table(["figure", "before", "after (this run)"], rows, "lrr"),
        "",
    ]


README_START = "<!-- bench:start (written by make bench) -->"
README_END = "<!-- bench:end -->"


def readme_lines(figures: list[Figure]) -> list[str]:
    """One line per figure, for the README."""
    return [f"- **{f.title}**: {f.summary}." for f in figures if f.summary]


def update_readme(readme: Path, figures: list[Figure]) -> None:
    """Replace the README's benchmark lines (between the markers) with this run's."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    lines = readme_lines(figures)
    old = rest.split(README_END, 1)[0].strip().splitlines()
    if len(lines) < len([line for line in old if line.startswith("- ")]):
        return  # a run of some figures only: keep the full set of lines
    body = "\n".join(lines)
    readme.write_text(f"{head}{README_START}\n{body}\n{README_END}{tail}")
