"""Run one job's generation on the graph and write what happens to its event log."""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

import openai
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from coursegen.chains.language import course_language
from coursegen.chains.plan import glossary
from coursegen.chains.shape import ShortAnswerError
from coursegen.chains.structured import StructuredOutputError, TruncatedAnswer
from coursegen.domain import CourseTheme, CourseUsage, TokenUsage
from coursegen.graph.grounding import SOURCES_KEY
from coursegen.graph.progress import CourseSnapshot
from coursegen.graph.runnable import BudgetExceeded
from coursegen.names import Stage
from coursegen.providers.info import ModelInfo, public_url
from coursegen.providers.loading import ProviderConfigError
from coursegen.quality.report import build_report
from coursegen.server import metrics
from coursegen.server.jobs.eventlog import JobEventLog
from coursegen.server.jobs.eventwriter import EventWriter
from coursegen.server.jobs.models import Job, JobStatus
from coursegen.server.logs import current_job
from coursegen.server.sources.library import OwnerSources
from coursegen.server.sources.store import SourceStore

log = logging.getLogger(__name__)


class StopReason:
    """Why the manager cancelled a run: only a user's cancel ends the job."""

    CANCEL = "cancel"
    SHUTDOWN = "shutdown"
    LEASE_LOST = "lease_lost"


def _provider_url(exc: BaseException) -> str | None:
    """The base URL of the provider call that failed (no credentials, no query)."""
    request = getattr(exc, "request", None)
    url = public_url(str(request.url)) if request is not None else None
    return url.removesuffix("/chat/completions") if url else None


def error_of(exc: BaseException) -> dict[str, Any]:
    """Describe a job failure as an `error` event: code, message, retryable.

    A provider error names the server it came from ("Connection error." alone does not
    say which of several configured URLs is wrong).
    """
    if isinstance(exc, BudgetExceeded):
        code, retryable = "budget_exceeded", False
    elif isinstance(exc, ProviderConfigError):
        code, retryable = "provider_config", False
    elif isinstance(exc, StructuredOutputError):
        code, retryable = "invalid_output", True
    elif isinstance(exc, ShortAnswerError):
        code, retryable = "short_output", True
    elif isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        code, retryable = "provider_auth", False
    elif isinstance(exc, openai.APIError | TruncatedAnswer):
        code, retryable = "provider_error", True
    else:
        code, retryable = "internal", True
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, openai.APIError) and (url := _provider_url(exc)):
        message += f" (provider at {url})"
    return {"code": code, "message": message, "retryable": retryable}


def language_warning(model: ModelInfo, job: Job) -> dict[str, Any] | None:
    """The `warning` a job gets when the model does not write its language well."""
    language = course_language(job.request)
    if model.languages is None or language in model.languages:
        return None
    return {
        "code": "model_language",
        "message": f"the {model.kind} model {model.name} writes {', '.join(model.languages)} "
        f"only (demo quality): this {language} course will read badly. Use a real model: "
        "set OPENAI_API_KEY, or COURSEGEN_BASE_URL and COURSEGEN_MODEL for an "
        "OpenAI-compatible server (see README.md).",
    }


def initial_course(job: Job) -> dict[str, Any]:
    request = job.request
    return {
        "course_name": request.course_name,
        "description": request.description,
        "requirements": request.requirements,
        "language": request.language,
        "themes": [],
    }


