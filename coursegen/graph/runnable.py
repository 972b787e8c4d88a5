"""Wrap the compiled graph as a runnable whose stream carries progress and token events."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForChainRun
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import patch_config
from langgraph.graph.state import CompiledStateGraph

from coursegen.chains.schemas import Course, CourseRequest
from coursegen.graph.progress import ProgressTracker

GraphProvider = Callable[[], CompiledStateGraph]


def ensure_thread(config: RunnableConfig | None) -> RunnableConfig:
    """Return the config with a `thread_id`, generating one when the caller gave none."""
    patched: dict[str, Any] = dict(config or {})
    configurable = dict(patched.get("configurable") or {})
    configurable.setdefault("thread_id", str(uuid.uuid4()))
    patched["configurable"] = configurable
    return cast(RunnableConfig, patched)


class CourseRunnable(Runnable[CourseRequest, Any]):
    """CourseRequest -> Course; `astream` yields progress, token and stage events as they happen.

    LangGraph's own `stream()` of a graph served by LangServe carries only node updates, so
    a client sees nothing until a whole theme is done. This runnable streams the graph's
    custom events instead, and ends with `{"type": "course", "course": ...}`. The graph runs
    in its own task, so a consumer that goes away stops it (and its LLM calls).
    """

    name = "coursegen"

    def __init__(self, graph: GraphProvider) -> None:
        self._graph = graph

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

        async def pump() -> None:
            try:
                async for item in self._graph().astream(
                    {"request": request}, config, stream_mode=["custom", "values"]
                ):
                    await queue.put(cast(tuple[str, Any], item))
            finally:
                await queue.put(None)

        runner = asyncio.create_task(pump())
        tracker = ProgressTracker()
        try:
            while (item := await queue.get()) is not None:
                mode, payload = item
                if mode == "custom":
                    yield payload
                    if (progress := tracker.update(payload)) is not None:
                        yield progress
                elif "course" in payload:
                    yield {"type": "course", "course": payload["course"].model_dump(mode="json")}
            await runner  # re-raise a failure of the graph
        finally:
            runner.cancel()

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
        if course is None:
            raise RuntimeError("the course graph ended without a course (interrupted for review?)")
        return course

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Course:
        return asyncio.run(self.ainvoke(input, config, **kwargs))

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        raise NotImplementedError("CourseRunnable streams asynchronously: use astream()")
