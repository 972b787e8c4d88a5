"""A/B: another checkout's coursegen against this one, alternating, same simulator and load.

    uv run --group bench python -m bench.ab /path/to/other/worktree [rounds]

On a shared machine absolute figures move with the load; two servers measured in turn, on
the same simulator, in one run, give a difference that the load does not.
"""

import asyncio
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.fig_stock import STOCK_LLM
from bench.harness import BASE_LLM, Ctx, courses, drive, table, warm_up
from bench.servers import Coursegen
from bench.simulated_llm import SimConfig, SimProcess

LOADS = [
    ("1 × 2×2 at 30 tokens/s", BASE_LLM, 1, 2, 2),
    ("10 × 2×2 at 30 tokens/s", BASE_LLM, 10, 2, 2),
    ("6 × 3×3 at 150 tokens/s", STOCK_LLM, 6, 3, 3),
    # Many connections at once: the pool's per-request walk over its idle ones shows here.
    ("50 × 1×2 at 30 tokens/s", BASE_LLM, 50, 1, 2),
]


async def main(other: Path, rounds: int) -> str:
    work = Path(tempfile.mkdtemp(prefix="coursegen-ab-"))
    sim = SimProcess(SimConfig(**BASE_LLM.__dict__), str(work / "simulator.log"))
    sim.start()
    ctx = Ctx(sim=sim, workdir=work, plots_dir=None)
    servers = {
        "before": Coursegen(sim.base_url, work / "before", env={"PYTHONPATH": str(other)}),
        "after": Coursegen(sim.base_url, work / "after"),
    }
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    try:
        with servers["before"], servers["after"]:
            for server in servers.values():
                await warm_up(ctx, "jobs", server)
            for rnd in range(rounds):
                for label, llm, n, themes, topics in LOADS:
                    ctx.configure_llm(llm)
                    for name, server in servers.items():
                        batch = await drive(
                            ctx, "jobs", server, courses(f"ab {name} {rnd}", n, themes, topics)
                        )
                        results.setdefault((label, name), []).append(
                            (batch.cpu_per_token_us, batch.latency_ms(50))
                        )
                        print(
                            f"{label}, {name}, round {rnd + 1}: "
                            f"{batch.cpu_per_token_us:.0f} µs/token",
                            flush=True,
                        )
    finally:
        sim.stop()
    rows: list[list[Any]] = []
    for label, *_ in LOADS:
        before, after = results[(label, "before")], results[(label, "after")]
        b, a = (statistics.median(x[0] for x in v) for v in (before, after))
        rows.append(
            [
                label,
                f"{b:.0f} ({min(x[0] for x in before):.0f}–{max(x[0] for x in before):.0f})",
                f"{a:.0f} ({min(x[0] for x in after):.0f}–{max(x[0] for x in after):.0f})",
                f"{a / b - 1:+.0%}",
            ]
        )
    return table(["load", "before µs/token (range)", "after µs/token (range)", "change"], rows)


if __name__ == "__main__":
    print(asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 2)))
