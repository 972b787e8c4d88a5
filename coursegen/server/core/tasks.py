"""Stop a background task and wait until it has stopped."""

import asyncio
import contextlib
from typing import Any


async def stop_task(task: "asyncio.Task[Any] | None") -> None:
    """Cancel the task (if any) and wait for it; its cancellation is not an error here."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
