"""Run one job's generation on the graph and write what happens to its event log."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from coursegen.chains.plan import glossary
from coursegen.domain import CourseTheme, CourseUsage, TokenUsage
from coursegen.graph.budget import TokenBudget, within_budget
from coursegen.graph.grounding import SOURCES_KEY
from coursegen.names import Stage
from coursegen.providers.info import ModelInfo
from coursegen.quality.report import build_report
from coursegen.server.core import metrics
from coursegen.server.core.heap import freeze_after_first_report
from coursegen.server.core.logs import current_job
from coursegen.server.jobs.errors import error_of, language_warning
from coursegen.server.jobs.eventlog import JobEventLog
from coursegen.server.jobs.eventwriter import EventWriter
from coursegen.server.jobs.models import START, Action, Job, JobStatus
from coursegen.server.jobs.projection import initial_course
from coursegen.server.jobs.stops import StopReason, reason_of
from coursegen.server.jobs.store import LeaseLost
from coursegen.server.sources.library import OwnerSources
from coursegen.server.sources.store import SourceStore

log = logging.getLogger(__name__)


class JobRunner:
    """Drive the course graph for jobs this replica holds, one `run()` per claimed job.

    The manager stops a run by cancelling its task with a `StopReason` (`stops.py`): only a
    user's cancel ends the job; any other reason hands it back, checkpointed.
    """

    def __init__(
        self,
        graph: CompiledStateGraph,
        regenerate_graph: CompiledStateGraph,
        writer: EventWriter,
        worker: str,
        model: ModelInfo,
        token_budget: int | None = None,
        *,
        sources: SourceStore | None = None,
        source_top_k: int = 5,
    ) -> None:
        self.graph, self.regenerate_graph = graph, regenerate_graph
        self.writer, self.worker = writer, worker
        self.model = model
        self.token_budget = token_budget
        self.sources, self.source_top_k = sources, source_top_k

    async def run(self, job: Job) -> None:
        """Run (or resume) a job until it completes, fails, is cancelled or awaits review."""
        current_job.set(job.id)
        action = job.action or START
        events = JobEventLog(
            self.writer,
            job.id,
            self.worker,
            job.course or initial_course(job.request),
            keep_known_topics=action.kind != "regenerate",
        )
        started, usage = time.monotonic(), [job.usage]
        if job.cancel_requested:
            await self._finish(events, JobStatus.CANCELLED)
            return
        log.info("job started", extra={"cg_action": action.kind, "cg_model": self.model.line()})
        try:
            async with events.flushing():
                model = self.model.model_dump()
                events.emit("status", {"status": JobStatus.RUNNING.value, "model": model})
                events.set_fields(status=JobStatus.RUNNING)
                if job.stage is None:  # a new course: no call has finished to name its stage
                    events.enter_stage("outline")
                if action.kind == "regenerate":
                    status = await self._regenerate(job, action, events, usage)
                else:
                    status = await self._generate(job, action, events, usage)
            await self._finish(events, status)
            self._log_end(status, started, usage[0])
        except asyncio.CancelledError as exc:
            reason = reason_of(exc)
            if reason == StopReason.CANCEL:
                await asyncio.shield(self._finish(events, JobStatus.CANCELLED))
                self._log_end(JobStatus.CANCELLED, started, usage[0])
                return
            log.info("job handed back", extra={"cg_reason": reason.value})
            raise
        except LeaseLost:  # the job's new holder resumes it: nothing more is ours to write
            log.info("job handed back", extra={"cg_reason": StopReason.LEASE_LOST.value})
        except Exception as exc:
            error = error_of(events.failure or exc)
            extra = {"cg_code": error["code"], "cg_reason": error["message"]}
            log.exception("job failed", extra={**extra, "cg_seconds": _since(started)})
            await self._finish(events, JobStatus.FAILED, error)

    def _log_end(self, status: JobStatus, started: float, usage: CourseUsage) -> None:
        what = "job awaiting review" if status == JobStatus.AWAITING_REVIEW else "job finished"
        extra = {"cg_status": status.value, "cg_seconds": _since(started)}
        log.info(what, extra={**extra, "cg_usage": usage.total.model_dump()})

    async def _finish(
        self, events: JobEventLog, status: JobStatus, error: dict[str, Any] | None = None
    ) -> None:
        if error is not None:
            events.emit("error", error)
        events.emit("status", {"status": status.value})
        if status != JobStatus.AWAITING_REVIEW:
            events.emit("end", {"status": status.value})
        events.set_fields(status=status, action=None, error=error, cancel_requested=False)
        await events.flush()
        metrics.JOBS_FINISHED.labels(status.value).inc()

    def _relay(
        self, events: JobEventLog, payload: dict[str, Any], usage: list[CourseUsage]
    ) -> None:
        kind = payload.pop("type")
        if kind == "usage":
            call = TokenUsage.model_validate(payload["usage"])
            stage: Stage = payload["stage"]
            usage[0] = usage[0].add(stage, call)
            events.emit(
                "usage", {"stage": stage, "call": call.model_dump(), "total": usage[0].model_dump()}
            )
            metrics.observe_call(stage, call, payload.get("seconds"))
            events.set_fields(usage=usage[0])
            return
        if kind == "error":
            metrics.TOPIC_ERRORS.inc()
        events.emit(kind, payload)

    async def _stream(
        self,
        graph: CompiledStateGraph,
        inputs: Any,
        config: RunnableConfig,
        events: JobEventLog,
        usage: list[CourseUsage],
    ) -> Any:
        """Relay a graph run's custom events; return the interrupt value if it paused.

        The job's budget counts what earlier runs of it spent (`usage` starts there).
        """
        interrupt = None
        budget = TokenBudget(self.token_budget, usage[0].total.total_tokens, "the job's")
        stream = graph.astream(inputs, config, stream_mode=["custom", "updates"])
        relayed = within_budget(cast(AsyncIterator[tuple[str, Any]], stream), budget)
        async with contextlib.aclosing(relayed):
            async for mode, payload in relayed:
                if mode == "custom":
                    self._relay(events, dict(payload), usage)
                elif "__interrupt__" in payload:
                    interrupt = payload["__interrupt__"][0].value
        return interrupt

    async def _generate(
        self, job: Job, action: Action, events: JobEventLog, running: list[CourseUsage]
    ) -> JobStatus:
        config = self._config(job, job.id)
        state = await self.graph.aget_state(config)
        if not state.values:
            inputs: Any = {"request": job.request}
            if warning := language_warning(self.model, job):
                events.emit("warning", warning)
        elif state.interrupts:
            if action.kind != "resume":
                return await self._await_review(events, state.interrupts[0].value)
            inputs = Command(resume=action.value)
        else:
            inputs = None  # continue from the last checkpoint
        if state.next or not state.values:
            interrupt = await self._stream(self.graph, inputs, config, events, running)
            if interrupt is not None:
                return await self._await_review(events, interrupt)
        final = (await self.graph.aget_state(config)).values
        events.complete(final["course"].model_dump(mode="json"))
        await self._report(job, events)
        return JobStatus.COMPLETED

    def _config(self, job: Job, thread_id: str) -> RunnableConfig:
        """The run's config: its checkpoint thread and, for a sourced course, its sources."""
        configurable: dict[str, Any] = {"thread_id": thread_id}
        if self.sources is not None and job.request.sources:
            library = OwnerSources(self.sources, job.owner, self.source_top_k)
            configurable[SOURCES_KEY] = library
        return {"configurable": configurable}

    async def _await_review(self, events: JobEventLog, value: dict[str, Any]) -> JobStatus:
        events.emit("review", {"outline": value["outline"]})
        return JobStatus.AWAITING_REVIEW

    async def _regenerate(
        self, job: Job, action: Action, events: JobEventLog, running: list[CourseUsage]
    ) -> JobStatus:
        config = self._config(job, f"{job.id}:regenerate:{action.id}")
        state = await self.regenerate_graph.aget_state(config)
        inputs = (
            None
            if state.values
            else {
                "course": events.course,
                "request": job.request,
                "theme_index": action.theme,
                "topic_index": action.topic,
                "instructions": action.instructions,
            }
        )
        await self._stream(self.regenerate_graph, inputs, config, events, running)
        merged = dict(events.course)
        merged["usage"] = running[0].model_dump(mode="json")
        # A rewritten lesson may define other terms: the glossary follows the lessons.
        themes = [CourseTheme.model_validate(t) for t in merged.get("themes", [])]
        merged["glossary"] = [g.model_dump(mode="json") for g in glossary(themes)]
        events.complete(merged)
        await self._report(job, events)
        return JobStatus.COMPLETED

    async def _report(self, job: Job, events: JobEventLog) -> None:
        """Measure the finished course: a `report` event, and the report kept with the job."""
        try:
            # Off the event loop: detection and similarity take a CPU for a moment.
            report = await asyncio.to_thread(
                build_report, job.request, events.course, self.model.priced_as
            )
            freeze_after_first_report()
        except Exception:  # a measuring bug must not cost the user the course
            log.exception("job %s: the quality report failed", job.id)
            return
        data = report.model_dump(mode="json")
        events.emit("report", data)
        events.set_fields(report=data)


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)
