"""Mount the course graph at /course and each stage chain at /chains/<stage> via LangServe."""

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from langchain_core.runnables import Runnable
from langchain_core.tracers.schemas import Run
from langserve import add_routes

from coursegen.chains.stages import CourseChains
from coursegen.domain import TokenUsage
from coursegen.graph.budget import BudgetExceeded
from coursegen.graph.grounding import SOURCES_KEY
from coursegen.graph.runnable import CourseRunnable
from coursegen.names import STAGES, Stage
from coursegen.server.apikeys import LOCAL_OWNER
from coursegen.server.core import metrics
from coursegen.server.deps import OwnerDep, get_limiter, get_runs, get_service, get_threads
from coursegen.server.form_schema import form_friendly
from coursegen.server.routes.errors import errors
from coursegen.server.serialization import GraphAwareSerializer
from coursegen.server.sources.checks import check_sources
from coursegen.server.sources.library import OwnerSources

THREAD_HEADER = "x-thread-id"
# Namespace of the checkpoint threads of LangServe runs (a UUID5 of owner and thread name).
THREAD_NAMESPACE = uuid.UUID("6f1d3c3e-5b8a-4a57-9d0e-2c4b7a1f0e11")
# The LangServe endpoints that run the runnable (the others serve schemas and the playground).
RUN_ENDPOINTS = frozenset({"invoke", "batch", "stream", "stream_log", "stream_events"})


def _refuse(field: str, message: str, kind: str = "value_error") -> RequestValidationError:
    """A 422 shaped like every other: one error at `body.<field>`."""
    return RequestValidationError([{"type": kind, "loc": ("body", field), "msg": message}])


async def run_inputs(request: Request) -> list[Any]:
    """The inputs a run request carries: its input, or each input of a batch.

    Refuses (422) what LangServe would answer with a 500: a batch whose `inputs` is not a
    list, and a `/course` run that asks for an outline review (a LangServe run cannot be
    resumed, so it would stop after the outline had been paid for).
    """
    try:
        body = await request.json()
    except Exception:  # LangServe answers the malformed body itself
        return [None]
    if not isinstance(body, dict):
        return [None]
    if request.url.path.endswith("/batch"):
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise _refuse("inputs", "inputs must be a list of inputs", "list_type")
    else:
        inputs = [body.get("input")]
    if request.url.path.startswith("/course/") and any(map(_asks_review, inputs)):
        raise _refuse(
            "input",
            "options.review_outline is not supported on /course runs (they cannot be "
            "resumed): use the jobs API, POST /courses",
        )
    return inputs


async def _check_run_sources(request: Request, owner: str, inputs: list[Any]) -> None:
    """422, as `POST /courses` answers, for a source id that is not one of the caller's."""
    batch = request.url.path.endswith("/batch")
    for n, value in enumerate(inputs):
        ids = value.get("sources") if isinstance(value, dict) else None
        if isinstance(ids, list) and ids and all(isinstance(i, str) for i in ids):
            loc = ("body", "inputs", n, "sources") if batch else ("body", "input", "sources")
            await check_sources(get_service(request).sources, owner, ids, loc)


def _asks_review(value: Any) -> bool:
    options = value.get("options") if isinstance(value, dict) else None
    return isinstance(options, dict) and options.get("review_outline") is True


async def authorize(request: Request, owner: OwnerDep) -> AsyncIterator[None]:
    """Let only key holders call the LangServe routes, within the key's limits.

    A POST counts against the write rate; a run holds one of the owner's jobs-at-once slots
    per course (a batch: per input) until its answer has been sent, streams included.
    """
    request.state.owner = owner
    if request.method != "POST":
        yield
        return
    await get_limiter(request).hit(owner)
    if request.url.path.rsplit("/", 1)[-1] not in RUN_ENDPOINTS:
        yield
        return
    inputs = await run_inputs(request)
    if request.url.path.startswith("/course/"):
        await _check_run_sources(request, owner, inputs)
    runs, slots = max(1, len(inputs)), get_runs(request)
    await slots.acquire(owner, runs)
    try:
        yield
    finally:
        slots.release(owner, runs)


