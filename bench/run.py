"""Run the benchmarks and write docs/benchmarks.md with its plots (`make bench`).

python -m bench.run                       # everything (about 8 minutes on 2 cores)
python -m bench.run --figures latency     # one figure (its own report file is advised)
python -m bench.run --quick --out /tmp/b.md --plots /tmp/bench   # a tiny smoke run
"""

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
import timeit
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

import psutil

from bench import (
    fig_compare,
    fig_cpu_memory,
    fig_critical_path,
    fig_latency,
    fig_prompt_tokens,
    fig_stock,
    profile,
)
from bench.harness import BASE_LLM, Ctx, Figure
from bench.report import update_readme, write_report
from bench.servers import ROOT, cpu_seconds
from bench.simulated_llm import SimConfig, SimProcess

FIGURES: dict[str, Callable[[Ctx], Awaitable[Figure]]] = {
    "critical_path": fig_critical_path.run,
    "latency": fig_latency.run,
    "cpu_memory": fig_cpu_memory.run,
    "compare": fig_compare.run,
    "stock": fig_stock.run,
    "prompt_tokens": fig_prompt_tokens.run,
    "profile": profile.run,
}


def reference_loop_ms() -> float:
    """A fixed pure-Python loop, best of 5 (ms): how fast this host runs Python right now.

    Tenants of the host outside this container slow every process here without showing in
    the load average; this loop shows it (on this kind of machine: 6 ms quiet, 10 ms busy).
    """
    return min(timeit.repeat("sum(i * i for i in range(100_000))", number=1, repeat=5)) * 1000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--plots", type=Path, default=ROOT / "docs" / "bench")
    parser.add_argument("--no-plots", action="store_true", help="tables only")
    parser.add_argument(
        "--figures",
        default=",".join(FIGURES),
        help=f"comma-separated, from: {', '.join(FIGURES)}",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for the smoke test)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    return parser.parse_args(argv)


def plots_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


async def run_all(args: argparse.Namespace) -> list[Figure]:
    chosen = [name.strip() for name in args.figures.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in FIGURES]
    if unknown:
        raise SystemExit(f"unknown figure(s): {', '.join(unknown)}; known: {', '.join(FIGURES)}")
    workdir = Path(tempfile.mkdtemp(prefix="coursegen-bench-"))
    plots = None if args.no_plots or not plots_available() else args.plots
    figures: list[Figure] = []
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)

    load_start, cpu_start = os.getloadavg()[0], psutil.cpu_times()
    reference = [reference_loop_ms()]
    sim = SimProcess(SimConfig(**BASE_LLM.__dict__), str(workdir / "simulator.log"))
    sim.start()
    ctx = Ctx(sim=sim, workdir=workdir, plots_dir=plots, quick=args.quick, log=log)
    sim_cpu0 = cpu_seconds(sim.pid)
    try:
        for name in chosen:
            log(f"figure {name}…")
            began = time.monotonic()
            try:
                figure = await FIGURES[name](ctx)
            except Exception as exc:
                traceback.print_exc()
                figure = Figure(name, name, "")
                figure.notes.append(
                    f"This figure failed in this run: `{type(exc).__name__}: {exc}`"
                )
            figure.seconds = time.monotonic() - began
            figures.append(figure)
            reference.append(reference_loop_ms())
            log(f"figure {name} done in {figure.seconds:.1f}s (reference {reference[-1]:.1f} ms)")
        sim_cpu = cpu_seconds(sim.pid) - sim_cpu0
    finally:
        sim.stop()
        if args.keep:
            log(f"scratch directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    total = time.monotonic() - started
    cpu_end = psutil.cpu_times()
    spent = sum(cpu_end) - sum(cpu_start)
    idle = (cpu_end.idle + cpu_end.iowait) - (cpu_start.idle + cpu_start.iowait)
    load = {
        "start": load_start,
        "end": os.getloadavg()[0],
        "busy": 1 - idle / spent if spent else float("nan"),
        "reference_ms": reference,
    }
    write_report(
        args.out,
        figures,
        total_s=total,
        plots_dir=plots,
        sim_cpu_s=sim_cpu,
        quick=args.quick,
        plots_missing=not args.no_plots and plots is None,
        load=load,
    )
    log(f"wrote {args.out} in {total:.0f}s")
    if args.out.resolve() == (ROOT / "docs" / "benchmarks.md").resolve() and not args.quick:
        update_readme(ROOT / "README.md", figures)
        log("updated the README's benchmark lines")
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so that the servers and the simulator are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_all(args))
        return 0
    return 130


if __name__ == "__main__":
    sys.exit(main())
