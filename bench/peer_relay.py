"""Measure what relaying live events between `serve --workers N` processes costs.

Two processes, each with a `PeerBroker` on one socket directory, as two workers have: the
child publishes event batches (one token each, like an idle server's rounds, and ten tokens
each, like a busy one's) at a steady rate; the parent follows the job. Reported: the latency
from `publish()` to the follower's queue (one `time.monotonic()` clock for both processes),
for a follower in the publishing process (no relay) and one in the other process; and the
CPU each process spends per relayed batch, also for a job nobody follows in the other
process (its batches are skipped undecoded).

Run: `uv run python -m bench.peer_relay` (prints a Markdown table).
"""

import asyncio
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from coursegen.server.jobs.models import Event
from coursegen.server.jobs.peer_broker import PeerBroker

BATCHES = 2000
EVERY_S = 0.002  # 500 batches a second
SIZES = (1, 10)


def _batch(first: int, size: int) -> list[Event]:
    stamp = time.monotonic()
    return [
        Event(id=first + i, type="token", data=orjson.dumps({"text": "word ", "t": stamp}).decode())
        for i in range(size)
    ]


async def _publisher(
    directory: str, job_id: str, size: int, local: bool, alone: bool
) -> dict[str, float]:
    broker = PeerBroker(Path(directory), "pub")
    await broker.start()
    latencies: list[float] = []
    try:
        if not alone:
            await _peered(broker)
        async with broker.subscribe(job_id if local else "nobody") as queue:
            consumer = asyncio.create_task(_consume(queue, latencies, BATCHES if local else 0))
            cpu = time.process_time()
            for n in range(BATCHES):
                await broker.publish(job_id, _batch(1 + n * size, size))
                await asyncio.sleep(EVERY_S)
            cpu = time.process_time() - cpu
            await asyncio.wait_for(consumer, 10)
        await asyncio.sleep(0.5)  # let the last frames leave
    finally:
        await broker.close()
    return {"cpu_s": cpu, **_percentiles(latencies)}


async def _peered(broker: PeerBroker) -> None:
    """Wait until the other process is connected, and a moment more (it subscribes then)."""
    while not broker.peer_names():  # noqa: ASYNC110 (a plain dict: nothing to wait on)
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)


async def _consume(queue: asyncio.Queue[list[Event]], latencies: list[float], n: int) -> None:
    for _ in range(n):
        batch = await queue.get()
        latencies.append(time.monotonic() - orjson.loads(batch[0].data)["t"])


def _percentiles(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {}
    ordered = sorted(latencies)
    return {
        "p50_us": statistics.median(ordered) * 1e6,
        "p99_us": ordered[int(len(ordered) * 0.99) - 1] * 1e6,
    }


def _child(directory: str, job_id: str, size: int, mode: str, out: Any) -> None:
    local, alone = mode in ("alone", "local"), mode == "alone"
    out.send(asyncio.run(_publisher(directory, job_id, size, local, alone)))


async def _follower(directory: str, job_id: str, follow: bool) -> dict[str, float]:
    broker = PeerBroker(Path(directory), "sub")
    await broker.start()
    latencies: list[float] = []
    try:
        async with broker.subscribe(job_id if follow else "another-job") as queue:
            consumer = asyncio.create_task(_consume(queue, latencies, BATCHES if follow else 0))
            await _peered(broker)
            cpu = time.process_time()
            if follow:
                await asyncio.wait_for(consumer, 60)
            else:
                await asyncio.sleep(BATCHES * EVERY_S * 1.5)
            cpu = time.process_time() - cpu
    finally:
        await broker.close()
    return {"cpu_s": cpu, **_percentiles(latencies)}


def measure(size: int, mode: str) -> dict[str, float]:
    """One run; `mode`: alone (no other worker), local (a follower beside the publisher,
    another worker idle), relayed (the follower in the other worker), or unfollowed (the
    other worker follows another job)."""
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="cg-relay-") as directory:
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_child, args=(directory, "job", size, mode, send))
        child.start()
        theirs = {"cpu_s": 0.0}
        if mode != "alone":
            theirs = asyncio.run(_follower(directory, "job", mode == "relayed"))
        published = receive.recv()
        child.join()
    return {
        "publisher_us_per_batch": published["cpu_s"] / BATCHES * 1e6,
        "follower_us_per_batch": theirs["cpu_s"] / BATCHES * 1e6,
        **(published if mode in ("alone", "local") else theirs),
    }


def main() -> None:
    print(
        "| batch | follower | latency p50 | latency p99 | publisher CPU / batch | "
        "other process CPU / batch |"
    )
    print("|---:|:---|---:|---:|---:|---:|")
    for size in SIZES:
        for mode in ("alone", "local", "relayed", "unfollowed"):
            row = measure(size, mode)
            p50 = f"{row['p50_us']:.0f} µs" if "p50_us" in row else "—"
            p99 = f"{row['p99_us']:.0f} µs" if "p99_us" in row else "—"
            other = "—" if mode == "alone" else f"{row['follower_us_per_batch']:.0f} µs"
            print(
                f"| {size} token{'s' * (size > 1)} | {mode} | {p50} | {p99} | "
                f"{row['publisher_us_per_batch']:.0f} µs | {other} |"
            )


if __name__ == "__main__":
    main()
