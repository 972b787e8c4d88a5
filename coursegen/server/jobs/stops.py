"""Stop a running job's task with its reason, and say who acts on each reason.

The reason travels with the cancellation (`task.cancel(msg=reason)`): the runner reads it off
the `CancelledError` it catches, so no table of reasons is shared between objects.

Who stops a run, and who fails it:
- CANCEL (a user's cancel, from a control message or the lease heartbeat): the runner closes
  the job as cancelled itself.
- SHUTDOWN (this replica drains): the runner hands the job back unchanged; its checkpoint
  lets any replica resume it.
- LEASE_LOST: another replica holds the job now. It is found either by the manager's lease
  heartbeat or by the event writer, whose group commit refuses the job's batch
  (`LeaseLost`). Either way this replica writes nothing more for the job and hands it
  back: it can no longer store a `failed` status, and need not, because the job's new holder
  resumes it from its checkpoint. Only the holder of a job's lease ever fails it.
- WRITE_FAILED: the database refused a write nobody was waiting for; the job is handed back
  like a drained one, and whoever holds it next carries on from the checkpoint.
"""

import asyncio
from enum import StrEnum
from typing import Any


class StopReason(StrEnum):
    """Why a running job's task was cancelled."""

    CANCEL = "cancel"
    SHUTDOWN = "shutdown"
    LEASE_LOST = "lease_lost"
    WRITE_FAILED = "write_failed"


def stop(task: asyncio.Task[Any], reason: StopReason) -> None:
    """Cancel a job's task, carrying the reason with the cancellation."""
    task.cancel(msg=reason.value)


def reason_of(exc: asyncio.CancelledError) -> StopReason:
    """The reason a job's task was cancelled with (SHUTDOWN when none was given)."""
    message = exc.args[0] if exc.args else None
    try:
        return StopReason(str(message))
    except ValueError:
        return StopReason.SHUTDOWN