class JobRunner:
    """Drive the course graph for jobs this replica holds, one `run()` per claimed job."""

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
        self.stop_reasons: dict[str, str] = {}

    async def run(self, job: Job) -> None:
        """Run (or resume) a job until it completes, fails, is cancelled or awaits review."""
        current_job.set(job.id)
        events = JobEventLog(
            self.writer,
            job.id,
            self.worker,
            CourseSnapshot(job.course or initial_course(job)),
        )
        started, usage = time.monotonic(), [job.usage]
        if job.cancel_requested:
            await self._finish(events, JobStatus.CANCELLED)
            return
        action = job.action or {"kind": "start"}
        log.info("job started", extra={"cg_action": action["kind"], "cg_model": self.model.line()})
        try:
            async with events.flushing():
                model = self.model.model_dump()
                events.emit("status", {"status": JobStatus.RUNNING.value, "model": model})
                events.set_fields(status=JobStatus.RUNNING)
                if job.stage is None:  # a new course: no call has finished to name its stage
                    events.enter_stage("outline")
                if action["kind"] == "regenerate":
                    status = await self._regenerate(job, action, events, usage)
                else:
                    status = await self._generate(job, action, events, usage)
            await self._finish(events, status)
            self._log_end(status, started, usage[0])
        except asyncio.CancelledError:
            reason = self.stop_reasons.pop(job.id, StopReason.SHUTDOWN)
            if reason == StopReason.CANCEL:
                await asyncio.shield(self._finish(events, JobStatus.CANCELLED))
                self._log_end(JobStatus.CANCELLED, started, usage[0])
                return
            log.info("job handed back", extra={"cg_reason": reason})
            raise
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
        """Relay a graph run's custom events; return the interrupt value if it paused."""
        interrupt, over_budget = None, None
        stream = graph.astream(inputs, config, stream_mode=["custom", "updates"])
        try:
            async for mode, payload in cast(AsyncIterator[tuple[str, Any]], stream):
                if mode == "custom":
                    self._relay(events, dict(payload), usage)
                    if over_budget is None and (over_budget := self._over_budget(usage[0])):
                        # Only cancelling the task inside astream stops the graph's calls;
                        # leaving the loop would let them run on, unobserved and paid for.
                        cast(asyncio.Task[Any], asyncio.current_task()).cancel()
                elif "__interrupt__" in payload:
                    interrupt = payload["__interrupt__"][0].value
        except asyncio.CancelledError:
            if over_budget is None:
                raise
            cast(asyncio.Task[Any], asyncio.current_task()).uncancel()
            raise over_budget from None
        return interrupt

    def _over_budget(self, usage: CourseUsage) -> BudgetExceeded | None:
        spent = usage.total.total_tokens
        if self.token_budget is None or spent <= self.token_budget:
            return None
        return BudgetExceeded(f"{spent} tokens spent; the job's budget is {self.token_budget}")

    async def _generate(
        self, job: Job, action: dict[str, Any], events: JobEventLog, running: list[CourseUsage]
    ) -> JobStatus:
        config = self._config(job, job.id)
        events.keep_known_topics = True
        state = await self.graph.aget_state(config)
        if not state.values:
            inputs: Any = {"request": job.request}
            if warning := language_warning(self.model, job):
                events.emit("warning", warning)
        elif state.interrupts:
            if action["kind"] != "resume":
                return await self._await_review(events, state.interrupts[0].value)
            inputs = Command(resume=action["value"])
        else:
            inputs = None  # continue from the last checkpoint
        if state.next or not state.values:
            interrupt = await self._stream(self.graph, inputs, config, events, running)
            if interrupt is not None:
                return await self._await_review(events, interrupt)
        final = (await self.graph.aget_state(config)).values
        self._complete(events, final["course"].model_dump(mode="json"))
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

    def _complete(self, events: JobEventLog, course: dict[str, Any]) -> None:
        """Emit what the log misses of the final course, then make the course authoritative."""
        have = events.snapshot.course.get("themes", [])
        for i, theme in enumerate(course["themes"]):
            for j, topic in enumerate(theme["topics"]):
                seen = (
                    have[i]["topics"][j]
                    if i < len(have) and j < len(have[i].get("topics", []))
                    else {}
                )
                for kind in ("content", "polished"):
                    if topic.get(kind) is not None and seen.get(kind) != topic[kind]:
                        events.emit(kind, {"theme": i, "topic": j, kind: topic[kind]})
        events.snapshot.apply("course", {"course": course})
        events.set_fields(course=course, usage=course["usage"])

    async def _regenerate(
        self, job: Job, action: dict[str, Any], events: JobEventLog, running: list[CourseUsage]
    ) -> JobStatus:
        config = self._config(job, f"{job.id}:regenerate:{action['id']}")
        course = events.snapshot.course
        state = await self.regenerate_graph.aget_state(config)
        inputs = (
            None
            if state.values
            else {
                "course": course,
                "request": job.request,
                "theme_index": action["theme"],
                "topic_index": action.get("topic"),
                "instructions": action.get("instructions", ""),
            }
        )
        await self._stream(self.regenerate_graph, inputs, config, events, running)
        merged = dict(events.snapshot.course)
        merged["usage"] = running[0].model_dump(mode="json")
        # A rewritten lesson may define other terms: the glossary follows the lessons.
        themes = [CourseTheme.model_validate(t) for t in merged.get("themes", [])]
        merged["glossary"] = [g.model_dump(mode="json") for g in glossary(themes)]
        self._complete(events, merged)
        await self._report(job, events)
        return JobStatus.COMPLETED

    async def _report(self, job: Job, events: JobEventLog) -> None:
        """Measure the finished course: a `report` event, and the report kept with the job."""
        course = events.snapshot.course
        try:
            # Off the event loop: detection and similarity take a CPU for a moment.
            report = await asyncio.to_thread(
                build_report, job.request, course, self.model.priced_as
            )
        except Exception:  # a measuring bug must not cost the user the course
            log.exception("job %s: the quality report failed", job.id)
            return
        data = report.model_dump(mode="json")
        events.emit("report", data)
        events.set_fields(report=data)


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)


def new_action(kind: str, **fields: Any) -> dict[str, Any]:
    """An action for a worker to carry out, with an id that names its checkpoint thread."""
    return {"kind": kind, "id": uuid.uuid4().hex[:12], **fields}
