"""Claim runnable jobs under a lease, run a bounded number at once, and hand them back."""

import asyncio
import contextlib
import logging
from typing import Any

from coursegen.server.core import metrics
from coursegen.server.jobs.models import Job
from coursegen.server.jobs.runner import JobRunner
from coursegen.server.jobs.stops import StopReason, stop
from coursegen.server.jobs.store import SqlJobStore

log = logging.getLogger(__name__)


class JobManager:
    """This replica's worker: leases jobs from the shared store and runs them.

    A lease is renewed every `lease_s / 3`; a replica that dies stops renewing, and after
    `lease_s` any other replica claims the job and resumes it from its checkpoint. Each
    renewal also reads the jobs' durable `cancel_requested`, so a cancel stops its job within
    one heartbeat even when the control message never arrived. Control messages from any
    replica reach `on_control`, which the broker is given when it starts.
    """

    def __init__(
        self,
        store: SqlJobStore,
        runner: JobRunner,
        *,
        worker: str,
        max_running: int,
        lease_s: float = 15.0,
        poll_s: float = 1.0,
    ) -> None:
        self.store, self.runner = store, runner
        self.worker, self.max_running = worker, max_running
        self.lease_s, self.poll_s = lease_s, poll_s
        self.running: dict[str, asyncio.Task[None]] = {}
        self._cancelled: set[str] = set()  # running jobs already told to stop for a cancel
        self._wake = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self.draining = False

    async def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._schedule()),
            asyncio.create_task(self._heartbeat()),
        ]

    def wake(self) -> None:
        self._wake.set()

    async def on_control(self, message: dict[str, Any]) -> None:
        """React to a control message from any replica: cancel a job here, or look for work."""
        if message.get("kind") == "cancel":
            self._cancel(str(message.get("job_id", "")))
        self.wake()

    def _cancel(self, job_id: str) -> None:
        """Stop a running job for its user's cancel (once, however many times it is asked)."""
        task = self.running.get(job_id)
        if task is None or job_id in self._cancelled:
            return
        self._cancelled.add(job_id)
        stop(task, StopReason.CANCEL)

    async def _schedule(self) -> None:
        while not self.draining:
            try:
                await self._claim()
            except Exception:  # database unavailable: keep the worker alive and retry
                log.exception("claiming jobs failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()

    async def _claim(self) -> None:
        jobs = await self.store.claim(self.worker, self.lease_s, 100, cancels_only=True)
        free = self.max_running - len(self.running)
        if free > 0:
            jobs += await self.store.claim(self.worker, self.lease_s, free)
        for job in jobs:
            if job.id not in self.running and not self.draining:
                if job.cancel_requested:  # the runner closes it at once; nothing to stop
                    self._cancelled.add(job.id)
                self.running[job.id] = asyncio.create_task(self._run(job), name=f"job-{job.id}")
                metrics.JOBS_RUNNING.set(len(self.running))

    async def _run(self, job: Job) -> None:
        try:
            await self.runner.run(job)
        except asyncio.CancelledError:
            log.info("job %s handed back (%s)", job.id, "drain" if self.draining else "lease lost")
        except Exception:
            log.exception("job %s crashed its runner", job.id)
        finally:
            self.running.pop(job.id, None)
            self._cancelled.discard(job.id)
            metrics.JOBS_RUNNING.set(len(self.running))
            with contextlib.suppress(Exception):
                await self.store.release(self.worker, [job.id])
            self.wake()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            ids = list(self.running)
            try:
                held = await self.store.renew(self.worker, ids, self.lease_s)
            except Exception:
                log.exception("renewing leases failed")
                continue
            for job_id in ids:
                if job_id not in held:
                    if (task := self.running.get(job_id)) is not None:
                        stop(task, StopReason.LEASE_LOST)
                elif held[job_id]:
                    self._cancel(job_id)

    async def drain(self) -> None:
        """Stop taking work and hand running jobs back (checkpointed) for others to resume."""
        self.draining = True
        for task in self._loops:
            task.cancel()
        tasks = list(self.running.values())
        for task in tasks:
            stop(task, StopReason.SHUTDOWN)
        await asyncio.gather(*tasks, *self._loops, return_exceptions=True)
        await self.store.release(self.worker)
