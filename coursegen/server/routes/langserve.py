"""Mount the course graph at /course and each stage chain at /chains/<stage> via LangServe."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from langserve import add_routes

from coursegen.chains.stages import CourseChains
from coursegen.graph.grounding import SOURCES_KEY
from coursegen.graph.runnable import BudgetExceeded, CourseRunnable
from coursegen.server.deps import LOCAL_OWNER, OwnerDep, get_runs, get_service
from coursegen.server.routes.courses import errors
from coursegen.server.serialization import GraphAwareSerializer
from coursegen.server.sources.library import OwnerSources

THREAD_HEADER = "x-thread-id"
# The LangServe endpoints that run the runnable (the others serve schemas and the playground).
RUN_ENDPOINTS = frozenset({"invoke", "batch", "stream", "stream_log", "stream_events"})


async def runs_in(request: Request) -> int:
    """How many runs a request starts: one, or one per input of a batch."""
    if not request.url.path.endswith("/batch"):
        return 1
    try:
        inputs = (await request.json()).get("inputs")
    except Exception:  # LangServe answers the malformed body itself
        return 1
    return max(1, len(inputs)) if isinstance(inputs, list) else 1


async def authorize(request: Request, owner: OwnerDep) -> AsyncIterator[None]:
    """Let only key holders call the LangServe routes, within the key's limits.

    A POST counts against the write rate; a run holds one of the owner's jobs-at-once slots
    per course (a batch: per input) until its answer has been sent, streams included.
    """
    request.state.owner = owner
    if request.method != "POST":
        yield
        return
    await get_service(request).limiter.hit(owner)
    if request.url.path.rsplit("/", 1)[-1] not in RUN_ENDPOINTS:
        yield
        return
    runs, slots = await runs_in(request), get_runs(request)
    await slots.acquire(owner, runs)
    try:
        yield
    finally:
        slots.release(owner, runs)


async def thread_from_header(config: dict[str, Any], request: Request) -> dict[str, Any]:
    """Put `thread_id` into `configurable` (LangServe drops it from request bodies).

    The owner prefixes the thread, so one tenant cannot continue another's checkpoints.
    """
    configurable = dict(config.get("configurable") or {})
    thread = request.headers.get(THREAD_HEADER) or str(uuid.uuid4())
    owner = getattr(request.state, "owner", LOCAL_OWNER)
    configurable["thread_id"] = f"{owner}:{thread}"
    # The caller's sources, for a course request that names some (others' find nothing).
    service, settings = get_service(request), request.app.state.settings
    if service.sources is not None:
        configurable[SOURCES_KEY] = OwnerSources(service.sources, owner, settings.source_top_k)
    return {**config, "configurable": configurable}


async def budget_exceeded(request: Request, exc: Exception) -> JSONResponse:
    """A course run (invoke, batch) went over the token budget: 402, `budget_exceeded`."""
    return JSONResponse(
        {"detail": f"budget_exceeded: {exc}", "code": BudgetExceeded.code}, status_code=402
    )


def mount_langserve(app: FastAPI, course: CourseRunnable, chains: CourseChains) -> None:
    """Add LangServe routes for the whole pipeline and for each stage."""
    serializer = GraphAwareSerializer()
    # scope="request": the slot is given back once the answer is sent, not when the
    # handler returns (a stream's run goes on after that).
    guard = [Depends(authorize, scope="request")]
    add_routes(
        app,
        course,
        path="/course",
        per_req_config_modifier=thread_from_header,
        serializer=serializer,
        playground_type="default",
        dependencies=guard,
    )
    for stage in ("outline", "topics", "content", "polish"):
        add_routes(
            app,
            getattr(chains, stage),
            path=f"/chains/{stage}",
            serializer=serializer,
            dependencies=guard,
        )
    app.add_exception_handler(BudgetExceeded, budget_exceeded)
    _declare_errors(app)


def _declare_errors(app: FastAPI) -> None:
    """Declare in the OpenAPI schema what `authorize`, the budget and the body limit answer."""
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path.startswith(("/course/", "/chains/")):
            codes: tuple[int, ...] = (401,)
            if "POST" in (route.methods or ()):
                codes = (401, 413, 429)
                if route.path.startswith("/course/") and route.path.endswith(("/invoke", "/batch")):
                    codes = (401, 402, 413, 429)
            route.responses = {**errors(*codes), **route.responses}
