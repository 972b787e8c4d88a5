"""Wrap the compiled graph as a runnable whose stream carries progress and token events."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForChainRun
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import get_config_list, patch_config
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from coursegen.domain import Course, CourseRequest, TokenUsage
from coursegen.graph.budget import BUDGET_EXCEEDED, BudgetExceeded, TokenBudget, within_budget
from coursegen.graph.progress import ProgressTracker

GraphProvider = Callable[[], CompiledStateGraph]
UsageObserver = Callable[[Any, TokenUsage, float | None], None]
"""Called with (stage, usage, seconds) after each LLM call of a run (metrics, say)."""


def ensure_thread(config: RunnableConfig | None) -> RunnableConfig:
    """Return the config with a `thread_id`, generating one when the caller gave none."""
    patched: dict[str, Any] = dict(config or {})
    configurable = dict(patched.get("configurable") or {})
    configurable.setdefault("thread_id", str(uuid.uuid4()))
    patched["configurable"] = configurable
    return cast(RunnableConfig, patched)


BATCH_THREAD = ":batch:"
"""Joins a batch's shared thread and an input's index into that input's own thread."""


def batch_threads(configs: list[RunnableConfig]) -> list[RunnableConfig]:
    """Give each run of a batch its own thread when several share one (a batch request
    carries one `X-Thread-Id`): runs on one thread would delete or continue each other's
    checkpoints. The threads are `{shared}:batch:{index}`, deleted with the shared one."""
    threads = [c.get("configurable", {}).get("thread_id") for c in configs]
    if len(set(threads)) == len(threads):
        return configs
    return [
        c
        if thread is None
        else patch_config(c, configurable={"thread_id": f"{thread}{BATCH_THREAD}{i}"})
        for i, (c, thread) in enumerate(zip(configs, threads, strict=True))
    ]


class CourseRunnable(Runnable[CourseRequest, Any]):
    """CourseRequest -> Course; `astream` yields progress, token and stage events as they happen.

    LangGraph's own `stream()` of a graph served by LangServe carries only node updates, so
    a client sees nothing until a whole theme is done. This runnable streams the graph's
    custom events instead, and ends with `{"type": "course", "course": ...}`. The graph runs
    in its own task, so a consumer that goes away stops it (and its LLM calls). A run on a
    thread that holds an earlier run starts afresh: the earlier checkpoints are deleted.

    With a `token_budget`, a run whose reported usage goes over it is stopped (its calls in
    flight are aborted) and its stream ends with `{"type": "error", "code":
    "budget_exceeded", "message", "retryable": false}` instead of the course: what was
    written has been streamed already. `ainvoke` raises `BudgetExceeded`.
    """

    name = "coursegen"

    def __init__(
        self,
        graph: GraphProvider,
        token_budget: int | None = None,
        on_usage: UsageObserver | None = None,
    ) -> None:
        self._graph = graph
        self.token_budget = token_budget
        self.on_usage = on_usage

    @property
    def InputType(self) -> type[CourseRequest]:
        return CourseRequest

    @property
    def OutputType(self) -> type[Course]:
        return Course

    async def _events(
        self,
        inputs: AsyncIterator[Any],
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> AsyncIterator[dict[str, Any]]:
        async for value in inputs:
            request = CourseRequest.model_validate(value)
            child = patch_config(ensure_thread(config), callbacks=run_manager.get_child())
            async for event in self._run(request, child):
                yield event

    async def _run(
        self, request: CourseRequest, config: RunnableConfig
    ) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()
        graph = self._graph()
        await self._start_afresh(graph, config)

        async def pump() -> None:
            # The graph is iterated in this task of its own, so that cancelling it (a consumer
            # gone, the budget spent) aborts the graph's calls in flight.
            stream = graph.astream({"request": request}, config, stream_mode=["custom", "values"])
            budget = TokenBudget(self.token_budget)
            try:
                async for item in within_budget(cast(AsyncIterator[Any], stream), budget):
                    await queue.put(item)
            except BudgetExceeded as exc:
                await queue.put(("budget", exc.event()))
            finally:
                await queue.put(None)

        runner = asyncio.create_task(pump())
        tracker = ProgressTracker()
        try:
            while (item := await queue.get()) is not None:
                mode, payload = item
                if mode == "custom":
                    if payload.get("type") == "usage" and self.on_usage is not None:
                        call = TokenUsage.model_validate(payload["usage"])
                        self.on_usage(payload["stage"], call, payload.get("seconds"))
                    yield payload
                    if (progress := tracker.update(payload)) is not None:
                        yield progress
                elif mode == "budget":  # what was written has been streamed already
                    yield payload
                    return
                elif "course" in payload:
                    yield {"type": "course", "course": payload["course"].model_dump(mode="json")}
            await runner  # re-raise a failure of the graph
        finally:
            runner.cancel()

    @staticmethod
    async def _start_afresh(graph: CompiledStateGraph, config: RunnableConfig) -> None:
        """Drop what an earlier run left on this thread before a new run starts on it.

        A run continues its thread's checkpoint: without this, the earlier run's course
        would be streamed before any call of this one, and its usage added to this one's.
        """
        saver = graph.checkpointer
        if isinstance(saver, BaseCheckpointSaver):
            thread = config.get("configurable", {}).get("thread_id")
            if thread is not None and await saver.aget_tuple(config) is not None:
                await saver.adelete_thread(str(thread))

    def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        async def once() -> AsyncIterator[Any]:
            yield input

        return self._atransform_stream_with_config(once(), self._events, config, **kwargs)

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Course:
        course = None
        async for event in self.astream(input, config, **kwargs):
            if event.get("type") == "course":
                course = Course.model_validate(event["course"])
            elif event.get("type") == "error" and event.get("code") == BUDGET_EXCEEDED:
                raise BudgetExceeded(event["message"])
        if course is None:
            raise RuntimeError("the course graph ended without a course (interrupted for review?)")
        return course

    async def abatch(
        self,
        inputs: list[Any],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any | None,
    ) -> list[Any]:
        """Run the courses concurrently; when one fails, cancel the others.

        (`Runnable.abatch` gathers them, which leaves the others running, and paying for
        their calls, after the batch has already failed.)
        """
        if not inputs:
            return []
        configs = batch_threads(get_config_list(config, len(inputs)))
        if return_exceptions or configs[0].get("max_concurrency") is not None:
            return await super().abatch(
                inputs, configs, return_exceptions=return_exceptions, **kwargs
            )
        runs = [
            asyncio.ensure_future(self.ainvoke(value, run_config, **kwargs))
            for value, run_config in zip(inputs, configs, strict=True)
        ]
        try:
            return list(await asyncio.gather(*runs))
        finally:
            for run in runs:
                run.cancel()
            await asyncio.wait(runs)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Course:
        return asyncio.run(self.ainvoke(input, config, **kwargs))

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        raise NotImplementedError("CourseRunnable streams asynchronously: use astream()")
