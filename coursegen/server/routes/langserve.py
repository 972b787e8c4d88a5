"""Mount the course graph at /course and each stage chain at /chains/<stage> via LangServe."""

import uuid
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from langserve import add_routes

from coursegen.chains.stages import CourseChains
from coursegen.graph.runnable import CourseRunnable
from coursegen.server.deps import LOCAL_OWNER, OwnerDep, get_service
from coursegen.server.routes.courses import errors
from coursegen.server.serialization import GraphAwareSerializer

THREAD_HEADER = "x-thread-id"


async def authorize(request: Request, owner: OwnerDep) -> None:
    """Let only key holders call the LangServe routes; count runs against the rate limit."""
    request.state.owner = owner
    if request.method == "POST":
        await get_service(request).limiter.hit(owner)


async def thread_from_header(config: dict[str, Any], request: Request) -> dict[str, Any]:
    """Put `thread_id` into `configurable` (LangServe drops it from request bodies).

    The owner prefixes the thread, so one tenant cannot continue another's checkpoints.
    """
    configurable = dict(config.get("configurable") or {})
    thread = request.headers.get(THREAD_HEADER) or str(uuid.uuid4())
    configurable["thread_id"] = f"{getattr(request.state, 'owner', LOCAL_OWNER)}:{thread}"
    return {**config, "configurable": configurable}


def mount_langserve(app: FastAPI, course: CourseRunnable, chains: CourseChains) -> None:
    """Add LangServe routes for the whole pipeline and for each stage."""
    serializer = GraphAwareSerializer()
    add_routes(
        app,
        course,
        path="/course",
        per_req_config_modifier=thread_from_header,
        serializer=serializer,
        playground_type="default",
        dependencies=[Depends(authorize)],
    )
    for stage in ("outline", "topics", "content", "polish"):
        add_routes(
            app,
            getattr(chains, stage),
            path=f"/chains/{stage}",
            serializer=serializer,
            dependencies=[Depends(authorize)],
        )
    _declare_errors(app)


def _declare_errors(app: FastAPI) -> None:
    """Declare in the OpenAPI schema what `authorize` and the body limit may answer."""
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path.startswith(("/course/", "/chains/")):
            codes = (401, 413, 429) if "POST" in (route.methods or ()) else (401,)
            route.responses = {**errors(*codes), **route.responses}
