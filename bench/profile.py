"""Profile the server's per-token path with py-spy while courses stream through the jobs API."""

import asyncio
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench.harness import BASE_LLM, Ctx, Figure, courses, drive, table, warm_up
from bench.servers import Coursegen

FRAME_RE = re.compile(r"^(.*) \((.*?):(\d+)\)$")
# Frames that are only the event loop and thread plumbing around everything.
PLUMBING = re.compile(
    r"(asyncio/(base_events|events|runners|tasks)\.py|threading\.py|uvicorn/(main|server|_compat)"
    r"|coursegen/cli|typer/|click/|<frozen runpy>|runpy\.py|contextvars)"
)
# uvloop runs the loop in C: py-spy charges its time (polling, socket reads and writes,
# callback dispatch) to the Python frame that started it.
LOOP_LEAF = re.compile(r"asyncio/(runners|base_events)\.py")
LOOP = "event loop internals (uvloop, C)"
# Libraries that are only helpers of their caller: look past them for the call site.
HELPERS = ("typing_extensions", "sniffio")
OWN_TASK = "(a task of its own: ensure_future / shield)"


def py_spy() -> str | None:
    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


def package(path: str) -> str:
    """Where a frame's code lives: a site-packages distribution, coursegen.<sub>, or stdlib."""
    if "site-packages/" in path:
        rest = path.split("site-packages/", 1)[1]
        top = rest.split("/", 1)[0]
        return top.removesuffix(".py")
    if "/coursegen/" in path:
        parts = path.split("/coursegen/", 1)[1].split("/")
        return "coursegen." + (parts[0].removesuffix(".py") if len(parts) > 1 else parts[0])
    name = Path(path).name.removesuffix(".py")
    parent = Path(path).parent.name
    if parent.startswith("python3") or parent == "lib":
        return f"stdlib:{name}"
    return f"stdlib:{parent}"


