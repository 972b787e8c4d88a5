"""Stop a worker of `serve --workers N` once the process that started it is gone."""

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator

log = logging.getLogger(__name__)

PARENT_CHECK_S = 1.0


@contextlib.asynccontextmanager
async def stopping_when_orphaned(
    enabled: bool, every_s: float = PARENT_CHECK_S
) -> AsyncIterator[None]:
    """While the app runs, stop it gracefully if its parent process dies.

    uvicorn's workers outlive a supervisor killed with SIGKILL (or by the OOM killer): they
    went on serving, held the port (a new `serve` could not bind it) and kept renewing their
    jobs' leases, so no other server took those jobs over.
    """
    if not enabled:
        yield
        return
    watch = asyncio.create_task(_watch(os.getppid(), every_s), name="coursegen-parent-watch")
    try:
        yield
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch


async def _watch(parent: int, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        if os.getppid() != parent:  # an orphan is adopted by init or a subreaper
            break
    log.warning("the serve process (pid %d) is gone: this worker stops", parent)
    # The stop `kill -TERM` makes: uvicorn ends the lifespan, which hands running jobs back.
    os.kill(os.getpid(), signal.SIGTERM)