def thread_key(owner: str, thread: str) -> str:
    """The checkpoint thread of an owner's `X-Thread-Id` (the one place that derives it).

    A hash of the (owner, name) pair encoded as JSON, not a joined string: no owner and
    name can be chosen to land on another owner's thread, whatever characters they hold.
    """
    return str(uuid.uuid5(THREAD_NAMESPACE, json.dumps([owner, thread])))


async def thread_from_header(config: dict[str, Any], request: Request) -> dict[str, Any]:
    """Put `thread_id` into `configurable` (LangServe drops it from request bodies), and
    record the thread's use for its retention limit."""
    configurable = dict(config.get("configurable") or {})
    owner = getattr(request.state, "owner", LOCAL_OWNER)
    key = thread_key(owner, request.headers.get(THREAD_HEADER) or str(uuid.uuid4()))
    configurable["thread_id"] = key
    if request.method == "POST" and request.url.path.rsplit("/", 1)[-1] in RUN_ENDPOINTS:
        await get_threads(request).touch(key, owner)
    # The caller's sources, for a course request that names some (others' find nothing).
    service, settings = get_service(request), request.app.state.settings
    if service.sources is not None:
        configurable[SOURCES_KEY] = OwnerSources(service.sources, owner, settings.source_top_k)
    return {**config, "configurable": configurable}


threads_router = APIRouter(prefix="/course/threads", tags=["course"], responses=errors(401))


@threads_router.delete("/{thread_id}", status_code=204, responses=errors(403, 404))
async def delete_thread(thread_id: str, owner: OwnerDep, request: Request) -> Response:
    """Delete one of the caller's `/course` threads (its `X-Thread-Id`) and its checkpoints.

    Threads are also deleted once unused for `COURSEGEN_THREAD_TTL_S`.
    """
    if not await get_threads(request).delete(owner, thread_key(owner, thread_id)):
        raise HTTPException(status_code=404, detail=f"no course thread {thread_id}")
    return Response(status_code=204)


async def budget_exceeded(request: Request, exc: Exception) -> JSONResponse:
    """A course run (invoke, batch) went over the token budget: 402, `budget_exceeded`."""
    return JSONResponse(
        {"detail": f"budget_exceeded: {exc}", "code": BudgetExceeded.code}, status_code=402
    )


def counted(chain: Runnable[Any, Any], stage: Stage) -> Runnable[Any, Any]:
    """Count a stage chain's runs in the `coursegen_llm_*` metrics, as a job's calls are."""

    def on_end(run: Run) -> None:
        usage = getattr((run.outputs or {}).get("output"), "usage", None)
        if isinstance(usage, TokenUsage):
            seconds = (run.end_time - run.start_time).total_seconds() if run.end_time else None
            metrics.observe_call(stage, usage, seconds)

    return chain.with_listeners(on_end=on_end)


def mount_langserve(app: FastAPI, course: CourseRunnable, chains: CourseChains) -> None:
    """Add LangServe routes for the whole pipeline and for each stage."""
    serializer = GraphAwareSerializer()
    # scope="request": the slot is given back once the answer is sent, not when the
    # handler returns (a stream's run goes on after that).
    guard = [Depends(authorize, scope="request")]
    # The playground draws its form from the input schema: publish one without nulls.
    add_routes(
        app,
        course.with_types(input_type=form_friendly(course.InputType)),
        path="/course",
        per_req_config_modifier=thread_from_header,
        serializer=serializer,
        playground_type="default",
        dependencies=guard,
    )
    for stage in STAGES:
        chain = getattr(chains, stage)
        add_routes(
            app,
            counted(chain, stage).with_types(input_type=form_friendly(chain.get_input_schema())),
            path=f"/chains/{stage}",
            serializer=serializer,
            dependencies=guard,
        )
    app.include_router(threads_router)
    app.add_exception_handler(BudgetExceeded, budget_exceeded)
    _declare_errors(app)


def _declare_errors(app: FastAPI) -> None:
    """Declare in the OpenAPI schema what `authorize`, the budget and the body limit answer."""
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path.startswith(("/course/", "/chains/")):
            codes: tuple[int, ...] = (401,)
            if "POST" in (route.methods or ()):
                codes = (401, 403, 413, 415, 429, 503)
                if route.path.startswith("/course/") and route.path.endswith(("/invoke", "/batch")):
                    codes = (401, 402, 403, 413, 415, 429, 503)
            route.responses = {**errors(*codes), **route.responses}