def short(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return Path(path).name


def call_site(frames: list[tuple[str, str, str]], own: str) -> str:
    """The innermost frame (of `frames`, leaf last) in another non-stdlib, non-helper package."""
    for func, path, line in reversed(frames[:-1]):
        pkg = package(path)
        if pkg == own or pkg.startswith("stdlib:") or pkg in HELPERS:
            continue
        if PLUMBING.search(path):
            return OWN_TASK
        return f"{func} ({short(path)}:{line})"
    return ""


def parse(raw: str) -> list[tuple[list[tuple[str, str, str]], int]]:
    """py-spy raw output → [(frames root→leaf as (function, path, line), samples)]."""
    stacks = []
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for frame in stack.split(";"):
            match = FRAME_RE.match(frame)
            frames.append(match.groups() if match else (frame, "", "0"))
        stacks.append((frames, int(count)))
    return stacks


def thread_kind(frames: list[tuple[str, str, str]]) -> str:
    paths = " ".join(path for _, path, _ in frames)
    if "aiosqlite/core.py" in paths:
        return "aiosqlite worker threads (checkpointer's SQLite calls)"
    if "coursegen/server/jobs/sqlite_store.py" in paths:
        return "job store's SQLite thread"
    if "concurrent/futures/thread.py" in paths:
        return "thread-pool executor threads"
    if "threading.py" in paths:
        return "other threads"
    return "event-loop thread (asyncio, holds the GIL)"


def summarise(raw: str) -> dict[str, Any]:
    stacks = parse(raw)
    total = sum(n for _, n in stacks) or 1
    self_fn: Counter[str] = Counter()
    incl_fn: Counter[str] = Counter()
    incl_pkg: Counter[str] = Counter()
    owner: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    callers: dict[str, Counter[str]] = {}
    owner_callers: dict[str, Counter[str]] = {}
    for frames, n in stacks:
        frames = [f for f in frames if f[1]]  # drop py-spy's "thread (0x…)" / process frames
        if not frames:
            continue
        threads[thread_kind(frames)] += n
        leaf = frames[-1]
        if LOOP_LEAF.search(leaf[1]):
            self_fn[LOOP] += n
            owner[LOOP] += n
        else:
            leaf_key = f"{leaf[0]} ({short(leaf[1])})"
            self_fn[leaf_key] += n
            callers.setdefault(leaf_key, Counter())[call_site(frames, package(leaf[1]))] += n
        seen_fn, seen_pkg = set(), set()
        for func, path, _ in frames:
            if PLUMBING.search(path):
                continue
            seen_fn.add(f"{func} ({short(path)})")
            seen_pkg.add(package(path))
        for key in seen_fn:
            incl_fn[key] += n
        for key in seen_pkg:
            incl_pkg[key] += n
        if LOOP_LEAF.search(leaf[1]):
            continue
        # The innermost frame outside the standard library "owns" the sample.
        for i in range(len(frames) - 1, -1, -1):
            pkg = package(frames[i][1])
            if not pkg.startswith("stdlib:"):
                owner[pkg] += n
                owner_callers.setdefault(pkg, Counter())[call_site(frames[: i + 1], pkg)] += n
                break
        else:
            owner[package(leaf[1])] += n
    return {
        "samples": total,
        "self": [(k, v / total) for k, v in self_fn.most_common(15)],
        "callers": {k: c.most_common(1)[0][0] for k, c in callers.items()},
        "owner_callers": {k: c.most_common(1)[0][0] for k, c in owner_callers.items()},
        "inclusive": [(k, v / total) for k, v in incl_fn.most_common(1000)],
        "packages": [(k, v / total) for k, v in incl_pkg.most_common(16)],
        "owners": [(k, v / total) for k, v in owner.most_common(14)],
        "threads": [(k, v / total) for k, v in threads.most_common()],
    }


async def _record(spy: str, pid: int, out: Path, log: Path, gil: bool) -> Any:
    command = [spy, "record", "--pid", str(pid), "--rate", "250", "--nonblocking"]
    command += ["--full-filenames", "--format", "raw", "--output", str(out), "--threads"]
    if gil:
        command.append("--gil")
    with log.open("wb") as sink:
        return await asyncio.create_subprocess_exec(*command, stdout=sink, stderr=subprocess.STDOUT)


async def _stop(proc: Any) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(proc.wait(), 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()


# Steps of the per-token path, found by function in the inclusive profile.
PATH_STEPS = [
    (
        "HTTP/1.1 body read from the model (httpcore)",
        "AsyncHTTP11Connection._receive_response_body",
    ),
    ("openai: SSE decoding", "SSEDecoder.aiter_bytes"),
    ("openai: a pydantic model per chunk", "BaseClient._process_response_data"),
    (
        "langchain-openai: chunk → ChatGenerationChunk",
        "BaseChatOpenAI._convert_chunk_to_generation_chunk",
    ),
    ("LangChain: callbacks per token", "AsyncCallbackManagerForLLMRun.on_llm_new_token"),
    ("coursegen: TokenRelay", "TokenRelay.on_llm_new_token"),
    ("LangGraph: stream writer (custom mode)", "Pregel.astream.<locals>.stream_writer"),
    ("coursegen: JobRunner relay", "JobRunner._relay"),
    ("coursegen: event-log emit (merge per stream)", "JobEventLog.emit"),
    ("coursegen: event writer round (store, publish)", "EventWriter._round"),
    ("coursegen: SSE follow()", "follow"),
    ("sse-starlette: SSE out", "EventSourceResponse._stream_response"),
    ("LangGraph: checkpoint writes", "PatientSqliteSaver.aput_writes"),
    ("structured output: parse + validate the answer", "parse_answer"),
]


def path_steps(inclusive: list[tuple[str, float]]) -> list[tuple[str, str, float]]:
    found = []
    for label, prefix in PATH_STEPS:
        share = max((v for k, v in inclusive if k.startswith(prefix + " (")), default=None)
        if share is not None:
            found.append((label, f"`{prefix}`", share))
    return found


def _share_table(rows: list[tuple[str, float]], head: str) -> str:
    return table([head, "share"], [(k, f"{v:.1%}") for k, v in rows])


async def run(ctx: Ctx) -> Figure:
    figure = Figure("profile", "Profile of the per-token path", "")
    spy = py_spy()
    n, themes, topics = (2, 1, 2) if ctx.quick else (10, 2, 2)
    figure.method = (
        f"Two py-spy samplers (`record --nonblocking --rate 250 --threads`) attached at once to "
        f"`coursegen serve` while {n} courses of {themes}×{topics} stream through the jobs API "
        f"with the simulated LLM of figure 2 ({BASE_LLM.tokens_per_s:g} tokens/s per stream), "
        "in a run of its own (sampling perturbs the process a little). `--gil` samples only "
        "the thread holding the GIL: the Python work, i.e. the CPU that one process can never "
        "spread over cores; the tables of functions and packages come from it. The other "
        "sampler records every thread that is not idle, which also counts time spent inside "
        "SQLite calls (disk syncs, the file's write lock): its per-thread split is the first "
        "table."
    )
    if spy is None:
        figure.notes.append("py-spy is not installed (uv sync --group bench): no profile.")
        return figure
    gil_out, all_out = ctx.workdir / "profile-gil.txt", ctx.workdir / "profile-threads.txt"
    with Coursegen(ctx.sim.base_url, ctx.workdir / "profile") as server:
        await warm_up(ctx, "jobs", server)
        ctx.configure_llm(BASE_LLM)
        gil = await _record(spy, server.pid, gil_out, ctx.workdir / "py-spy-gil.log", True)
        every = await _record(spy, server.pid, all_out, ctx.workdir / "py-spy.log", False)
        await asyncio.sleep(1.0)  # let them attach
        try:
            batch = await drive(ctx, "jobs", server, courses("profile", n, themes, topics))
        finally:
            await _stop(gil)
            await _stop(every)
    if not gil_out.exists() or not all_out.exists():
        figure.notes.append(
            "py-spy wrote no profile (ptrace not permitted?): "
            + (ctx.workdir / "py-spy.log").read_text(errors="replace")[-500:]
        )
        return figure
    summary = summarise(gil_out.read_text())
    threads = summarise(all_out.read_text())
    summary["threads"] = threads["threads"]
    summary["courses"] = n
    figure.data = summary
    rate = 250.0
    figure.notes.append(
        f"{batch.wall_s:.1f} s of load, {batch.tokens:,} tokens; the server process used "
        f"{batch.cpu_s:.1f} s of CPU ({batch.cpu_per_token_us:.0f} µs/token in this run). "
        f"Samples: {summary['samples']:,} with the GIL held (≈ {summary['samples'] / rate:.1f} "
        f"s), {threads['samples']:,} of non-idle threads (≈ {threads['samples'] / rate:.1f} "
        "thread-seconds)."
    )
    figure.tables.append(
        "Non-idle thread time by thread (all threads sampler).\n\n"
        + _share_table(summary["threads"], "thread")
    )
    figure.tables.append(
        "GIL-held time by owner: the innermost frame outside the standard library (time "
        "uvloop spends in C is charged to the loop), and the call site that reaches it "
        "most.\n\n"
        + table(
            ["package", "share", "mostly reached from"],
            [(k, f"{v:.1%}", summary["owner_callers"].get(k, "")) for k, v in summary["owners"]],
            "lrl",
        )
    )
    figure.tables.append(
        "GIL-held time, inclusive, by package (a sample counts for every package on its "
        "stack).\n\n" + _share_table(summary["packages"], "package")
    )
    figure.tables.append(
        "Top functions by self time (GIL held), with the call site they are mostly reached "
        "from (innermost frame of another non-stdlib package).\n\n"
        + table(
            ["function (file)", "share", "mostly called from"],
            [(k, f"{v:.1%}", summary["callers"].get(k, "")) for k, v in summary["self"]],
            "lrl",
        )
    )
    steps = path_steps(summary["inclusive"])
    summary["steps"] = steps
    if steps:
        figure.tables.append(
            "The per-token path, step by step: inclusive share of GIL-held time of the function "
            "that does each step (steps nest: the openai rows are inside the langchain-openai "
            "stream, the callbacks inside it too).\n\n"
            + table(
                ["step", "function", "share"],
                [(label, fn, f"{v:.1%}") for label, fn, v in steps],
                "llr",
            )
        )
    interesting = [
        (k, v)
        for k, v in summary["inclusive"]
        if v < 0.9 and not k.startswith(("run (", "_run (", "__call__ (uvicorn"))
    ][:25]
    figure.tables.append(
        "Top functions by inclusive time (GIL held; event-loop plumbing left out).\n\n"
        + _share_table(interesting, "function (file)")
    )
    return figure
