"""Run `coursegen <args>` with timers on the event log and the SQLite connections.

    python -m bench.probe /tmp/probe.json serve --port 8000

A diagnostic wrapper for the benchmark (nothing in coursegen changes): it times every round of
the event writer (one group commit of every job's buffered events, then their publication),
every job-store transaction (waiting for the shared connection and `BEGIN IMMEDIATE` included),
every checkpoint write (`PatientSqliteSaver.aput` / `aput_writes`, waiting for its lock and
retries included), every garbage collection and every aiosqlite operation (queued, in the
thread, result back on the loop), and writes the durations to the JSON file on SIGUSR1 and at
exit. The timers cost a few microseconds per database operation.

Knobs for experiments (environment): BENCH_CHECKPOINT_PRAGMA (e.g.
"synchronous=NORMAL" on the checkpointer's connection), BENCH_CHECKPOINT_FILE=separate
(checkpoints in a file of their own), BENCH_SWITCH_INTERVAL (`sys.setswitchinterval`).
"""

import atexit
import contextlib
import gc
import json
import os
import signal
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

TIMES: dict[str, list[float]] = defaultdict(list)


def _timed(name: str, func: Any) -> Any:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await func(*args, **kwargs)
        finally:
            TIMES[name].append(time.perf_counter() - started)

    return wrapper


def install() -> None:
    from coursegen.server.core._sqlite_saver import PatientSqliteSaver
    from coursegen.server.jobs import eventwriter, sqlite_store

    round_ = eventwriter.EventWriter._round
    timed_round = _timed("writer.round", round_)

    async def round_with_data(self: Any) -> None:  # an empty round returns at once: not timed
        if self._waiting:
            TIMES["writer.jobs_per_round"].append(len(self._waiting))
            return await timed_round(self)
        return await round_(self)

    eventwriter.EventWriter._round = round_with_data  # type: ignore[method-assign]
    saver = PatientSqliteSaver  # the server's checkpointer class
    saver.aput = _timed("checkpoint.aput", saver.aput)
    saver.aput_writes = _timed("checkpoint.aput_writes", saver.aput_writes)
    original = sqlite_store.SqliteJobStore.transaction

    @contextlib.asynccontextmanager
    async def transaction(self: Any) -> AsyncIterator[Any]:
        asked = time.perf_counter()
        contended = self._lock.locked()
        async with original(self) as tx:
            began = time.perf_counter()
            TIMES["store.wait_lock_and_begin"].append(began - asked)
            if not contended:  # nobody held the connection: this is BEGIN IMMEDIATE alone
                TIMES["store.begin_when_lock_free"].append(began - asked)
            try:
                yield tx
            finally:
                TIMES["store.body"].append(time.perf_counter() - began)
        TIMES["store.transaction_total"].append(time.perf_counter() - asked)

    sqlite_store.SqliteJobStore.transaction = transaction  # type: ignore[method-assign]
    append_many = sqlite_store.SqliteJobStore.append_many

    async def timed_append_many(self: Any, batches: Any) -> Any:  # a writer round's transaction
        asked = time.perf_counter()
        try:
            return await append_many(self, batches)
        finally:
            TIMES["store.transaction_total"].append(time.perf_counter() - asked)

    sqlite_store.SqliteJobStore.append_many = timed_append_many  # type: ignore[method-assign]

    import aiosqlite

    submit = aiosqlite.Connection._execute

    async def execute(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        marks: list[float] = []

        def timed(*a: Any, **k: Any) -> Any:
            marks.append(time.perf_counter())
            try:
                return fn(*a, **k)
            finally:
                marks.append(time.perf_counter())

        asked = time.perf_counter()
        try:
            return await submit(self, timed, *args, **kwargs)
        finally:
            done = time.perf_counter()
            if len(marks) == 2:
                TIMES["aiosqlite.op.queued"].append(marks[0] - asked)
                TIMES["aiosqlite.op.in_thread"].append(marks[1] - marks[0])
                TIMES["aiosqlite.op.result_to_loop"].append(done - marks[1])

    aiosqlite.Connection._execute = execute  # type: ignore[method-assign]

    # Experiments on the checkpointer (none by default): BENCH_CHECKPOINT_PRAGMA, e.g.
    # "synchronous=NORMAL"; BENCH_CHECKPOINT_FILE=separate puts checkpoints in a file of
    # their own, so that the job store and the checkpointer stop contending for one lock.
    pragma = os.environ.get("BENCH_CHECKPOINT_PRAGMA")
    separate = os.environ.get("BENCH_CHECKPOINT_FILE") == "separate"
    if pragma or separate:
        from coursegen.server import app as app_module

        opened = app_module.open_checkpointer

        @contextlib.asynccontextmanager
        async def open_checkpointer(settings: Any) -> AsyncIterator[Any]:
            if separate:
                settings = settings.model_copy(update={"data_dir": settings.data_dir / "ckpt"})
            async with opened(settings) as saver:
                if pragma and hasattr(saver, "conn"):
                    await saver.conn.execute(f"PRAGMA {pragma}")
                yield saver

        app_module.open_checkpointer = open_checkpointer


def time_collections() -> None:
    """Every garbage collection's pause, per generation (the event loop stops meanwhile)."""
    started = [0.0]

    def on_collection(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            TIMES[f"gc.gen{info['generation']}"].append(time.perf_counter() - started[0])

    gc.callbacks.append(on_collection)


def main() -> None:
    path = sys.argv[1]
    install()
    time_collections()
    if os.environ.get("BENCH_SWITCH_INTERVAL"):  # an experiment: GIL hand-offs to threads
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))

    def dump() -> None:
        with open(path, "w") as out:
            json.dump(TIMES, out)

    atexit.register(dump)
    signal.signal(signal.SIGUSR1, lambda *_: dump())
    from coursegen.cli import app

    sys.argv = ["coursegen", *sys.argv[2:]]
    app()


if __name__ == "__main__":
    main()
