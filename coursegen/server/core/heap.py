"""Keep the objects built at start-up out of the garbage collector's way while the app serves."""

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

log = logging.getLogger(__name__)


@asynccontextmanager
async def frozen_heap(preload: Callable[[], object] | None = None) -> AsyncIterator[None]:
    """Move everything alive now (modules, the graph, schemas, prompt templates, language
    models) to the collector's permanent generation until the block ends; `preload` runs on
    a thread meanwhile (what the first finished course would otherwise load), and what it
    built is frozen too.

    A started server holds about 250,000 tracked objects that live as long as it does, and
    the first course report loads the CMU pronouncing dictionary (250,000 lists) and
    scikit-learn (60,000 objects). Each full collection walked them all again: 0.2–0.4 s on
    the bench machine with the event loop stopped, every stream stalled meanwhile (the p99
    latency of figure 2), and about 15% of the graph's CPU per LLM call. Frozen, they are
    never scanned; what requests allocate is collected as before. At the end they are handed
    back, so an app stopped in a process that goes on (tests, an embedding program) leaves
    nothing uncollectable behind.
    """
    _freeze()
    loading = asyncio.create_task(_preload_then_freeze(preload)) if preload else None
    try:
        yield
    finally:
        if loading is not None:
            loading.cancel()
            with suppress(asyncio.CancelledError):
                await loading
        gc.unfreeze()


def _freeze() -> None:
    gc.collect()  # garbage of the start-up itself is not worth keeping forever
    gc.freeze()


async def _preload_then_freeze(preload: Callable[[], object]) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[BaseException | None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if not done.done():
            done.set_result(error)

    def run() -> None:
        try:
            preload()
        except BaseException as exc:  # reported on the loop, below
            error: BaseException | None = exc
        else:
            error = None
        with suppress(RuntimeError):  # the loop has closed: nobody is waiting any more
            loop.call_soon_threadsafe(settle, error)

    # A daemon thread, not the loop's executor: a server told to stop must not wait seconds
    # for imports it will never use (the executor's threads are joined at exit).
    threading.Thread(target=run, name="coursegen-preload", daemon=True).start()
    if (error := await done) is not None:
        # The first report loads it again and shows the error there.
        log.error("preloading the course report's dependencies failed: %r", error)
        return
    _freeze()
